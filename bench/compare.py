#!/usr/bin/python3
"""Runs wick's io benchmark and the same workloads through PyTorch and NumPy, in one run and one
directory, and prints throughputs and ratios (wick / peer, higher is better for wick).

    python3 bench/compare.py --bench build/bench/wick_bench_io [--reps 5] [--reps-targets 15]
                             [--quick]

Peers are measured only when importable (Debian: python3-torch, python3-numpy; scripts/deps.sh
--peers installs them). Files go to $WICK_BENCH_DIR or the temp directory, like the C++ bench.
"""
import argparse
import json
import re
import os
import statistics
import subprocess
import sys
import tempfile
import time

WORKLOADS = ["mlp", "small10k", "256MiB", "bf16", "1GiB"]


def shapes(workload):
    """(name, shape, dtype) of each tensor, exactly as bench_io.cpp builds them."""
    if workload == "mlp":
        return [("hidden.weight", (256, 20), "float32"), ("hidden.bias", (256,), "float32"),
                ("output.weight", (10, 256), "float32"), ("output.bias", (10,), "float32")]
    if workload == "small10k":
        return [(f"t{i}", (256 + i % 769,), "float32") for i in range(10000)]
    if workload == "bf16":
        return [(f"w{i}", (2048, 1024), "bfloat16") for i in range(64)]
    layers = 256 if workload == "1GiB" else 64
    out = []
    for i in range(layers):
        out += [(f"layers.{i}.weight", (1024, 1024), "float32"), (f"layers.{i}.bias", (1024,), "float32")]
    return out


def nbytes(workload):
    size = {"float32": 4, "bfloat16": 2}
    total = 0
    for _, shape, dtype in shapes(workload):
        n = 1
        for d in shape:
            n *= d
        total += n * size[dtype]
    return total


def median_seconds(fn, reps, min_time=0.2):
    """Median over `reps` samples; each sample repeats fn until min_time passes."""
    fn()  # warm-up: the page cache, the allocator, Python's imports
    samples = []
    for _ in range(reps):
        count, start = 0, time.perf_counter()
        while True:
            fn()
            count += 1
            elapsed = time.perf_counter() - start
            if elapsed >= min_time:
                break
        samples.append(elapsed / count)
    return statistics.median(samples)


# Workloads the save/load ratio targets apply to (the large state dicts), and the
# benchmarks behind those targets. A single large save or load varies by +-30% here (the
# kernel's writeback of earlier saves, huge-page compaction) and each repetition holds only one
# to three iterations, so these run more repetitions than the rest (--reps-targets).
TARGET_WORKLOADS = ["256MiB", "bf16", "1GiB"]
# With them, every benchmark a row divides them by or into, so that each row's two figures come
# from one process.
TARGET_OPS = ["save_file_fast", "save_file_durable", "load_verified", "load_unverified",
              "mmap_verified", "raw_write", "raw_write_fsync", "raw_replace", "raw_replace_fsync",
              "raw_read", "paired_save_fast", "paired_save_durable", "paired_load_verified"]


def run_wick(bench, reps, names, directory):
    """Runs the benchmarks `names` (as --benchmark_list_tests prints them); medians by name."""
    pattern = "^(" + "|".join(re.escape(n) for n in names) + ")$"
    cmd = [bench, f"--benchmark_filter={pattern}", f"--benchmark_repetitions={reps}",
           "--benchmark_report_aggregates_only=true", "--benchmark_format=json"]
    env = dict(os.environ, WICK_BENCH_DIR=directory)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    results = {}
    for b in json.loads(out)["benchmarks"]:
        if b.get("aggregate_name") != "median":
            continue
        name = re.sub(r"/(min_warmup_time:[^/]*|real_time)", "", b["run_name"])
        results[name] = {"seconds": b["real_time"] / 1e3, "peak_extra_MiB": b.get("peak_extra_MiB"),
                         "ratio": b.get("ratio")}
    return results


def run_wick_all(bench, reps, reps_targets, workloads, directory):
    listed = subprocess.run([bench, "--benchmark_list_tests"], check=True, capture_output=True,
                            text=True).stdout.split()
    mine = [n for n in listed if n.split("/")[1] in workloads]
    targeted = [n for n in mine
                if n.split("/")[1] in TARGET_WORKLOADS and n.split("/")[0] in TARGET_OPS]
    results = run_wick(bench, reps, [n for n in mine if n not in targeted], directory)
    if targeted:
        results.update(run_wick(bench, max(reps, reps_targets), targeted, directory))
    return results


def run_torch(workloads, reps, directory):
    try:
        import torch
    except ImportError:
        return {}
    torch.set_num_threads(1)
    results = {}
    for w in workloads:
        dtype = {"float32": torch.float32, "bfloat16": torch.bfloat16}
        sd = {name: torch.randn(shape).to(dtype[dt]) for name, shape, dt in shapes(w)}
        path = os.path.join(directory, f"torch-bench-{w}.pt")
        results[f"torch_save/{w}"] = median_seconds(lambda: torch.save(sd, path), reps)
        results[f"torch_load/{w}"] = median_seconds(lambda: torch.load(path), reps)
        os.remove(path)
    return results


