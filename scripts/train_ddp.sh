#!/usr/bin/env bash
# Data-parallel determinism and resume across world sizes, with real mpirun processes
# (examples/train_ddp): training on 1, 2 and 4 ranks prints the same per-epoch losses and ends
# with byte-identical states; a run stopped after STOP_AFTER epochs on 2 ranks and resumed from
# its sharded checkpoint on 4, or on 1, ends byte-identical to the straight run; ZeRO-1
# (--zero: each rank keeps Adam's state for its slice of the parameters) trains and checkpoints
# byte-identically to plain Adam, and each resumes the other's checkpoint; a rank SIGKILLed at
# random moments (mostly inside a checkpoint, ZeRO's and plain ones) leaves the previous
# checkpoint whole.
# Usage: scripts/train_ddp.sh [build-dir]   (env: EPOCHS=8 STOP_AFTER=3 KILLS=20)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
epochs=${EPOCHS:-8}
stop=${STOP_AFTER:-3}
kills=${KILLS:-20}
bash scripts/deps.sh --mpi
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DWICK_BUILD_EXAMPLES=ON -DWICK_WITH_MPI=ON
cmake --build "$build" -j"$(nproc)" --target train_ddp
train="$build/examples/train_ddp"
# As root (CI) mpirun needs both ALLOW variables; containers often forbid the cross-process
# memory access of OpenMPI's shared-memory transport, which then copies through the segment.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_btl_vader_single_copy_mechanism=none
run() { mpirun --oversubscribe -n "$@"; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
fail() { echo "FAIL: $*" >&2; status=1; }

for n in 1 2 4; do
  echo "== $n rank(s), $epochs epochs straight"
  run "$n" "$train" "$work/straight$n" --epochs "$epochs" --export "$work/straight$n.wick" |
    tee "$work/straight$n.log"
  grep '^epoch' "$work/straight$n.log" > "$work/epochs$n"
done
for n in 2 4; do
  diff "$work/epochs1" "$work/epochs$n" > /dev/null || fail "losses on $n ranks differ from 1 rank"
  cmp "$work/straight1.wick" "$work/straight$n.wick" || fail "the checkpoint of $n ranks differs"
done

for m in 4 1; do
  echo "== 2 ranks stopped after $stop epochs, resumed on $m"
  run 2 "$train" "$work/resumed$m" --epochs "$epochs" --stop-after "$stop" | tee "$work/a$m.log"
  run "$m" "$train" "$work/resumed$m" --epochs "$epochs" --export "$work/resumed$m.wick" |
    tee "$work/b$m.log"
  grep -q "^resuming after epoch $stop on $m rank" "$work/b$m.log" || fail "run on $m ranks did not resume"
  diff "$work/epochs1" <(cat "$work/a$m.log" "$work/b$m.log" | grep '^epoch') > /dev/null ||
    fail "losses of 2 -> $m ranks differ from the straight run"
  cmp "$work/straight1.wick" "$work/resumed$m.wick" || fail "2 -> $m ranks: the checkpoint differs"
done
echo "== ZeRO-1 on 2 and 4 ranks; resumed across optimizers and world sizes"
for n in 2 4; do
  run "$n" "$train" "$work/zero$n" --zero --epochs "$epochs" --export "$work/zero$n.wick" |
    grep '^epoch' > "$work/zero_epochs$n"
  diff "$work/epochs1" "$work/zero_epochs$n" > /dev/null || fail "ZeRO losses on $n ranks differ"
  cmp "$work/straight1.wick" "$work/zero$n.wick" || fail "ZeRO on $n ranks: the checkpoint differs"
done
# ZeRO stopped on 2 resumes as plain Adam on 1; plain Adam stopped on 2 resumes as ZeRO on 4.
for pair in "--zero:" ":--zero"; do
  first=${pair%%:*} second=${pair##*:}
  run 2 "$train" "$work/cross$first" --epochs "$epochs" --stop-after "$stop" ${first:+"$first"} > /dev/null
  m=$([ -n "$second" ] && echo 4 || echo 1)
  run "$m" "$train" "$work/cross$first" --epochs "$epochs" --export "$work/cross$first.wick" \
    ${second:+"$second"} > "$work/cross.log"
  grep -q "^resuming after epoch $stop on $m rank" "$work/cross.log" || fail "cross resume on $m"
  cmp "$work/straight1.wick" "$work/cross$first.wick" ||
    fail "2 ranks ${first:-plain} -> $m ranks ${second:-plain}: the checkpoint differs"
done
# Kill test: 2 ranks train with 64 MiB of ballast in every checkpoint (so most of the time goes
# to saving), every other run with ZeRO; one rank is SIGKILLed at a random moment, mpirun ends
# the job, and the checkpoint must load whole (verified) as one epoch, its ballast that epoch's.
echo "== $kills kills of one rank of 2 during sharded checkpoints"
ckpt="$work/killed"
run 2 "$train" "$ckpt" --epochs 1 --ballast-mb 64 > /dev/null
intact=0 advanced=0 last=1
for k in $(seq 1 "$kills"); do
  zero=""
  if [ $((k % 2)) -eq 0 ]; then zero=--zero; fi
  run 2 "$train" "$ckpt" --epochs 100000 --ballast-mb 64 ${zero:+"$zero"} > "$work/kill.log" 2>&1 &
  job=$!
  # The ranks, never mpirun itself (its command line does not start with the binary): mpirun
  # must see a rank die and end the job, as it would on a real failure. The random moment is
  # counted from when both ranks run, however long mpirun took to start them.
  ranks=""
  for _ in $(seq 1 400); do
    ranks=$(pgrep -f "^$train $ckpt --epochs 100000" || true)
    [ "$(echo "$ranks" | grep -c .)" -ge 2 ] && break
    sleep 0.05
  done
  sleep "0.$(( RANDOM % 10 ))$(( RANDOM % 10 ))"
  victim=$(echo "$ranks" | grep . | shuf -n 1 || true)
  [ -n "$victim" ] && kill -9 "$victim" 2>/dev/null || fail "kill $k: the ranks never started"
  for _ in $(seq 1 300); do kill -0 "$job" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$job" 2>/dev/null; then
    pkill -9 -f "^$train $ckpt" || true
    fail "kill $k: mpirun did not end the job within 30 s of the kill"
  fi
  wait "$job" 2>/dev/null || true
  if out=$(run 1 "$train" "$ckpt" --check 2>&1); then
    intact=$((intact + 1))
    epoch=$(echo "$out" | sed -n 's/^checkpoint intact: epoch //p')
    [ "$epoch" -gt "$last" ] && advanced=$((advanced + 1))
    last=$epoch
  else
    fail "kill $k: the checkpoint is not whole: $out"
  fi
done
litter=$(find "$work" -maxdepth 1 -name '.killed.wick-*' | wc -l)
echo "sharded kills: $kills tried, $intact checkpoints intact ($advanced advanced past the previous kill's epoch, last epoch $last); $litter staging directories left (the next save removes them)"
[ "$intact" -eq "$kills" ] || fail "$((kills - intact)) kills left a damaged checkpoint"
[ "$status" -eq 0 ] && echo "OK: 1, 2 and 4 ranks train bit-identically, with ZeRO-1 too; stopped on 2 and resumed on 4 or 1 ends the same, across optimizers too; $intact/$kills kills left a whole checkpoint"
exit "$status"
