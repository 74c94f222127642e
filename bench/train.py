#!/usr/bin/python3
"""Times a whole training step (forward, cross-entropy, backward, Adam) of wick against
libtorch and PyTorch eager, all on one thread, and prints one table (ratios: higher is better
for wick).

    /usr/bin/python3 bench/train.py --build build [--reps 5]

- wick and libtorch: wick_bench_train (built when libtorch-dev is installed), which starts
  both from the same weights and batch and skips a model whose first losses disagree. Median
  of --reps repetitions; wick and libtorch run in separate processes, so neither's freed
  memory shapes how the other's allocations are served.
- PyTorch eager: bench/python/train_step.py (same models, shapes and optimizer).
- heap allocs: global operator new calls per step (libtorch's tensor data is allocated with
  posix_memalign and not counted); buffer maps: wick's large buffers the kernel was asked for
  per step (0 when its buffer cache served them all).
"""
import argparse
import json
import os
import re
import subprocess
import sys

MODELS = ["digits", "wide"]
TARGET_LIBTORCH = {"digits": 1.5, "wide": 1.1}
TARGET_EAGER = 3.0
# OpenBLAS (behind libtorch and PyTorch) gets one thread too, so no worker spins on the
# other core.
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}


def run_bench(binary, pattern, reps):
    """{name: (median seconds per step, median counters)} and {name: error} for `pattern`."""
    cmd = [binary, f"--benchmark_filter={pattern}", f"--benchmark_repetitions={reps}",
           "--benchmark_report_aggregates_only=true", "--benchmark_format=json"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True,
                         env=dict(os.environ, **ONE_THREAD)).stdout
    results, errors = {}, {}
    for b in json.loads(out)["benchmarks"]:
        name = re.sub(r"/min_warmup_time:[^/]*", "", b["run_name"])
        if b.get("error_occurred"):
            errors[name] = b.get("error_message", "error")
            continue
        if b.get("aggregate_name") != "median":
            continue
        unit = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[b["time_unit"]]
        results[name] = (b["real_time"] * unit, b)
    return results, errors


def run_eager(script):
    out = subprocess.run([sys.executable, script], check=True, capture_output=True, text=True,
                         env=dict(os.environ, **ONE_THREAD)).stdout
    return json.loads(out)


def us(t):
    return f"{t * 1e6:10.1f}" if t is not None else f"{'-':>10}"


def ratio(base, mine, target):
    if base is None or mine is None:
        return f"{'-':>13}"
    return f"{base / mine:6.2f} (>={target:.1f})"


def count(b, key):
    return f"{b[key]:8.1f}" if b is not None and key in b else f"{'-':>8}"


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args()
    binary = os.path.join(args.build, "bench", "wick_bench_train")
    if not os.path.exists(binary):
        print(f"no {binary}: install libtorch-dev (scripts/deps.sh --bench) and rebuild")
        return 1
    results, errors = {}, {}
    for framework in ("wick", "libtorch"):
        r, e = run_bench(binary, f"^train_step/.*/{framework}/", args.reps)
        results.update(r)
        errors.update(e)
    eager = run_eager(os.path.join(os.path.dirname(os.path.abspath(__file__)), "python",
                                   "train_step.py"))

    print(f"{'model':8} {'wick us':>10} {'libtorch':>10} {'libtorch/wick':>13} "
          f"{'eager us':>10} {'eager/wick':>13} {'allocs w':>8} {'allocs lt':>9} "
          f"{'maps w':>8} {'hits w':>8} {'1st loss':>9}")
    for m in MODELS:
        w, wb = results.get(f"train_step/{m}/wick", (None, None))
        t, tb = results.get(f"train_step/{m}/libtorch", (None, None))
        e = eager.get(m)
        loss = f"{wb['first_loss']:9.5f}" if wb is not None else f"{'-':>9}"
        print(f"{m:8} {us(w)} {us(t)} {ratio(t, w, TARGET_LIBTORCH[m])} {us(e)} "
              f"{ratio(e, w, TARGET_EAGER)} {count(wb, 'heap_allocs_per_step')} "
              f"{count(tb, 'heap_allocs_per_step'):>9} {count(wb, 'buffer_maps_per_step')} "
              f"{count(wb, 'buffer_hits_per_step')} {loss}")
    for name, message in sorted(errors.items()):
        print(f"{name}: {message}")
    print("allocs: operator new calls per step (w wick, lt libtorch); maps / hits: wick's large "
          "buffers per step from the kernel / from its cache")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
