"""A value tree as text lines, one per node in pre-order, so that C++ and Python can compare
what they read bit for bit. tests/io/interop_testing.h writes the same lines from a wick Value.

    <path> TAB none
    <path> TAB bool TAB True|False
    <path> TAB int TAB <decimal>
    <path> TAB float TAB <hex of the little-endian binary64>
    <path> TAB str TAB <hex of the UTF-8 bytes>
    <path> TAB tensor TAB <dtype> TAB <sizes, comma-separated> TAB <hex of the C-order bytes>
    <path> TAB list TAB <length>
    <path> TAB tuple TAB <length>         (torch.Size too)
    <path> TAB dict TAB <length>          (OrderedDict too)

The root's path is empty; a child's is its parent's path, '/', then its index, its string key,
or 'int:' and its int key.
"""

import struct
import sys

try:
    import numpy as np
except ImportError:  # the safetensors spec reader below needs numpy; describe() does not
    np = None

try:
    import torch
except ImportError:
    torch = None

# PyTorch's dtype names, which are also wick's.
NUMPY_NAMES = {
    "bool": "bool", "uint8": "uint8", "int8": "int8", "int16": "int16", "int32": "int32",
    "int64": "int64", "float16": "float16", "float32": "float32", "float64": "float64",
}


def _torch_bytes(t):
    t = t.detach().contiguous()
    same_size = {1: torch.uint8, 2: torch.int16, 4: torch.int32, 8: torch.int64}[t.element_size()]
    return t.view(same_size).numpy().tobytes()


def describe(obj, path="", out=None):
    """The manifest lines of obj."""
    if out is None:
        out = []
    if obj is None:
        out.append(f"{path}\tnone")
    elif isinstance(obj, bool):
        out.append(f"{path}\tbool\t{obj}")
    elif isinstance(obj, int):
        out.append(f"{path}\tint\t{obj}")
    elif isinstance(obj, float):
        out.append(f"{path}\tfloat\t{struct.pack('<d', obj).hex()}")
    elif isinstance(obj, str):
        out.append(f"{path}\tstr\t{obj.encode('utf-8').hex()}")
    elif torch is not None and isinstance(obj, torch.Tensor):
        name = str(obj.dtype).replace("torch.", "")
        shape = ",".join(str(s) for s in obj.shape)
        out.append(f"{path}\ttensor\t{name}\t{shape}\t{_torch_bytes(obj).hex()}")
    elif np is not None and isinstance(obj, np.ndarray):
        name = NUMPY_NAMES[obj.dtype.name]
        native = np.ascontiguousarray(obj.astype(obj.dtype.newbyteorder("<")))
        shape = ",".join(str(s) for s in obj.shape)
        out.append(f"{path}\ttensor\t{name}\t{shape}\t{native.tobytes().hex()}")
    elif isinstance(obj, (list, tuple)):  # torch.Size is a tuple
        out.append(f"{path}\t{'list' if isinstance(obj, list) else 'tuple'}\t{len(obj)}")
        for i, item in enumerate(obj):
            describe(item, f"{path}/{i}", out)
    elif isinstance(obj, dict):
        out.append(f"{path}\tdict\t{len(obj)}")
        for key, item in obj.items():
            step = key if isinstance(key, str) else f"int:{key}"
            describe(item, f"{path}/{step}", out)
    else:
        raise TypeError(f"{path}: cannot describe {type(obj)}")
    return out


def write_manifest(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(describe(obj)) + "\n")


def read_manifest(path):
    with open(path, encoding="utf-8") as f:
        return f.read().splitlines()


# --- safetensors, per the spec (the safetensors package is not in Debian) --------------------

SAFETENSORS_DTYPES = {
    "BOOL": "bool", "U8": "uint8", "I8": "int8", "I16": "int16", "I32": "int32", "I64": "int64",
    "F16": "float16", "BF16": "bfloat16", "F32": "float32", "F64": "float64",
}
ITEM_SIZE = {"bool": 1, "uint8": 1, "int8": 1, "int16": 2, "int32": 4, "int64": 8,
             "float16": 2, "bfloat16": 2, "float32": 4, "float64": 8}


class RawTensor:
    """A tensor as dtype name, shape and little-endian bytes: how safetensors sees one."""

    def __init__(self, dtype, shape, data):
        self.dtype, self.shape, self.data = dtype, tuple(shape), bytes(data)


def describe_raw(obj, path="", out=None):
    """describe() for dicts of RawTensor."""
    if out is None:
        out = []
    if isinstance(obj, RawTensor):
        shape = ",".join(str(s) for s in obj.shape)
        out.append(f"{path}\ttensor\t{obj.dtype}\t{shape}\t{obj.data.hex()}")
    else:
        out.append(f"{path}\tdict\t{len(obj)}")
        for key, item in obj.items():
            describe_raw(item, f"{path}/{key}", out)
    return out


def read_safetensors(path):
    """(tensors in offset order, metadata), checked as strictly as the spec requires."""
    import json
    with open(path, "rb") as f:
        blob = f.read()
    if len(blob) < 8:
        raise ValueError("shorter than the 8-byte header length")
    (n,) = struct.unpack("<Q", blob[:8])
    if n > 100_000_000 or 8 + n > len(blob):
        raise ValueError(f"bad header length {n}")
    text = blob[8:8 + n].decode("utf-8")
    if not text.startswith("{"):
        raise ValueError("header does not start with '{'")

    def no_duplicates(pairs):
        keys = [k for k, _ in pairs]
        if len(keys) != len(set(keys)):
            raise ValueError(f"duplicate keys in {keys}")
        return dict(pairs)

    header = json.loads(text, object_pairs_hook=no_duplicates)
    metadata = header.pop("__metadata__", {})
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
        raise ValueError("metadata must map strings to strings")
    entries = sorted(header.items(), key=lambda kv: tuple(kv[1]["data_offsets"]))
    data = blob[8 + n:]
    tensors, end = {}, 0
    for name, info in entries:
        begin, stop = info["data_offsets"]
        dtype = SAFETENSORS_DTYPES[info["dtype"]]
        numel = 1
        for s in info["shape"]:
            numel *= s
        if begin != end or stop - begin != numel * ITEM_SIZE[dtype]:
            raise ValueError(f"{name}: bad data_offsets {info['data_offsets']}")
        tensors[name] = RawTensor(dtype, info["shape"], data[begin:stop])
        end = stop
    if end != len(data):
        raise ValueError(f"tensors cover {end} of {len(data)} data bytes")
    return tensors, metadata


def write_safetensors(path, tensors, metadata=None, order=None):
    """Writes a dict of RawTensor per the spec; `order` lists names in header order (default:
    sorted, unlike the data, which follows the dict's order)."""
    import json
    header, offset = {}, 0
    if metadata:
        header["__metadata__"] = metadata
    names = order if order is not None else sorted(tensors)
    offsets = {}
    for name, t in tensors.items():
        offsets[name] = [offset, offset + len(t.data)]
        offset += len(t.data)
    for name in names:
        t = tensors[name]
        header[name] = {"dtype": [k for k, v in SAFETENSORS_DTYPES.items() if v == t.dtype][0],
                        "shape": list(t.shape), "data_offsets": offsets[name]}
    text = json.dumps(header).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for t in tensors.values():
            f.write(t.data)


if __name__ == "__main__":
    sys.exit("a module for make_fixtures.py and check_outputs.py")
