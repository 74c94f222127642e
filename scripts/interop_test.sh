#!/usr/bin/env bash
# The interop tests against real PyTorch and NumPy, both ways: installs python3-torch and
# python3-numpy (scripts/deps.sh --peers), builds the io tests and runs every Interop* test with
# WICK_REQUIRE_PEERS=1, so that a missing Python module fails them instead of skipping them.
#   scripts/interop_test.sh [build-dir] [extra cmake args...]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
shift || true
bash scripts/deps.sh --peers
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DWICK_BUILD_TESTS=ON "$@"
cmake --build "$build" -j"$(nproc)" --target wick_io_tests
WICK_REQUIRE_PEERS=1 "$build/tests/wick_io_tests" --gtest_filter='Interop*' --gtest_brief=1
