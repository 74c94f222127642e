"""PyTorch trees to and from .wick files: `wick.torch.save` and `wick.torch.load`.

Tensors cross as NumPy arrays without a float conversion: bfloat16 as its bits (a uint16 view
marked bfloat16), float16 as itself. Sharing is kept both ways: every tensor of one torch
storage becomes a strided view of one NumPy array over that storage, so the writer stores them
as one record and views (format 2.1); on load, every tensor over one record is an `as_strided`
view of one torch tensor made by `torch.from_numpy`, so they share a torch storage again.
"""

import ctypes

import numpy as np
import torch as _torch
from numpy.lib.stride_tricks import as_strided

from . import format as F
from .reader import load_with_metadata as _load_with_metadata
from .tree_path import TreePath
from .writer import ArgumentError, _storage_of
from .writer import save as _save

_TO_NUMPY = {
    _torch.bool: np.dtype("?"), _torch.uint8: np.dtype("u1"), _torch.int8: np.dtype("i1"),
    _torch.int16: np.dtype("<i2"), _torch.int32: np.dtype("<i4"), _torch.int64: np.dtype("<i8"),
    _torch.float16: np.dtype("<f2"), _torch.bfloat16: F.BFLOAT16,
    _torch.float32: np.dtype("<f4"), _torch.float64: np.dtype("<f8"),
}


def _check_shape(t, path):
    """What a reader refuses, checked on the torch shape before NumPy sees it."""
    if t.dim() > F.MAX_RANK:
        raise ArgumentError(f"save: the tensor at '{path}' has rank {t.dim()}; wick holds 32")
    claimed = _TO_NUMPY[t.dtype].itemsize
    for n in t.shape:
        claimed *= max(n, 1)
    if claimed > F.MAX_BYTES:
        raise ArgumentError(f"save: the tensor at '{path}' of shape {tuple(t.shape)} overflows "
                            "2^62 bytes, counting every zero size as 1: readers refuse such shapes")


class _Storages:
    """One uint8 NumPy array per torch storage, and per dtype one typed view of it."""

    def __init__(self):
        self.raw, self.typed, self.keep = {}, {}, []

    def array(self, t, path):
        if t.dtype not in _TO_NUMPY:
            raise TypeError(f"save: the tensor at '{path}' is {t.dtype}, which wick has no dtype "
                            "for (it stores bool, uint8, int8..int64, float16, bfloat16, float32, "
                            "float64)")
        if t.layout is not _torch.strided:
            raise TypeError(f"save: the tensor at '{path}' is {t.layout}; wick stores dense "
                            "tensors (use .to_dense())")
        _check_shape(t, path)
        if t.device.type != "cpu":
            t = t.cpu()  # a copy: a device tensor shares nothing with the others
        if t.is_neg() or t.is_conj():
            t = t.resolve_neg().resolve_conj()
        dtype = _TO_NUMPY[t.dtype]
        storage = t.storage()
        if storage.nbytes() == 0 or t.numel() == 0:
            return np.zeros(tuple(t.shape), dtype)
        key = (storage.data_ptr(), storage.nbytes())
        raw = self.raw.get(key)
        if raw is None:
            buf = (ctypes.c_uint8 * storage.nbytes()).from_address(storage.data_ptr())
            raw = self.raw[key] = np.ctypeslib.as_array(buf)
            self.keep.append(t)  # the storage outlives the arrays over it during the save
        flat = self.typed.get((key, dtype))
        if flat is None:
            usable = raw.size - raw.size % dtype.itemsize
            flat = self.typed[(key, dtype)] = raw[:usable].view(dtype)
        item = dtype.itemsize
        return as_strided(flat[t.storage_offset():], shape=tuple(t.shape),
                          strides=tuple(k * item for k in t.stride()), writeable=False)


def _map_tree(root, leaf, limit):
    """The tree with each non-container value v replaced by leaf(v, path), built with an
    explicit stack (trees nest up to 512 deep). torch.Size is a tuple and stays one."""
    done = []
    stack = []  # [kind, pending (key, value) iterator, built keys, built values, path]

    def open_or_place(v, path):
        if isinstance(v, (dict, list, tuple)):
            if len(stack) > limit:
                raise ArgumentError(f"save: value nests deeper than 512 levels at '{path}'")
            items = iter(v.items()) if isinstance(v, dict) else iter(enumerate(v))
            kind = dict if isinstance(v, dict) else tuple if isinstance(v, tuple) else list
            stack.append([kind, items, [], [], path])
        else:
            (stack[-1][3] if stack else done).append(leaf(v, path))

    open_or_place(root, "")
    while stack:
        kind, items, keys, values, path = stack[-1]
        item = next(items, None)
        if item is None:
            stack.pop()
            built = dict(zip(keys, values)) if kind is dict else kind(values)
            (stack[-1][3] if stack else done).append(built)
            continue
        keys.append(item[0])
        open_or_place(item[1], TreePath(path or None, item[0]))
    return done[0]


def save(obj, path_or_file, *, metadata=None, durable=True, version=None):
    """Save a tree of torch tensors (state_dict, optimizer state, nested containers) as .wick.

    Tensors that share a torch storage stay shared (format 2.1 views); bfloat16 and float16
    are written bit for bit. Dtypes wick lacks (complex, quantized) raise TypeError. Other
    arguments as `wick.save`.
    """
    storages = _Storages()

    def leaf(v, path):
        return storages.array(v, path) if isinstance(v, _torch.Tensor) else v

    tree = _map_tree(obj, leaf, F.MAX_DEPTH)
    _save(tree, path_or_file, metadata=metadata, durable=durable, version=version)


class _Tensors:
    """One torch tensor per loaded array, each a view of one torch tensor per record."""

    def __init__(self):
        self.done, self.roots = {}, {}

    def tensor(self, a):
        t = self.done.get(id(a))
        if t is None:
            t = self.done[id(a)] = self._convert(a)
        return t

    def _convert(self, a):
        root = _storage_of(a)
        base = self.roots.get(id(root))
        if base is None:
            bf16 = a.dtype.metadata and a.dtype.metadata.get("wick_dtype") == "bfloat16"
            flat = root.reshape(-1)
            base = _torch.from_numpy(flat.view(np.int16) if bf16 else flat)
            base = self.roots[id(root)] = (base.view(_torch.bfloat16) if bf16 else base, root)
        item = a.dtype.itemsize
        start = a.__array_interface__["data"][0] - root.__array_interface__["data"][0]
        return base[0].as_strided(a.shape, tuple(k // item for k in a.strides), start // item)


def load_with_metadata(path_or_file, *, verify=True):
    """As `load`, returning (value tree, metadata dict, (major, minor))."""
    value, meta, version = _load_with_metadata(path_or_file, verify=verify)
    tensors = _Tensors()

    def leaf(v, path):
        return tensors.tensor(v) if isinstance(v, np.ndarray) else v

    return _map_tree(value, leaf, F.MAX_DEPTH), meta, version


def load(path_or_file, *, verify=True):
    """Load a .wick file as a tree of torch tensors (bfloat16 restored from its bits).

    Tensors stored as views of one record share one torch storage, as they did when saved.
    """
    return load_with_metadata(path_or_file, verify=verify)[0]
