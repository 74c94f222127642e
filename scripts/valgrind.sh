#!/usr/bin/env bash
# Runs every example under valgrind memcheck and fails on any memory error or leak.
#   scripts/valgrind.sh [build-dir]      (default: build; configured and built as needed)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
examples=(mlp_roundtrip tensor_files mlp_forward tensor_demo)

bash scripts/deps.sh --fuzz  # valgrind is in that group
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DWICK_BUILD_EXAMPLES=ON >/dev/null
cmake --build "$build" -j"$(nproc)" --target "${examples[@]}"

# valgrind 3.19 cannot decode AVX-512, so cap wick's kernels at AVX2. xxHash's dispatcher picks
# its path from CPUID, which valgrind answers without AVX-512, so it stays on AVX2 by itself.
export WICK_SIMD=avx2
logs=$(mktemp -d)
export TMPDIR=$logs  # the examples write their files under the temp directory
trap 'rm -rf "$logs"' EXIT
failed=0
for e in "${examples[@]}"; do
  log=$logs/$e.log
  if valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect,possible \
      --track-origins=yes "$build/examples/$e" >"$log" 2>&1; then
    status=clean
  else
    status=FAILED
    failed=$((failed + 1))
    cat "$log"
  fi
  errors=$(sed -n 's/.*ERROR SUMMARY: \([0-9,]*\) errors.*/\1/p' "$log")
  heap=$(sed -n 's/.*total heap usage: \(.*\) allocated/\1/p' "$log")
  printf 'valgrind: %-14s %s: %s errors; heap: %s allocated\n' "$e" "$status" "${errors:-?}" \
    "${heap:-?}"
done
echo "valgrind: ${#examples[@]} examples, $((${#examples[@]} - failed)) clean, $failed with errors"
exit $((failed > 0))
