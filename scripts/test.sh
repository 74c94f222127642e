#!/usr/bin/env bash
# Builds wick with its tests and runs them with ctest, dist/'s under mpirun (OpenMPI is
# installed for them).
#   scripts/test.sh [build-dir] [extra cmake args...]
# e.g. scripts/test.sh build-asan -DWICK_SANITIZE=address,undefined
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
shift || true
bash scripts/deps.sh --mpi
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DWICK_BUILD_TESTS=ON "$@"
cmake --build "$build" -j"$(nproc)"
ctest --test-dir "$build" --output-on-failure -j"$(nproc)"
