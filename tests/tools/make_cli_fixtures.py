"""Real torch/NumPy-written files for the CLI tests (tests/tools/test_formats.cpp).

    make_cli_fixtures.py OUT_DIR

Writes ckpt.pt (torch.save of a checkpoint with tensors, an int, a string, a list holding None),
a.npy, arrs.npz, model.safetensors (written per the safetensors spec with NumPy and json, so the
safetensors package is not needed) and obj.npy (an object array, which needs pickle).
"""
import json
import os
import struct
import sys

import numpy as np
import torch


def main(out):
    torch.manual_seed(0)
    ckpt = {"model": {"hidden.weight": torch.arange(6, dtype=torch.float32).reshape(2, 3),
                      "hidden.bias": torch.tensor([0.5, -0.5])},
            "epoch": 7,
            "meta": {"name": "demo"},
            "history": [1.5, None]}
    torch.save(ckpt, os.path.join(out, "ckpt.pt"))
    np.save(os.path.join(out, "a.npy"), np.arange(12, dtype=np.int64).reshape(3, 4))
    np.savez(os.path.join(out, "arrs.npz"), w=np.ones((2, 2), np.float32),
             b=np.array([1, 2], np.int32))
    np.save(os.path.join(out, "obj.npy"), np.array([{"a": 1}], dtype=object), allow_pickle=True)
    w = np.arange(4, dtype=np.float32)
    header = {"__metadata__": {"source": "test"},
              "w": {"dtype": "F32", "shape": [4], "data_offsets": [0, w.nbytes]}}
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(os.path.join(out, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + w.tobytes())


if __name__ == "__main__":
    main(sys.argv[1])
