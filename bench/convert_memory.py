#!/usr/bin/env python3
"""Peak resident memory of `wick convert` on a large file (issue 20: convert streams).

    python3 bench/convert_memory.py build/tools/wick [--gib 1] [--tensors 8] [--dir DIR]

Writes a safetensors file of --tensors float32 tensors totalling --gib GiB by hand (no NumPy
needed), converts it to wick, then converts that wick file to wick, safetensors, PyTorch and
.npz, then the PyTorch and .npz files back to wick, and prints each run's peak resident memory
(GNU time's %M) and wall time. Every input streams tensor by tensor, so the peak stays near one
tensor: wick, safetensors and PyTorch inputs are mapped, an .npz is unpacked array by array
into a scratch wick file first.
"""
import argparse
import json
import os
import struct
import subprocess
import tempfile
import time


def write_safetensors(path, gib, tensors):
    each = (gib << 30) // tensors // 4 * 4
    header = {f"layer{i}.weight": {"dtype": "F32", "shape": [each // 4],
                                   "data_offsets": [i * each, (i + 1) * each]}
              for i in range(tensors)}
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    block = bytes(range(256)) * 4096  # 1 MiB of a pattern that is not all zeros
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text)
        for _ in range(tensors):
            left = each
            while left:
                n = min(left, len(block))
                f.write(block[:n])
                left -= n
    return each


def peak(cmd):
    with tempfile.NamedTemporaryFile("r") as out:
        start = time.monotonic()
        subprocess.run(["/usr/bin/time", "-f", "%M", "-o", out.name] + cmd, check=True,
                       stdout=subprocess.DEVNULL)
        wall = time.monotonic() - start
        return int(out.read().strip().splitlines()[-1]), wall


def main():
    p = argparse.ArgumentParser()
    p.add_argument("wick")
    p.add_argument("--gib", type=int, default=1)
    p.add_argument("--tensors", type=int, default=8)
    p.add_argument("--dir", default=None)
    a = p.parse_args()
    with tempfile.TemporaryDirectory(dir=a.dir) as d:
        st = os.path.join(d, "big.safetensors")
        each = write_safetensors(st, a.gib, a.tensors)
        big = os.path.join(d, "big.wick")
        print(f"input: {a.tensors} float32 tensors of {each >> 20} MiB, "
              f"{os.path.getsize(st) / 2**30:.2f} GiB")
        pt = os.path.join(d, "out.pt")
        npz = os.path.join(d, "out.npz")
        runs = [("safetensors -> wick (streamed)", [st, big]),
                ("wick -> wick (streamed)", [big, os.path.join(d, "out.wick")]),
                ("wick -> safetensors (streamed)", [big, os.path.join(d, "out.safetensors")]),
                ("wick -> pytorch (streamed)", [big, pt]),
                ("wick -> npz (streamed)", [big, npz]),
                ("pytorch -> wick (stored members mapped)", [pt, os.path.join(d, "back.wick")]),
                ("npz -> wick (unpacked array by array)", [npz, os.path.join(d, "back.wick")])]
        for label, args in runs:
            kib, wall = peak([a.wick, "convert", "--progress", "never"] + args)
            print(f"{label:45s} peak RSS {kib / 1024:8.1f} MiB  {wall:6.2f} s")
            if args[1] not in (big, pt, npz):
                os.remove(args[1])


if __name__ == "__main__":
    main()
