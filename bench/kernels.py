#!/usr/bin/python3
"""Runs wick's compute benchmarks against their yardsticks in the same binaries and run, and
prints one table of ratios (higher is better for wick).

    python3 bench/kernels.py --build build [--reps 5] [--levels avx512,avx2]

- Linear forward and square matmul against OpenBLAS's cblas_sgemm on one thread
  (wick_bench_core, built with OpenBLAS when Debian's libopenblas-dev is installed).
- relu and add kernels on 64 MiB against memcpy; the allocating ops against a clone.
- The tutorial MLP's forward against libtorch on one thread (wick_bench_mlp, built when
  libtorch-dev is installed).
scripts/bench.sh installs both and runs this. Each level in --levels is a separate run of
wick_bench_core with WICK_SIMD set to it (a level the CPU lacks runs at the best it has).
"""
import argparse
import json
import os
import re
import subprocess
import sys

LINEAR = ["batch64/20x256", "batch64/256x10", "batch1024/20x256", "batch1024/256x10",
          "batch1/1024x1024", "batch64/1024x1024"]
TUTORIAL = set(LINEAR[:4])
MATMUL = ["256", "512", "1024"]


def run(binary, pattern, reps, env=None, labels=None):
    """Median real time in seconds of every benchmark matching `pattern`, by name; each
    benchmark's label (e.g. the OpenBLAS core) goes into `labels` when given."""
    cmd = [binary, f"--benchmark_filter={pattern}", f"--benchmark_repetitions={reps}",
           "--benchmark_report_aggregates_only=true", "--benchmark_format=json"]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True,
                         env=dict(os.environ, **(env or {}))).stdout
    times = {}
    for b in json.loads(out)["benchmarks"]:
        if b.get("aggregate_name") != "median":
            continue
        name = re.sub(r"/min_warmup_time:[^/]*", "", b["run_name"])
        unit = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[b["time_unit"]]
        times[name] = b["real_time"] * unit
        if labels is not None and b.get("label"):
            labels[name] = b["label"]
    return times


def row(label, mine, base, target=""):
    if mine is None or base is None:
        print(f"{label:44} {'(not measured)':>24}")
        return
    print(f"{label:44} {mine * 1e6:11.1f} us {base * 1e6:11.1f} us {base / mine:7.2f} {target:>7}")


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--levels", default="avx512,avx2")
    args = ap.parse_args()
    core = os.path.join(args.build, "bench", "wick_bench_core")
    mlp = os.path.join(args.build, "bench", "wick_bench_mlp")

    labels = {}
    base = run(core, "^(memcpy|clone)/64MiB|/openblas", args.reps, labels=labels)
    # The OpenBLAS benchmarks label themselves with the core (kernel set) OpenBLAS chose, which
    # decides how fast the yardstick is; they all run in one process, so one name.
    cores = sorted(set(labels.values()))
    print(f"OpenBLAS core: {', '.join(cores) if cores else '(not reported)'}")
    print(f"{'comparison':44} {'wick':>14} {'yardstick':>14} {'ratio':>7} {'target':>7}")
    for level in args.levels.split(","):
        t = run(core, f"^(relu|add|sum)_(kernel|op)/{level}/64MiB|^(matmul|linear)/{level}(_2threads)?/",
                args.reps, {"WICK_SIMD": level})
        for n in MATMUL:
            row(f"matmul {n}^3 {level} vs OpenBLAS, 1 thread", t.get(f"matmul/{level}/{n}"),
                base.get(f"matmul/openblas/{n}"), ">=0.8")
        for n in MATMUL:
            row(f"matmul {n}^3 {level} vs OpenBLAS, 2 threads",
                t.get(f"matmul/{level}_2threads/{n}"), base.get(f"matmul/openblas_2threads/{n}"))
        for s in LINEAR:
            row(f"linear {s} {level} vs OpenBLAS", t.get(f"linear/{level}/{s}"),
                base.get(f"linear/openblas/{s}"), ">=1.0" if s in TUTORIAL else "")
        for op in ("relu", "add"):
            row(f"{op} 64 MiB kernel {level} vs memcpy", t.get(f"{op}_kernel/{level}/64MiB"),
                # memcpy moves 2 buffers, add 3: compare bytes per second, not times.
                base.get("memcpy/64MiB") * (1.5 if op == "add" else 1.0), ">=0.9")
            row(f"{op} 64 MiB op (new result) {level} vs clone", t.get(f"{op}_op/{level}/64MiB"),
                base.get("clone/64MiB") * (1.5 if op == "add" else 1.0))
        # sum reads one buffer where memcpy moves two: compare bytes per second.
        row(f"sum 64 MiB {level} vs memcpy", t.get(f"sum_op/{level}/64MiB"),
            base.get("memcpy/64MiB") * 0.5)
    if os.path.exists(mlp):
        # One process each: libtorch's allocations change how glibc's malloc serves wick's
        # later ones (fresh pages, page faults) when both run in one process. OpenBLAS (behind
        # libtorch) gets one thread too, so no worker spins on the other core.
        one = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
        t = run(mlp, "mlp_forward/wick", args.reps, one)
        t.update(run(mlp, "mlp_forward/libtorch", args.reps, one))
        for b in ("1", "64", "1024"):
            row(f"MLP 20-256-10 forward batch {b} vs libtorch, 1 thread",
                t.get(f"mlp_forward/wick/batch{b}"), t.get(f"mlp_forward/libtorch/batch{b}"),
                ">1" if b == "64" else "")
    else:
        print(f"(no {mlp}: install libtorch-dev and rebuild for the libtorch comparison)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
