#!/usr/bin/env bash
# Data-parallel determinism and resume across world sizes, with real mpirun processes
# (examples/train_ddp): training on 1, 2 and 4 ranks prints the same per-epoch losses and ends
# with byte-identical checkpoints; a run stopped after STOP_AFTER epochs on 2 ranks and resumed
# on 4, or on 1, ends byte-identical to the straight run.
# Usage: scripts/train_ddp.sh [build-dir]   (env: EPOCHS=8 STOP_AFTER=3)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
epochs=${EPOCHS:-8}
stop=${STOP_AFTER:-3}
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
  run "$n" "$train" "$work/straight$n.wick" --epochs "$epochs" | tee "$work/straight$n.log"
  grep '^epoch' "$work/straight$n.log" > "$work/epochs$n"
done
for n in 2 4; do
  diff "$work/epochs1" "$work/epochs$n" > /dev/null || fail "losses on $n ranks differ from 1 rank"
  cmp "$work/straight1.wick" "$work/straight$n.wick" || fail "the checkpoint of $n ranks differs"
done

for m in 4 1; do
  echo "== 2 ranks stopped after $stop epochs, resumed on $m"
  run 2 "$train" "$work/resumed$m.wick" --epochs "$epochs" --stop-after "$stop" | tee "$work/a$m.log"
  run "$m" "$train" "$work/resumed$m.wick" --epochs "$epochs" | tee "$work/b$m.log"
  grep -q "^resuming after epoch $stop on $m rank" "$work/b$m.log" || fail "run on $m ranks did not resume"
  diff "$work/epochs1" <(cat "$work/a$m.log" "$work/b$m.log" | grep '^epoch') > /dev/null ||
    fail "losses of 2 -> $m ranks differ from the straight run"
  cmp "$work/straight1.wick" "$work/resumed$m.wick" || fail "2 -> $m ranks: the checkpoint differs"
done
[ "$status" -eq 0 ] && echo "OK: 1, 2 and 4 ranks train bit-identically; stopped on 2 and resumed on 4 or 1 ends the same"
exit "$status"