def run_numpy(workloads, reps, directory):
    try:
        import numpy as np
    except ImportError:
        return {}
    results = {}
    for w in workloads:
        if w == "bf16":
            continue  # NumPy has no bfloat16
        rng = np.random.default_rng(1)
        arrays = {name: rng.standard_normal(shape, dtype=np.float32) for name, shape, _ in shapes(w)}
        path = os.path.join(directory, f"numpy-bench-{w}.npz")

        def load():
            with np.load(path) as z:
                return [z[k] for k in z.files]  # materialise every array

        results[f"np_savez/{w}"] = median_seconds(lambda: np.savez(path, **arrays), reps)
        results[f"np_load/{w}"] = median_seconds(load, reps)
        os.remove(path)
    return results


def gbps(nbytes_, seconds):
    return nbytes_ / seconds / 1e9


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bench", default="build/bench/wick_bench_io")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--reps-targets", type=int, default=15,
                    help="repetitions of the large workloads' benchmarks that have targets "
                         "(never fewer than --reps)")
    ap.add_argument("--quick", action="store_true", help="skip the 1 GiB workload")
    args = ap.parse_args()
    if args.reps < 2:
        ap.error("--reps must be at least 2: the figures are medians of repetitions")
    workloads = [w for w in WORKLOADS if not (args.quick and w == "1GiB")]
    directory = os.environ.get("WICK_BENCH_DIR", tempfile.gettempdir())

    wick = run_wick_all(args.bench, args.reps, args.reps_targets, workloads, directory)
    peers = {}
    peers.update(run_torch(workloads, args.reps, directory))
    peers.update(run_numpy(workloads, args.reps, directory))

    def s(name):
        return wick[name]["seconds"] if name in wick else peers.get(name)

    rows = [
        # label, wick op, baseline op, target ratio
        ("save, fast (no fsync)", "save_file_fast", "raw_write", 0.85),
        ("save, durable", "save_file_durable", "raw_write_fsync", 0.9),
        # The least an atomic save must do: write a new file and rename it over the old one.
        ("save, fast vs replace", "save_file_fast", "raw_replace", None),
        ("save, durable vs repl.", "save_file_durable", "raw_replace_fsync", None),
        ("load, verified", "load_verified", "raw_read", 0.85),
        ("load, unverified", "load_unverified", "raw_read", None),
        ("mmap + verify", "mmap_verified", "raw_read", None),
        ("save vs torch.save", "save_file_fast", "torch_save", 3.0),
        ("load vs torch.load", "load_verified", "torch_load", 3.0),
        ("save vs np.savez", "save_file_fast", "np_savez", None),
        ("load vs np.load", "load_verified", "np_load", None),
    ]
    print(f"{'workload':9} {'comparison':22} {'wick GB/s':>10} {'base GB/s':>10} {'ratio':>7} {'target':>7}")
    for w in workloads:
        n = nbytes(w)
        for label, mine, base, target in rows:
            a, b = s(f"{mine}/{w}"), s(f"{base}/{w}")
            if a is None or b is None:
                continue
            tgt = ""
            if target is not None and w == "mlp" and base.startswith("torch"):
                tgt = ">=10"
            elif target is not None and (w in TARGET_WORKLOADS or base.startswith("torch")):
                tgt = f">={target:g}"
            print(f"{w:9} {label:22} {gbps(n, a):10.3f} {gbps(n, b):10.3f} {b / a:7.2f} {tgt:>7}")
        for op in ("mmap_unverified", "xxh3"):
            if s(f"{op}/{w}") is not None:
                print(f"{w:9} {op:22} {s(f'{op}/{w}') * 1e3:9.3f} ms  ({gbps(n, s(f'{op}/{w}')):.2f} GB/s)")
        for op in ("save_file_fast", "load_verified", "mmap_unverified"):
            peak = wick.get(f"{op}/{w}", {}).get("peak_extra_MiB")
            if peak is not None:
                print(f"{w:9} peak memory {op:16} {peak:9.1f} MiB above start (data {n / 2**20:.1f} MiB)")
    print("paired (wick and its baseline alternating, iteration by iteration; ratio = base / wick):")
    for w in workloads:
        for label, op, target in (("save, fast (no fsync)", "paired_save_fast", 0.85),
                                  ("save, durable", "paired_save_durable", 0.9),
                                  ("load, verified", "paired_load_verified", 0.85)):
            r = wick.get(f"{op}/{w}", {}).get("ratio")
            if r is not None:
                print(f"{w:9} {label:22} {'':10} {'':10} {r:7.2f} {'>=' + format(target, 'g'):>7}")
    a, b = s("save_file_fast_crowded/mlp"), s("raw_replace_crowded/mlp")
    if a is not None and b is not None:
        print(f"mlp save, fast, into a directory of 10,000 other files: {a * 1e3:.3f} ms, "
              f"raw replace there {b * 1e3:.3f} ms, ratio {b / a:.2f}")
    for name in ("load_one_by_name/256MiB", "load_one_by_name/1GiB"):
        if name in wick:
            print(f"{name}: {wick[name]['seconds'] * 1e3:.3f} ms")
    if "small10k" in workloads:
        for mine, base in (("save_file_fast", "raw_write"), ("load_verified", "raw_read"),
                           ("save_memory", "memcpy")):
            a, b = s(f"{mine}/small10k"), s(f"{base}/small10k")
            print(f"small10k overhead per tensor, {mine} vs {base}: {(a - b) / 10000 * 1e9:.0f} ns")
    return 0


if __name__ == "__main__":
    sys.exit(main())
