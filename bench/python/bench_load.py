#!/usr/bin/env python3
"""Load speed of the pure-Python wick reader against np.load and torch.load (issue 19).

Builds a 256 MiB float32 state dict (16 tensors of 4096x1024), writes it as .wick, as one
.npy of the same bytes and as .pt, then times (min and median of --runs interleaved rounds, page
cache warm): wick.load verified and not, wick.load(mmap=True) verified and not, np.load,
torch.load, and two floors for any load into owned memory: one readinto of the .wick file into
a fresh buffer, and into a buffer already faulted in (the kernel's copy alone); then the median
time of wick.Reader opening a 1 GiB file.

torch.load (1.13) reads each storage of the zip with one read() straight into a fresh
allocation (strace: one 16 MiB mmap and one read per tensor, no second copy), so it is itself
a fresh-buffer readinto, with 4 KiB page faults where NumPy gets huge pages: no load into
owned memory can take half its time, which would be below the kernel's copy alone.

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


def interleaved(cases, runs):
    """Wall and CPU (all threads) times of `runs` rounds, each calling every case once in
    turn, so that a burst of load from other processes slows all cases alike;
    {name: [seconds]} twice. A first untimed round warms the page cache and the code paths."""
    times, cpu = {name: [] for name in cases}, {name: [] for name in cases}
    for name, fn in cases.items():
        fn()
    for _ in range(runs):
        for name, fn in cases.items():
            c, t = time.process_time(), time.perf_counter()
            fn()  # the result is dropped inside the timing: freeing it is part of the cost
            times[name].append(time.perf_counter() - t)
            cpu[name].append(time.process_time() - c)
    return times, cpu


def aligned_empty(n):
    raw = np.empty(n + 64, np.uint8)
    skip = -raw.ctypes.data % 64
    return raw[skip:skip + n]


def readinto(path, buf):
    """One readinto of the whole file: what any load into owned memory must at least do."""
    with open(path, "rb", buffering=0) as f:
        f.readinto(memoryview(buf))
    return buf


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
    del tensors
    size = w.stat().st_size
    faulted = aligned_empty(size)
    faulted.fill(1)
    cases = {
        "wick.load (verified)": lambda: wick.load(w),
        "wick.load(verify=False)": lambda: wick.load(w, verify=False),
        "wick.load(mmap=True) (verified)": lambda: wick.load(w, mmap=True),
        "wick.load(mmap=True, verify=False)": lambda: wick.load(w, mmap=True, verify=False),
        "np.load (.npy)": lambda: np.load(npy),
        "torch.load (.pt)": lambda: torch.load(pt),
        "floor: readinto, fresh buffer": lambda: readinto(w, aligned_empty(size)),
        "floor: readinto, faulted buffer": lambda buf=faulted: readinto(w, buf),
    }
    times, cpu = interleaved(cases, args.runs)
    del faulted, cases
    print(f"{mib:.0f} MiB float32 state dict, 16 tensors; .wick written by {writer}; "
          f"{args.runs} interleaved rounds, page cache warm")
    print(f"  {'':<38} {'min':>8} {'median':>8}  GiB/s at min  CPU median")
    for name, ts in times.items():
        lo, mid = min(ts), statistics.median(ts)
        print(f"  {name:<38} {lo * 1e3:5.1f} ms {mid * 1e3:5.1f} ms  {mib / 1024 / lo:6.2f}"
              f"       {statistics.median(cpu[name]) * 1e3:5.1f} ms")
    mine = times["wick.load (verified)"]
    for other, target in (("np.load (.npy)", 0.8), ("torch.load (.pt)", 2.0)):
        theirs = times[other]
        paired = statistics.median(t / m for t, m in zip(theirs, mine))
        print(f"  verified wick.load vs {other.split()[0]}: {min(theirs) / min(mine):.2f}x by min, "
              f"{statistics.median(theirs) / statistics.median(mine):.2f}x by median, "
              f"{paired:.2f}x median of the rounds' ratios (target >= {target}x)")
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
