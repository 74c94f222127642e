#!/usr/bin/env python3
"""Before/after comparison of two wick_bench_io builds, for changes meant to change nothing.

Rounds alternate the two binaries so that both see the same machine drift. Each round takes,
per workload, wick's time over its baseline's in the same process (median of the repetitions);
the table gives every round and the median of the rounds.

    /usr/bin/python3 bench/ab.py --before OLD/bench/wick_bench_io --after build/bench/wick_bench_io
"""
import argparse
import json
import statistics
import subprocess

PAIRS = [("save_file_fast", "raw_write"), ("load_verified", "raw_read"), ("save_memory", "memcpy")]
WORKLOADS = ("mlp", "small10k", "256MiB")


def medians(binary, reps):
    ops = "|".join(sorted({op for pair in PAIRS for op in pair}))
    flt = f"^({ops})/({'|'.join(WORKLOADS)})/"
    out = subprocess.run([binary, f"--benchmark_filter={flt}", f"--benchmark_repetitions={reps}",
                          "--benchmark_report_aggregates_only=true", "--benchmark_format=json"],
                         capture_output=True, text=True, check=True).stdout
    med = {}
    for bm in json.loads(out)["benchmarks"]:
        if bm.get("aggregate_name") == "median":
            op, workload = bm["run_name"].split("/")[:2]
            med[(op, workload)] = bm["real_time"]
    return med


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", required=True, help="wick_bench_io of the old build")
    ap.add_argument("--after", required=True, help="wick_bench_io of the new build")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--reps", type=int, default=3, help="repetitions per benchmark per round")
    args = ap.parse_args()
    builds = {"before": args.before, "after": args.after}
    ratios = {name: {} for name in builds}
    for _ in range(args.rounds):
        for name, binary in builds.items():
            med = medians(binary, args.reps)
            for op, base in PAIRS:
                for w in WORKLOADS:
                    ratios[name].setdefault((op, w), []).append(med[(base, w)] / med[(op, w)])
    print("| workload | baseline time / wick time | before: rounds → median | "
          "after: rounds → median |")
    print("|---|---|---|---|")
    for op, base in PAIRS:
        for w in WORKLOADS:
            cells = [" ".join(f"{x:.2f}" for x in ratios[n][(op, w)]) +
                     f" → **{statistics.median(ratios[n][(op, w)]):.2f}**" for n in builds]
            print(f"| {w} | {base} / {op} | {cells[0]} | {cells[1]} |")


if __name__ == "__main__":
    main()
