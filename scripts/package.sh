#!/usr/bin/env bash
# Builds the Debian package wick_<version>_<arch>.deb with CPack (cmake/WickPackage.cmake): the
# library, headers, CMake package, pkg-config file, `wick` tool, README/FORMAT/LICENSE/NOTICE
# and the Doxygen API reference, installed under /usr.
#   scripts/package.sh [BUILD_DIR [OUT_DIR]]   (defaults: build, BUILD_DIR/package)
# An existing BUILD_DIR is reused: the docs target is added to it for the packaging, and its
# other settings are put back afterwards. WICK_JOBS: parallel jobs.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(realpath -m "${1:-$src/build}")
out=$(realpath -m "${2:-$build/package}")
bash "$src/scripts/deps.sh" --docs
# The settings changed below, as they were, to put back once the package is made.
cached() { sed -n "s/^$1:[A-Z]*=//p" "$build/CMakeCache.txt" 2> /dev/null; }
docs_was=$(cached WICK_BUILD_DOCS)
skip_was=$(cached CMAKE_SKIP_INSTALL_ALL_DEPENDENCY)
restore() {
  cmake -S "$src" -B "$build" -DWICK_BUILD_DOCS="${docs_was:-OFF}" \
    -DCMAKE_SKIP_INSTALL_ALL_DEPENDENCY="${skip_was:-OFF}" > /dev/null
}
trap restore EXIT
# Only what the package holds is built (cpack's install step would otherwise build `all`, tests
# and benchmarks included).
cmake -S "$src" -B "$build" -DWICK_BUILD_DOCS=ON -DWICK_BUILD_TOOLS=ON -DWICK_INSTALL=ON \
  -DCMAKE_SKIP_INSTALL_ALL_DEPENDENCY=ON > /dev/null
cmake --build "$build" -j"${WICK_JOBS:-$(nproc)}" --target wick wick_cli docs
mkdir -p "$out"
(cd "$build" && cpack -G DEB -B "$out" > "$out/cpack.log") || { cat "$out/cpack.log"; exit 1; }
deb=$(find "$out" -maxdepth 1 -name 'wick_*.deb' -print -quit)
[[ -n "$deb" ]] || { echo "package: no wick_*.deb in $out" >&2; exit 1; }
dpkg-deb --field "$deb" Package Version Architecture Depends Recommends
echo "package: $deb ($(dpkg-deb --contents "$deb" | wc -l) entries)"
