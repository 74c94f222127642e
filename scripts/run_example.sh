#!/usr/bin/env bash
# Builds wick and runs the main example. Usage: scripts/run_example.sh [build-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
bash scripts/deps.sh
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release
cmake --build "$build" -j"$(nproc)" --target mlp_roundtrip
"$build/examples/mlp_roundtrip"
