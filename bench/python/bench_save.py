#!/usr/bin/env python3
"""wick.save against np.save of the same bytes (issue 19 target: save >= 0.8x np.save).

A 256 MiB state dict of float32 tensors (four Linear(4096, 4096) layers, weights and biases),
saved best-of-N with the page cache warm: `wick.save(durable=False)` against `np.save` of each
array into one file without fsync, and the durable default against `np.save` + `os.fsync`.
Both write to a new file that replaces the previous one, in the same directory.

    PYTHONPATH=python /usr/bin/python3 bench/python/bench_save.py [--runs 5] [--dir DIR]
"""

import argparse
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "python"))
import wick  # noqa: E402


def state_dict():
    rng = np.random.default_rng(0)
    sd = {}
    for i in range(4):
        sd[f"layers.{i}.weight"] = rng.standard_normal((4096, 4096), dtype=np.float32)
        sd[f"layers.{i}.bias"] = rng.standard_normal(4096, dtype=np.float32)
    return sd


def np_save(sd, path, durable):
    with open(path, "wb") as f:
        for a in sd.values():
            np.save(f, a)
        if durable:
            f.flush()
            os.fsync(f.fileno())


def best(fn, runs):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--dir", default=None, help="where to write (default: a temp dir)")
    args = ap.parse_args()
    sd = state_dict()
    mib = sum(a.nbytes for a in sd.values()) / 2**20
    with tempfile.TemporaryDirectory(dir=args.dir) as d:
        npy, wk = os.path.join(d, "sd.npy"), os.path.join(d, "sd.wick")
        print(f"state dict: {len(sd)} tensors, {mib:.1f} MiB, best of {args.runs}")
        for durable in (False, True):
            np_save(sd, npy, durable)  # warm up both paths and the page cache
            wick.save(sd, wk, durable=durable)
            t_np = best(lambda: np_save(sd, npy, durable), args.runs)
            t_wk = best(lambda: wick.save(sd, wk, durable=durable), args.runs)
            label = "durable (fsync)" if durable else "fast (no fsync)"
            print(f"{label:16s} np.save {t_np * 1e3:7.1f} ms {mib / t_np:7.0f} MiB/s | "
                  f"wick.save {t_wk * 1e3:7.1f} ms {mib / t_wk:7.0f} MiB/s | "
                  f"ratio (np time / wick time) {t_np / t_wk:.2f}x")
        assert os.path.getsize(wk) > mib * 2**20


if __name__ == "__main__":
    main()
