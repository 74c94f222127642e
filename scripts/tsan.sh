#!/usr/bin/env bash
# ThreadSanitizer over what runs threads and processes at once: the background saver
# (AsyncSaver: its writer threads, forked writers, handles shared between threads), the crash
# tests that kill savers and their writers, and concurrent saves and loads.
#   scripts/tsan.sh [build-dir]     (default build-tsan)
# Only wick_io_tests is built, without benchmarks, examples or the tool.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-tsan}
bash scripts/deps.sh
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DWICK_BUILD_TESTS=ON -DWICK_SANITIZE=thread \
  -DWICK_BUILD_BENCH=OFF -DWICK_BUILD_EXAMPLES=OFF -DWICK_BUILD_TOOLS=OFF
cmake --build "$build" -j"$(nproc)" --target wick_io_tests
# Line-buffered stdout (stdbuf -oL): under TSan a child's _exit flushes the stdio buffers it
# inherited, so every forked writer and killed saver would print this process's pending
# output again.
TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
  stdbuf -oL "$build/tests/wick_io_tests" --gtest_brief=1 \
  --gtest_filter='AsyncSaver*:*/AsyncSaverModes.*:Crash.*:Concurrency.*'
