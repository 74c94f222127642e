#!/usr/bin/env bash
# Cross-framework resume: examples/train_resume (wick) and examples/train_resume.py (PyTorch)
# start from one wick-written epoch-0 checkpoint (.pt) and train the digits MLP
#   - 10 epochs straight in wick, and 10 straight in PyTorch;
#   - 5 in PyTorch, then 5 more in wick from PyTorch's torch.save checkpoint;
#   - 5 in wick, then 5 more in PyTorch from wick's .pt checkpoint.
# Every run's per-epoch mean losses must match the run trained straight in each framework to
# 1e-5 relative, and its test accuracies to one sample (see README: the frameworks round matrix
# products differently, so the curves agree closely but not bit for bit). Prints the worst
# relative difference.
# Usage: scripts/cross_resume.sh [build-dir]   (env: EPOCHS=10 SWITCH=5 WICK_PYTHON=python3)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
epochs=${EPOCHS:-10}
switch=${SWITCH:-5}
python=${WICK_PYTHON:-/usr/bin/python3}
[ -x "$python" ] || python=python3
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DWICK_BUILD_EXAMPLES=ON >/dev/null
cmake --build "$build" -j"$(nproc)" --target train_resume >/dev/null
root=$(pwd)
build=$(cd "$build" && pwd)
wick_train() { "$build/examples/train_resume" "$@"; }
torch_train() { "$python" "$root/examples/train_resume.py" "$@"; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work"
start=$SECONDS

wick_train init.pt --stop-after 0 >/dev/null
for run in wick torch torch_wick wick_torch; do cp init.pt "$run.pt"; done
echo "== $epochs epochs straight: wick, then PyTorch"
wick_train wick.pt --epochs "$epochs" --losses wick.losses | tail -1
torch_train torch.pt --epochs "$epochs" --losses torch.losses | tail -1
echo "== $switch epochs in PyTorch, then wick resumes PyTorch's checkpoint"
torch_train torch_wick.pt --epochs "$switch" --losses torch_wick.1 >/dev/null
wick_train torch_wick.pt --epochs "$epochs" --losses torch_wick.2 | tail -1
echo "== $switch epochs in wick, then PyTorch resumes wick's checkpoint"
wick_train wick_torch.pt --epochs "$switch" --losses wick_torch.1 >/dev/null
torch_train wick_torch.pt --epochs "$epochs" --losses wick_torch.2 | tail -1
cat torch_wick.1 torch_wick.2 >torch_wick.losses
cat wick_torch.1 wick_torch.2 >wick_torch.losses

"$python" - "$epochs" <<'PY'
import sys

epochs = int(sys.argv[1])
TOLERANCE = 1e-5


def read(name):
    rows = [line.split() for line in open(f"{name}.losses")]
    assert [int(r[0]) for r in rows] == list(range(1, epochs + 1)), f"{name}: epochs {rows}"
    return [(float(r[1]), int(r[2])) for r in rows]


runs = {name: read(name) for name in ("wick", "torch", "torch_wick", "wick_torch")}
worst, where, failed = 0.0, "", False
for a in runs:
    for b in runs:
        if a >= b:
            continue
        for epoch, ((la, ca), (lb, cb)) in enumerate(zip(runs[a], runs[b]), 1):
            rel = abs(la - lb) / abs(lb)
            if rel > worst:
                worst, where = rel, f"{a} vs {b}, epoch {epoch} ({la!r} vs {lb!r})"
            if rel > TOLERANCE or abs(ca - cb) > 1:
                print(f"FAIL: {a} vs {b}, epoch {epoch}: loss {la!r} vs {lb!r} (relative "
                      f"{rel:.2e}), test samples right {ca} vs {cb}")
                failed = True
print(f"worst relative loss difference: {worst:.2e} ({where})")
print("final test accuracy: " + ", ".join(f"{n} {r[-1][1]}/360" for n, r in runs.items()))
sys.exit(1 if failed else 0)
PY
echo "OK: resuming across frameworks continues each framework's loss curve to 1e-5 relative" \
  "($((SECONDS - start)) s)"
