#!/usr/bin/env python3
"""Loads the files wick wrote with PyTorch and NumPy and checks them against wick's manifests.

    check_outputs.py DIR

DIR/outputs.txt lists one file per line: <name> TAB <how>, where <how> is
  pt          torch.load(weights_only=True)
  pt-floats   the same, or plain torch.load where this torch's weights-only loader cannot read
              Python floats (torch 1.13 has no BINFLOAT there)
  npy / npz   numpy.load(allow_pickle=False)
  safetensors the spec reader in wick_manifest.py
  mlp         <name> is a state dict for the tutorial MLP and <name>.io a .pt of its input x and
              wick's output y: PyTorch's output must match within float rounding
Each file comes with <name>.manifest (wick_manifest.py lines) and optionally <name>.checks:
  shares A B      tensors at paths A and B share one storage
  strides A s,..  the tensor at A has these strides
  metadata K V    (safetensors) the header metadata maps K to V
Prints one line per file and exits non-zero on the first mismatch.
"""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wick_manifest as wm  # noqa: E402


def at(obj, path):
    for part in path.split("/")[1:]:
        obj = obj[int(part)] if isinstance(obj, (list, tuple)) else obj[part]
    return obj


def load_pt(path, floats):
    import torch
    try:
        return torch.load(path, weights_only=True)
    except Exception as e:  # noqa: BLE001
        # torch 1.13's weights-only unpickler lacks BINFLOAT ('G' = 71); the file is ours.
        if floats and "Unsupported operand 71" in str(e):
            return torch.load(path)
        raise


def check_mlp(name, path):
    import torch

    class MLP(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden = torch.nn.Linear(20, 256)
            self.output = torch.nn.Linear(256, 10)

        def forward(self, x):
            return self.output(torch.relu(self.hidden(x)))

    net = MLP()
    net.load_state_dict(torch.load(path, weights_only=True))
    io = torch.load(path + ".io", weights_only=True)
    with torch.no_grad():
        y = net(io["x"])
    if not torch.allclose(y, io["y"], rtol=1e-4, atol=1e-5):
        diff = (y - io["y"]).abs().max().item()
        sys.exit(f"{name}: PyTorch's output differs from wick's by up to {diff}")
    print(f"ok {name}: PyTorch's MLP output matches wick's "
          f"(max diff {(y - io['y']).abs().max().item():.3g})")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    for module in ("numpy", "torch"):
        try:
            __import__(module)
        except ImportError:
            print(f"missing python module {module!r}")
            sys.exit(77)
    with open(os.path.join(out, "outputs.txt"), encoding="utf-8") as f:
        jobs = [line.split("\t") for line in f.read().splitlines() if line]
    for name, how in jobs:
        path = os.path.join(out, name)
        if how == "mlp":
            check_mlp(name, path)
            continue
        metadata = {}
        if how in ("pt", "pt-floats"):
            obj = load_pt(path, how == "pt-floats")
            got = wm.describe(obj)
        elif how in ("npy", "npz"):
            import numpy as np
            obj = np.load(path, allow_pickle=False)
            if how == "npz":
                obj = {k: obj[k] for k in obj.files}
            got = wm.describe(obj)
        elif how == "safetensors":
            obj, metadata = wm.read_safetensors(path)
            got = wm.describe_raw(obj)
        else:
            sys.exit(f"{name}: unknown check {how!r}")
        want = wm.read_manifest(path + ".manifest")
        if got != want:
            for i, (g, w) in enumerate(zip(got, want)):
                if g != w:
                    sys.exit(f"{name}: line {i} differs\n  python: {g[:300]}\n  wick:   {w[:300]}")
            sys.exit(f"{name}: python sees {len(got)} lines, wick wrote {len(want)}")
        checks = path + ".checks"
        if os.path.exists(checks):
            with open(checks, encoding="utf-8") as f:
                for line in f.read().splitlines():
                    kind, a, b = line.split("\t")
                    if kind == "shares":
                        pa, pb = at(obj, a).storage().data_ptr(), at(obj, b).storage().data_ptr()
                        if pa != pb:
                            sys.exit(f"{name}: {a} and {b} do not share storage")
                    elif kind == "strides":
                        want_strides = tuple(int(s) for s in b.split(",") if s)
                        if at(obj, a).stride() != want_strides:
                            sys.exit(f"{name}: {a} has strides {at(obj, a).stride()}, "
                                     f"expected {want_strides}")
                    elif kind == "metadata":
                        if metadata.get(a) != b:
                            sys.exit(f"{name}: metadata {a!r} is {metadata.get(a)!r}, "
                                     f"expected {b!r}")
                    else:
                        sys.exit(f"{name}: unknown check {kind!r}")
        print(f"ok {name}: {len(got)} nodes match ({how})")
    print(f"OK {len(jobs)} files")


if __name__ == "__main__":
    main()
