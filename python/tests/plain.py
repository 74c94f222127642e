"""The conformance corpus's plain form (tests/conformance/README.md) as Python values.

Reusable: `from_plain(doc, bin)` builds the value tree and metadata a valid file holds, for the
readers' checks here and for the byte-identical-writers check (save the value, compare bytes).
"""

import json
import pathlib
import struct
import sys

import numpy as np
from numpy.lib.stride_tricks import as_strided

CORPUS = pathlib.Path(__file__).resolve().parents[2] / "tests" / "conformance"

# Plain dtype name -> NumPy dtype. NumPy has no bfloat16: wick.load gives its raw bits as uint16
# marked {"wick_dtype": "bfloat16"} (python/README.md), which is what wick.save writes as bf16.
NUMPY_DTYPES = {
    "bool": np.dtype("?"), "uint8": np.dtype("u1"), "int8": np.dtype("i1"),
    "int16": np.dtype("<i2"), "int32": np.dtype("<i4"), "int64": np.dtype("<i8"),
    "float16": np.dtype("<f2"),
    "bfloat16": np.dtype("<u2", metadata={"wick_dtype": "bfloat16"}), "float32": np.dtype("<f4"),
    "float64": np.dtype("<f8"),
}

# Nesting goes to 512 levels, two JSON levels each: more than json's default recursion allows.
sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))


class Case:
    """One corpus file: its name, its JSON document, its .bin bytes and the .wick path."""

    def __init__(self, json_path):
        self.name = json_path.stem
        self.doc = json.loads(json_path.read_text(encoding="utf-8"))
        bin_name = self.doc.get("bin")
        self.bin = (json_path.parent / bin_name).read_bytes() if bin_name else b""
        self.path = json_path.parent / self.doc.get("file", self.name + ".wick")

    def __repr__(self):
        return self.name


def cases(sub):
    """The cases of tests/conformance/<sub> ("valid" or "invalid"), sorted by name."""
    return [Case(p) for p in sorted((CORPUS / sub).glob("*.json"))]


def float_from_bits(text):
    """A plain float: the f64 bits as "0x" + 16 hex digits."""
    return struct.unpack("<d", struct.pack("<Q", int(text, 16)))[0]


def float_bits(x):
    """The plain spelling of a Python float's bits."""
    return f"0x{struct.unpack('<Q', struct.pack('<d', x))[0]:016x}"


def version(doc):
    """The file's (major, minor)."""
    major, minor = doc["version"].split(".")
    return int(major), int(minor)


def storage_bytes(doc, bin_bytes, i):
    """The raw little-endian bytes of storage i, and its plain dtype name."""
    s = doc["storages"][i]
    n = s["elements"] * NUMPY_DTYPES[s["dtype"]].itemsize
    return bin_bytes[s["bin"]:s["bin"] + n], s["dtype"]


def numpy_tensors(doc, bin_bytes):
    """One NumPy array per tensor entry; entries of one storage share one writable buffer."""
    bases = []
    for i in range(len(doc["storages"])):
        raw, name = storage_bytes(doc, bin_bytes, i)
        bases.append(np.frombuffer(bytearray(raw), dtype=NUMPY_DTYPES[name]))
    out = []
    for t in doc["tensors"]:
        base = bases[t["storage"]]
        out.append(as_strided(base[t["offset"]:], shape=t["shape"],
                              strides=[k * base.itemsize for k in t["strides"]]))
    return out


def torch_tensors(doc, bin_bytes):
    """One torch tensor per tensor entry (bfloat16 exact); one storage each storage entry."""
    import torch  # optional: only this function needs it

    dtypes = {"bool": torch.bool, "uint8": torch.uint8, "int8": torch.int8,
              "int16": torch.int16, "int32": torch.int32, "int64": torch.int64,
              "float16": torch.float16, "bfloat16": torch.bfloat16,
              "float32": torch.float32, "float64": torch.float64}
    bases = []
    for i in range(len(doc["storages"])):
        raw, name = storage_bytes(doc, bin_bytes, i)
        if raw:
            bases.append(torch.frombuffer(bytearray(raw), dtype=dtypes[name]))
        else:
            bases.append(torch.empty(0, dtype=dtypes[name]))
    return [torch.as_strided(bases[t["storage"]], t["shape"], t["strides"], t["offset"])
            for t in doc["tensors"]]


def node_value(node, tensors):
    """One plain node -> its Python value (dict keys str or int, order kept)."""
    (kind, x), = node.items()
    if kind == "none":
        return None
    if kind in ("bool", "int", "str"):
        return x
    if kind == "float":
        return float_from_bits(x)
    if kind == "tensor":
        return tensors[x]
    if kind == "list":
        return [node_value(i, tensors) for i in x]
    if kind == "tuple":
        return tuple(node_value(i, tensors) for i in x)
    if kind == "dict":
        return {k: node_value(v, tensors) for k, v in x}
    raise ValueError(f"plain form: unknown node kind {kind!r}")


def from_plain(doc, bin_bytes, *, torch=False):
    """Plain form -> (value, metadata dict, (major, minor)).

    Tensors are NumPy arrays (bfloat16 as its raw uint16 bits, as wick.load gives it) or, with
    torch=True, torch tensors. A tensor entry referenced twice is one object (tied); entries of
    one storage view one buffer (views, format 2.1).
    """
    tensors = (torch_tensors if torch else numpy_tensors)(doc, bin_bytes)
    meta = {k: node_value(v, tensors) for k, v in doc["metadata"]}
    return node_value(doc["value"], tensors), meta, version(doc)
