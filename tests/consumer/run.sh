#!/usr/bin/env bash
# Builds and runs the consumer program (main.cpp) the four ways a user can take wick from source:
#   1. find_package(wick) against `cmake --install BUILD_DIR` into a scratch prefix
#   2. add_subdirectory(<this checkout>) from a parent project
#   3. one g++ line with `pkg-config --cflags --libs wick` against the same prefix, without
#      -std=c++20 of its own (wick.pc's Cflags must carry it)
#   4. FetchContent_Declare(wick GIT_REPOSITORY <this clone> GIT_TAG <HEAD>): the committed tree
# (1 also with the component dist, wick::dist, under mpirun -n 2, when the build has MPI), then
# runs the installed `wick` command-line tool and checks the installed docs.
# Usage: tests/consumer/run.sh BUILD_DIR   (the installed .deb: tests/consumer/deb.sh)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../.." && pwd)
build=$(cd "${1:?usage: run.sh BUILD_DIR}" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
jobs=$(nproc)
prefix="$work/prefix"

echo "--- installing $build into $prefix"
cmake --install "$build" --prefix "$prefix" > "$work/install.log"

echo "--- consumer 1/4: find_package(wick)"
cmake -S "$here" -B "$work/find" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release \
  > "$work/find.log"
cmake --build "$work/find" -j"$jobs" >> "$work/find.log" || { cat "$work/find.log"; exit 1; }
"$work/find/consumer"

if [[ -n "$(find "$prefix" -name wickDistTargets.cmake)" ]]; then
  echo "--- consumer 1/4, component dist: find_package(wick COMPONENTS dist) under mpirun -n 2"
  cmake -S "$here/dist" -B "$work/dist" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release \
    > "$work/dist.log" || { cat "$work/dist.log"; exit 1; }
  cmake --build "$work/dist" -j"$jobs" >> "$work/dist.log" || { cat "$work/dist.log"; exit 1; }
  OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 \
    OMPI_MCA_btl_vader_single_copy_mechanism=none \
    mpirun --oversubscribe -n 2 "$work/dist/dist_consumer" "$work/dist-ckpt"
elif grep -q '^WICK_WITH_MPI:BOOL=ON' "$build/CMakeCache.txt"; then
  echo "run.sh: $build has dist/ but the install has no wick::dist" >&2
  exit 1
fi

echo "--- consumer 2/4: add_subdirectory(wick)"
cmake -S "$here" -B "$work/sub" -DWICK_SOURCE_DIR="$src" -DCMAKE_BUILD_TYPE=Release \
  > "$work/sub.log"
cmake --build "$work/sub" -j"$jobs" >> "$work/sub.log" || { cat "$work/sub.log"; exit 1; }
"$work/sub/consumer"

echo "--- consumer 3/4: pkg-config"
pc=$(find "$prefix" -name wick.pc -print -quit)
[[ -n "$pc" ]] || { echo "run.sh: no wick.pc under $prefix" >&2; exit 1; }
PKG_CONFIG_PATH=$(dirname "$pc")
export PKG_CONFIG_PATH
echo "pkg-config --cflags --libs wick: $(pkg-config --cflags --libs wick)"
# No -std= here: g++ 12 defaults to gnu++17, where the headers do not compile, so this only
# builds if wick.pc's Cflags ask for C++20.
# shellcheck disable=SC2046
g++ -O1 "$here/main.cpp" -o "$work/pkgconfig-consumer" $(pkg-config --cflags --libs wick)
"$work/pkgconfig-consumer"

echo "--- consumer 4/4: FetchContent (GIT_REPOSITORY $src, GIT_TAG HEAD)"
if [[ -n "$(git -C "$src" status --porcelain --untracked-files=no)" ]]; then
  echo "(FetchContent builds the committed HEAD; this checkout has uncommitted changes)"
fi
cmake -S "$here/fetchcontent" -B "$work/fetch" -DWICK_GIT_REPOSITORY="$src" \
  -DWICK_GIT_TAG="$(git -C "$src" rev-parse HEAD)" -DCMAKE_BUILD_TYPE=Release > "$work/fetch.log" \
  || { cat "$work/fetch.log"; exit 1; }
cmake --build "$work/fetch" -j"$jobs" >> "$work/fetch.log" || { cat "$work/fetch.log"; exit 1; }
"$work/fetch/consumer"

echo "--- installed command-line tool"
"$prefix/bin/wick" --version
"$prefix/bin/wick" verify "$src"/tests/data/*.wick

echo "--- installed documentation"
for doc in README.md FORMAT.md LICENSE NOTICE; do
  [[ -s "$prefix/share/doc/wick/$doc" ]] || { echo "run.sh: no share/doc/wick/$doc" >&2; exit 1; }
done
if grep -q '^WICK_BUILD_DOCS:BOOL=ON' "$build/CMakeCache.txt"; then
  [[ -s "$prefix/share/doc/wick/html/index.html" ]] || { echo "run.sh: no HTML docs" >&2; exit 1; }
fi
ls "$prefix/share/doc/wick"
