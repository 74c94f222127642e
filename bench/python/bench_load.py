#!/usr/bin/env python3
"""Load speed of the pure-Python wick reader against np.load and torch.load (issue 19).

Builds a 256 MiB float32 state dict (16 tensors of 4096x1024), writes it as .wick, as one
.npy of the same bytes and as .pt, then times (best of --runs, page cache warm):
wick.load verified, wick.load(mmap=True) verified and not, , np.load, torch.load; and the median
time of wick.Reader opening a 1 GiB file.

    PYTHONPATH=python /usr/bin/python3 bench/python/bench_load.py [--dir DIR] [--runs 5]

The .wick files come from wick.save when the package has it, else from the C++ CLI
(`np.savez` then `wick convert`, $WICK_CLI or /work/bin/wick), else from the hand-built
writer of python/tests/builder.py.
"""

import argparse
import os
import pathlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python"))
import wick  # noqa: E402


def state_dict(count, rows=4096, cols=1024):
    """`count` float32 tensors of rows x cols with distinct contents."""
    rng = np.random.default_rng(0)
    base = rng.standard_normal((rows, cols), dtype=np.float32)
    return {f"layer{i}.weight": base + np.float32(i) for i in range(count)}


def write_wick(tensors, path):
    """The state dict as .wick, by the first writer available (see the module docstring)."""
    if hasattr(wick, "save"):
        wick.save(tensors, path, durable=False)
        return "wick.save"
    cli = os.environ.get("WICK_CLI", "/work/bin/wick")
    if shutil.which(cli) or os.access(cli, os.X_OK):
        npz = str(path) + ".npz"
        np.savez(npz, **tensors)
        subprocess.run([cli, "convert", npz, str(path)], check=True, capture_output=True)
        os.remove(npz)
        return "wick convert"
    sys.path.insert(0, str(ROOT / "python" / "tests"))
    import builder as B
    names = list(tensors)
    tree = B.DICT(*[(n, B.TENSOR(i)) for i, n in enumerate(names)])
    recs = [(8, tensors[n].shape, tensors[n].tobytes()) for n in names]
    pathlib.Path(path).write_bytes(B.build(tree, recs))
    return "tests/builder.py"


def best(fn, runs):
    """Best wall time of `runs` calls (warm cache: the first call warms it too)."""
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def check_equal(loaded, tensors):
    for name, arr in tensors.items():
        if not np.array_equal(np.asarray(loaded[name]), arr):
            raise SystemExit(f"{name} differs after the round trip")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", help="where to write the files (default: a temp dir)")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--opens", type=int, default=200, help="Reader opens to take the median of")
    args = ap.parse_args()
    work = pathlib.Path(args.dir or tempfile.mkdtemp(prefix="wick-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        run(work, args)
    finally:
        if not args.dir:
            shutil.rmtree(work)


def run(work, args):
    import torch
    tensors = state_dict(16)
    mib = sum(a.nbytes for a in tensors.values()) / 2**20
    w, npy, pt = work / "sd.wick", work / "sd.npy", work / "sd.pt"
    writer = write_wick(tensors, w)
    np.save(npy, np.concatenate([a.reshape(-1) for a in tensors.values()]))
    torch.save({k: torch.from_numpy(v) for k, v in tensors.items()}, pt)
    check_equal(wick.load(w), tensors)
    check_equal(wick.load(w, mmap=True), tensors)
    rows = [
        ("wick.load (verified)", best(lambda: wick.load(w), args.runs)),
        ("wick.load(mmap=True) (verified)", best(lambda: wick.load(w, mmap=True), args.runs)),
        ("wick.load(mmap=True, verify=False)",
         best(lambda: wick.load(w, mmap=True, verify=False), args.runs)),
        ("np.load (.npy)", best(lambda: np.load(npy), args.runs)),
        ("torch.load (.pt)", best(lambda: torch.load(pt), args.runs)),
    ]
    del tensors
    print(f"{mib:.0f} MiB float32 state dict, 16 tensors; .wick written by {writer}; "
          f"best of {args.runs}, page cache warm")
    for name, t in rows:
        print(f"  {name:<38} {t * 1e3:8.1f} ms  {mib / 1024 / t:6.2f} GiB/s")
    verified, npload, tload = rows[0][1], rows[3][1], rows[4][1]
    print(f"  verified wick.load vs np.load:    {npload / verified:.2f}x  (target >= 0.8x)")
    print(f"  verified wick.load vs torch.load: {tload / verified:.2f}x  (target >= 2x)")
    for p in (npy, pt):
        p.unlink()
    w.unlink()
    big = work / "big.wick"
    write_wick(state_dict(64), big)
    print(f"Reader open of a {big.stat().st_size / 2**30:.2f} GiB file: "
          f"{reader_open_ms(big, args.opens):.3f} ms median of {args.opens} (target < 5 ms)")


def reader_open_ms(path, opens):
    """Median wall time of opening (and closing) a wick.Reader on `path`."""
    times = []
    for _ in range(opens):
        t = time.perf_counter()
        with wick.Reader(path) as r:
            r.entries()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3


if __name__ == "__main__":
    main()
