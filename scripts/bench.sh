#!/usr/bin/env bash
# Installs the yardsticks (OpenBLAS, libtorch, PyTorch, NumPy from Debian), builds the benchmarks
# in Release and prints both tables of bench/README.md: serialization against raw I/O, PyTorch
# and NumPy (bench/compare.py), and the compute kernels against OpenBLAS and libtorch
# (bench/kernels.py). Run it on an otherwise idle machine: every figure is a ratio to a baseline
# measured in the same run, but two busy cores still skew them.
#   scripts/bench.sh [build-dir] [repetitions]
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-bench}
reps=${2:-5}
bash scripts/deps.sh --bench
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DWICK_BUILD_TESTS=OFF -DWICK_BUILD_BENCH=ON
cmake --build "$build" -j"$(nproc)" --target wick_bench_io wick_bench_core wick_bench_mlp
echo "== serialization: bench/compare.py --reps $reps"
/usr/bin/python3 bench/compare.py --bench "$build/bench/wick_bench_io" --reps "$reps"
echo "== compute kernels: bench/kernels.py --reps $reps"
/usr/bin/python3 bench/kernels.py --build "$build" --reps "$reps"
