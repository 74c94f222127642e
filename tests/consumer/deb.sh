#!/usr/bin/env bash
# Installs the wick .deb on this machine (apt-get, so its declared Depends are checked and
# fetched), builds and runs the consumer against the system install (find_package with no
# prefix, the component dist under mpirun when the package has it, and pkg-config without
# -std=c++20), runs /usr/bin/wick, then purges the package.
# Root only: it changes the system. Usage: tests/consumer/deb.sh path/to/wick_*.deb
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
deb=$(realpath "${1:?usage: deb.sh path/to/wick_VERSION_ARCH.deb}")
[[ $(id -u) -eq 0 ]] || { echo "deb.sh: must run as root (installs $deb)" >&2; exit 1; }
if dpkg-query -W -f='${Status}' wick 2>/dev/null | grep -q "install ok installed"; then
  echo "deb.sh: a wick package is already installed; not touching it" >&2
  exit 1
fi
work=$(mktemp -d)
cleanup() {
  DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq wick > /dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "--- installing $deb"
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$deb" > "$work/apt.log" \
  || { cat "$work/apt.log"; exit 1; }
dpkg-query -W -f='${Package} ${Version} ${Architecture}, Depends: ${Depends}\n' wick

echo "--- consumer: find_package(wick) from /usr"
cmake -S "$here" -B "$work/find" -DCMAKE_BUILD_TYPE=Release > "$work/find.log" \
  || { cat "$work/find.log"; exit 1; }
cmake --build "$work/find" -j"$(nproc)" >> "$work/find.log" || { cat "$work/find.log"; exit 1; }
grep -q 'wick_DIR:PATH=/usr/' "$work/find/CMakeCache.txt" \
  || { echo "deb.sh: find_package did not find the package's config under /usr" >&2; exit 1; }
"$work/find/consumer"

if dpkg -L wick | grep -q '/wickDistTargets\.cmake$'; then
  echo "--- consumer: find_package(wick COMPONENTS dist) from /usr, under mpirun -n 2"
  cmake -S "$here/dist" -B "$work/dist" -DCMAKE_BUILD_TYPE=Release > "$work/dist.log" \
    || { cat "$work/dist.log"; exit 1; }
  cmake --build "$work/dist" -j"$(nproc)" >> "$work/dist.log" || { cat "$work/dist.log"; exit 1; }
  OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
    OMPI_MCA_btl_vader_single_copy_mechanism=none \
    mpirun --oversubscribe -n 2 "$work/dist/dist_consumer" "$work/dist-ckpt"
fi

echo "--- consumer: pkg-config (no -std= on the command line)"
echo "pkg-config --cflags --libs wick: $(pkg-config --cflags --libs wick)"
# shellcheck disable=SC2046
g++ -O1 "$here/main.cpp" -o "$work/pkgconfig-consumer" $(pkg-config --cflags --libs wick)
"$work/pkgconfig-consumer"

echo "--- /usr/bin/wick and /usr/share/doc/wick"
wick --version
wick verify "$src"/tests/data/*.wick
for doc in README.md FORMAT.md LICENSE NOTICE html/index.html; do
  [[ -s /usr/share/doc/wick/$doc ]] || { echo "deb.sh: no /usr/share/doc/wick/$doc" >&2; exit 1; }
done
echo "deb.sh: ok; removing the package"
