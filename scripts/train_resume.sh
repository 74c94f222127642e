#!/usr/bin/env bash
# Stop-and-resume demo for examples/train_resume: trains once straight through, then again
# stopped after STOP_AFTER epochs (as if killed) and resumed from the checkpoint. Fails unless
# both runs print the same per-epoch lines and final accuracy and their final checkpoints are
# equal bit for bit (`wick diff`, then `cmp` on the files).
# Usage: scripts/train_resume.sh [build-dir]   (env: EPOCHS=20 STOP_AFTER=7)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
epochs=${EPOCHS:-20}
stop=${STOP_AFTER:-7}
bash scripts/deps.sh
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DWICK_BUILD_EXAMPLES=ON -DWICK_BUILD_TOOLS=ON
cmake --build "$build" -j"$(nproc)" --target train_resume wick_cli
train="$build/examples/train_resume"
wick="$build/tools/wick"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "== run 1: $epochs epochs in one go"
"$train" "$work/straight.wick" --epochs "$epochs" | tee "$work/straight.log"

echo "== run 2: stopped after $stop epochs, then resumed"
"$train" "$work/resumed.wick" --epochs "$epochs" --stop-after "$stop" | tee "$work/part1.log"
test -f "$work/resumed.wick"
"$train" "$work/resumed.wick" --epochs "$epochs" | tee "$work/part2.log"
grep -q "^resuming from .* after epoch $stop\$" "$work/part2.log"

straight_acc=$(grep '^final test accuracy' "$work/straight.log")
resumed_acc=$(grep '^final test accuracy' "$work/part2.log")
echo "== straight: $straight_acc"
echo "== resumed:  $resumed_acc"
status=0
if [ "$straight_acc" != "$resumed_acc" ]; then
  echo "FAIL: final accuracies differ" >&2
  status=1
fi
if ! diff <(grep '^epoch' "$work/straight.log") \
    <(cat "$work/part1.log" "$work/part2.log" | grep '^epoch'); then
  echo "FAIL: per-epoch losses or accuracies differ" >&2
  status=1
fi
if ! "$wick" diff "$work/straight.wick" "$work/resumed.wick"; then
  echo "FAIL: the final checkpoints differ" >&2
  status=1
fi
if ! cmp "$work/straight.wick" "$work/resumed.wick"; then
  echo "FAIL: the final checkpoint files are not byte-identical" >&2
  status=1
fi
[ "$status" -eq 0 ] && echo "OK: stopping after $stop epochs and resuming is bit-identical to never stopping"
exit "$status"
