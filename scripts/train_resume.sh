#!/usr/bin/env bash
# Stop-and-resume demo for examples/train_resume: trains once straight through, then again
# stopped after STOP_AFTER epochs (as if killed) and resumed from the checkpoint. Fails unless
# both runs print the same per-epoch lines and final accuracy and their final checkpoints are
# equal bit for bit (`wick diff`, then `cmp` on the files).
# Then the same two runs with --async (checkpoints written in the background by an AsyncSaver:
# the straight run in the default snapshot mode, the stopped run forking, its resumption
# copying, so both modes are covered). Every checkpoint they leave (the one at the stop, the
# final ones) must be byte-identical to the synchronous run's.
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
status=0

# stop_and_resume NAME [flags for the first part] -- [flags for the resumption]: the run stopped
# after $stop epochs and resumed; keeps the checkpoint of the stop as NAME-stop.wick.
stop_and_resume() {
  local name=$1
  shift
  local first=() second=()
  while [ "$1" != "--" ]; do first+=("$1"); shift; done
  shift
  second=("$@")
  "$train" "$work/$name.wick" --epochs "$epochs" --stop-after "$stop" ${first[@]+"${first[@]}"} \
    | tee "$work/$name-part1.log"
  test -f "$work/$name.wick"
  cp "$work/$name.wick" "$work/$name-stop.wick"
  "$train" "$work/$name.wick" --epochs "$epochs" ${second[@]+"${second[@]}"} \
    | tee "$work/$name-part2.log"
  grep -q "^resuming from .* after epoch $stop\$" "$work/$name-part2.log"
}

# same_bytes A B WHAT: A and B are the same checkpoint bit for bit.
same_bytes() {
  if ! "$wick" diff "$work/$1" "$work/$2" || ! cmp "$work/$1" "$work/$2"; then
    echo "FAIL: $3: $1 and $2 differ" >&2
    status=1
  fi
}

# same_epochs A.log B.log... WHAT: the per-epoch lines of A equal those of the others, in order.
same_epochs() {
  local first=$1 what=${*: -1}
  local rest=("${@:2:$#-2}")
  if ! diff <(grep '^epoch' "$work/$first") <(cd "$work" && cat "${rest[@]}" | grep '^epoch'); then
    echo "FAIL: $what: per-epoch losses or accuracies differ" >&2
    status=1
  fi
}

echo "== run 1: $epochs epochs in one go"
"$train" "$work/straight.wick" --epochs "$epochs" | tee "$work/straight.log"

echo "== run 2: stopped after $stop epochs, then resumed"
stop_and_resume resumed --

straight_acc=$(grep '^final test accuracy' "$work/straight.log")
resumed_acc=$(grep '^final test accuracy' "$work/resumed-part2.log")
echo "== straight: $straight_acc"
echo "== resumed:  $resumed_acc"
if [ "$straight_acc" != "$resumed_acc" ]; then
  echo "FAIL: final accuracies differ" >&2
  status=1
fi
same_epochs straight.log resumed-part1.log resumed-part2.log "stopped and resumed"
same_bytes straight.wick resumed.wick "the final checkpoints"

echo "== run 3: $epochs epochs in one go, checkpoints in the background (--async)"
"$train" "$work/straight-async.wick" --epochs "$epochs" --async | tee "$work/straight-async.log"
grep -q '^background checkpoints: ' "$work/straight-async.log"

echo "== run 4: stopped after $stop epochs (--async --snapshot fork), resumed (--snapshot copy)"
stop_and_resume resumed-async --async --snapshot fork -- --async --snapshot copy

same_epochs straight.log straight-async.log "--async straight"
same_epochs straight.log resumed-async-part1.log resumed-async-part2.log "--async resumed"
same_bytes straight.wick straight-async.wick "--async straight, final checkpoint"
same_bytes resumed-stop.wick resumed-async-stop.wick "--async, the checkpoint at the stop"
same_bytes resumed.wick resumed-async.wick "--async resumed, final checkpoint"

if "$train" "$work/refused.pt" --async > "$work/refused.log" 2>&1 \
    || ! grep -q -- '--async saves wick checkpoints only' "$work/refused.log"; then
  echo "FAIL: --async with a .pt checkpoint was not refused" >&2
  status=1
fi

if [ "$status" -eq 0 ]; then
  echo "OK: stopping after $stop epochs and resuming is bit-identical to never stopping," \
    "and --async writes the same checkpoints"
fi
exit "$status"
