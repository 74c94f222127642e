#!/usr/bin/env bash
# Builds and runs the consumer program (main.cpp) the three ways a user can take wick:
#   1. find_package(wick) against `cmake --install BUILD_DIR` into a scratch prefix
#   2. add_subdirectory(<this checkout>) from a parent project
#   3. one g++ line with `pkg-config --cflags --libs wick` against the same prefix
# then runs the installed `wick` command-line tool. Usage: tests/consumer/run.sh BUILD_DIR
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

echo "--- consumer 1/3: find_package(wick)"
cmake -S "$here" -B "$work/find" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release \
  > "$work/find.log"
cmake --build "$work/find" -j"$jobs" >> "$work/find.log" || { cat "$work/find.log"; exit 1; }
"$work/find/consumer"

echo "--- consumer 2/3: add_subdirectory(wick)"
cmake -S "$here" -B "$work/sub" -DWICK_SOURCE_DIR="$src" -DCMAKE_BUILD_TYPE=Release \
  > "$work/sub.log"
cmake --build "$work/sub" -j"$jobs" >> "$work/sub.log" || { cat "$work/sub.log"; exit 1; }
"$work/sub/consumer"

echo "--- consumer 3/3: pkg-config"
pc=$(find "$prefix" -name wick.pc -print -quit)
[[ -n "$pc" ]] || { echo "run.sh: no wick.pc under $prefix" >&2; exit 1; }
export PKG_CONFIG_PATH=$(dirname "$pc")
echo "pkg-config --cflags --libs wick: $(pkg-config --cflags --libs wick)"
# shellcheck disable=SC2046
g++ -std=c++20 -O1 "$here/main.cpp" -o "$work/pkgconfig-consumer" $(pkg-config --cflags --libs wick)
"$work/pkgconfig-consumer"

echo "--- installed command-line tool"
"$prefix/bin/wick" --version
"$prefix/bin/wick" verify "$src"/tests/data/*.wick
