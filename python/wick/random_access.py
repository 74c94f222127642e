"""Random access to a wick file: list entries from the index, load one tensor by name.

Follows io/FORMAT.md "How readers use this" (random access): the header and trailer, then the
index record, then the record headers from offset 64 to the index (they must tile the file),
and never a payload until a tensor is asked for. The file is mapped privately
(copy-on-write), so tensors are zero-copy views of the mapping and writing to one never
changes the file.
"""

import difflib
import mmap as _mmap
import os
import struct

import numpy as np
import xxhash

from . import format as F
from . import reader as R
from .reader import FormatError


class _Ref:
    """A tensor (tag 6) or view (tag 11) reference in the tree skeleton."""

    __slots__ = ("tag", "id")

    def __init__(self, tag, rid):
        self.tag, self.id = tag, rid


class _PathNode:
    """One step of a tree path; a path is its chain of parents, spelled only when asked
    (FORMAT.md "Tree paths": spelling every path could cost the square of the file)."""

    __slots__ = ("parent", "step")

    def __init__(self, parent, step):
        self.parent, self.step = parent, step

    def steps(self):
        out, node = [], self
        while node is not None:
            out.append(node.step)
            node = node.parent
        return out[::-1]


def pointer(steps):
    """The JSON Pointer (RFC 6901) of a list of steps (str, or int for keys and indices)."""
    return "".join("/" + str(s).replace("~", "~0").replace("/", "~1") for s in steps)


def _pointer_steps(text):
    """The raw steps of a JSON Pointer; KeyError when `text` is not one."""
    if text == "":
        return []
    if not text.startswith("/"):
        raise KeyError(text)
    return [s.replace("~1", "/").replace("~0", "~") for s in text[1:].split("/")]


def _is_decimal(step):
    """Decimal without leading zeros or sign: a list index (FORMAT.md "Tree paths")."""
    return step.isdigit() and step.isascii() and (step == "0" or step[0] != "0")


def _key_of(node, step):
    """The key or index of a container that one pointer step names, or KeyError."""
    if isinstance(node, dict):
        if step in node:
            return step
        try:
            key = int(step)
        except ValueError:
            raise KeyError(step) from None
        if str(key) == step and key in node:
            return key
    elif isinstance(node, (list, tuple)) and _is_decimal(step) and int(step) < len(node):
        return int(step)
    raise KeyError(step)


def _items(node):
    if isinstance(node, dict):
        return node.items()
    if isinstance(node, (list, tuple)):
        return enumerate(node)
    return ()


class Entry:
    """One tensor reference of the tree, as the index describes it (no payload read).

    `path` is the JSON Pointer; `dtype` the FORMAT.md dtype name (bfloat16 included); `shape`
    and, for a view (format 2.1), `strides` in elements (else None); `nbytes` the bytes of its
    elements; `record` the id of the tensor record holding them (tied tensors and views of one
    record share it); `offset` the file offset of that record's payload; `checksum` the
    record payload's XXH3-64; `view` the view id (or None) and `view_offset` its first element
    counted from the record's first.
    """

    __slots__ = ("_path", "dtype", "shape", "strides", "nbytes", "record", "offset",
                 "checksum", "view", "view_offset")

    def __init__(self, path, **fields):
        self._path = path
        for name, value in fields.items():
            setattr(self, name, value)

    @property
    def path(self):
        return pointer(self._path.steps() if self._path else [])

    @property
    def steps(self):
        """The path as its list of steps (str keys, int keys and list indices)."""
        return self._path.steps() if self._path else []

    def __repr__(self):
        view = f", view {self.view} strides {self.strides}" if self.view is not None else ""
        return (f"Entry({self.path!r}, {self.dtype}{list(self.shape)}, record {self.record}"
                f"{view})")


class Reader:
    """Random access to a wick file: `with wick.Reader(path) as r: r.tensor("/model/w")`.

    Opening verifies the header, trailer and index record (checksums included), and that the
    records tile the file from offset 64 to the index, reading record headers only; payloads
    are read when a tensor is asked for. With `mmap=True` (default) tensors are zero-copy
    NumPy arrays over a private map of the file: writable, never written back; with
    `mmap=False` they are copies in owned memory. Arrays stay valid after close(). Refusals
    raise FormatError; a missing name raises KeyError. Mirrors the C++ `io::Reader`.
    """

    def __init__(self, path, *, mmap=True):
        self._mmap, self._map, self._closed = mmap, None, False
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size:
                self._map = _mmap.mmap(f.fileno(), 0, access=_mmap.ACCESS_COPY)
        self.path = os.fspath(path)
        buf = memoryview(self._map if self._map is not None else b"")
        self.version = None
        try:
            self.version = R._read_header(buf, True)
            self._open_index(buf)
        except FormatError as err:
            self.close()
            if self.version is None:
                raise
            raise R._with_version(err, self.version) from None
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------ opening

    def _open_index(self, buf):
        """Trailer, index record, records tiling 64..index, index payload, tree skeleton."""
        if len(buf) < F.HEADER_SIZE + F.TRAILER_SIZE:
            raise FormatError(f"file of {len(buf)} bytes has no room for a trailer", len(buf),
                              "trailer")
        index_at, checksum = R._read_trailer(buf, self.version, True)
        end = len(buf) - F.TRAILER_SIZE
        if index_at % F.ALIGN or not F.HEADER_SIZE <= index_at < end:
            raise FormatError(f"index offset {index_at} is not a record offset in the file",
                              end, "trailer")
        kind, _, h, p, index_end = R._read_prefix(buf, index_at, end)
        if kind != F.KIND_INDEX:
            raise FormatError(f"record kind {kind} where the trailer puts the index",
                              index_at, "trailer")
        R._check_record(buf, index_at, h, p, end, True, "index")
        R._check_index_record(buf, index_at, h, p, index_end, True)
        if checksum != struct.unpack_from("<Q", buf, index_at + 16)[0]:
            raise FormatError("index checksum differs from the index record's", end + 16,
                              "trailer")
        self._records, self._optional = _tile(buf, index_at)
        meta, tree_at, self._checksums, self._views = R._parse_index(
            buf, self._records, index_at, h, p, self.version, True)
        self.metadata = meta
        self.producer = bytes(buf[F.PRODUCER_START:F.PRODUCER_END]).split(b"\0", 1)[0].decode()
        self.file_size = len(buf)
        self._tree_at, self._tree_end = tree_at, index_at + h + p
        cur = R._Cursor(buf, tree_at, self._tree_end, "index")
        self._tree = R._parse_value(cur, self.version, lambda tag, rid, at: _Ref(tag, rid),
                                    len(self._records))

    # ------------------------------------------------------------ file facts

    @property
    def tensor_count(self):
        """Tensor records in the file."""
        return len(self._records)

    @property
    def view_count(self):
        """Rows of the view table (format 2.1)."""
        return len(self._views)

    @property
    def payload_bytes(self):
        """Sum of the tensor payloads."""
        return sum(r[1] for r in self._records)

    # ------------------------------------------------------------ listing

    def entries(self):
        """Every tensor reference in tree order (a tied tensor under each of its paths)."""
        self._check_open()
        out, stack = [], [(self._tree, None)]
        while stack:
            node, path = stack.pop()
            if isinstance(node, _Ref):
                out.append(self._entry(node, path))
                continue
            # Only tensors and containers get a path node: a scalar leaf (a one-byte none)
            # would otherwise cost a node and a stack slot of its own.
            kids = [(child, step) for step, child in _items(node)
                    if isinstance(child, (_Ref, dict, list, tuple))]
            stack.extend((child, _PathNode(path, step)) for child, step in reversed(kids))
        return out

    def _entry(self, ref, path):
        rid, view, offset, strides = ref.id, None, None, None
        if ref.tag == F.TAG_VIEW:
            rid, offset, shape, strides = self._views[ref.id]
            view = ref.id
        _, p, code, sizes, payload_at = self._records[rid]
        shape = tuple(shape) if view is not None else sizes
        name, _, item = F.DTYPES[code]
        return Entry(path, dtype=name, shape=shape, strides=strides and tuple(strides),
                     nbytes=int(np.prod(shape, dtype=object)) * item if view is not None else p,
                     record=rid, offset=payload_at, checksum=self._checksums[rid], view=view,
                     view_offset=offset)

    # ------------------------------------------------------------ lookup

    def _find(self, name, tensors_only=False):
        """(node, steps): the skeleton node a JSON Pointer or a unique dotted name designates,
        and its path as a list of steps. With `tensors_only` a dotted name counts only the
        tensors spelled so, as `Reader::tensor()` does (FORMAT.md "Tree paths")."""
        if name == "" or name.startswith("/"):
            try:
                node, steps = self._tree, []
                for step in _pointer_steps(name):
                    key = _key_of(node, step)
                    node = node[key]
                    steps.append(key)
                return node, steps
            except KeyError:
                raise self._missing(name) from None
        matches = _dotted_matches(self._tree, name, tensors_only)
        if len(matches) > 1:
            raise KeyError(f"{name!r} is ambiguous: it names {pointer(matches[0])!r} and "
                           f"{pointer(matches[1])!r}")
        if not matches:
            raise self._missing(name)
        node = self._tree
        for step in matches[0]:
            node = node[step]
        return node, matches[0]

    def _missing(self, name):
        """KeyError naming `name` and the closest tensor paths (pointer or dotted)."""
        names, budget = [], _SUGGESTION_BYTES
        for e in self.entries()[:_MAX_SUGGESTION_POOL]:
            steps = e.steps
            length = sum(len(str(s)) + 1 for s in steps)
            if length > MAX_SUGGESTED_PATH:
                continue  # a long path is no typo of a name someone typed
            budget -= 2 * length
            if budget < 0:
                break
            names.append(e.path)
            names.append(".".join(str(s) for s in steps))
        close = difflib.get_close_matches(name, names, n=3)
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
        return KeyError(f"no entry {name!r} in {self.path}{hint}")

    def get(self, name, *, verify=True):
        """The node at `name` (JSON Pointer or unique dotted name): a tensor as tensor() gives
        it, a scalar, or a container whose tensors load as value() loads them."""
        self._check_open()
        node, _ = self._find(name)
        return self._materialize(node, verify)

    def entry(self, name):
        """The Entry of the tensor at `name` (as tensor() resolves it), reading no payload."""
        self._check_open()
        node, steps = self._find(name, tensors_only=True)
        if not isinstance(node, _Ref):
            raise KeyError(f"{name!r} names a {type(node).__name__}, not a tensor")
        path = None
        for step in steps:
            path = _PathNode(path, step)
        return self._entry(node, path)

    def tensor(self, name, *, verify=True):
        """The tensor at `name`: a JSON Pointer ("/model/hidden.weight", "" for the root) or
        the dotted spelling of PyTorch's state_dict keys ("model.hidden.weight") when exactly
        one node has it. KeyError when no tensor has it (listing close matches), when the
        dotted name is ambiguous (naming both pointers) or names no tensor. `verify` hashes
        the record's payload in place (for a view: the record it views) and checks bools.
        A dotted name counts only tensors; get() counts every node, as `wick cat` does."""
        self._check_open()
        node, _ = self._find(name, tensors_only=True)
        if not isinstance(node, _Ref):
            raise KeyError(f"{name!r} names a {type(node).__name__}, not a tensor")
        return self._load_ref(node, verify)

    def _load_ref(self, ref, verify):
        if ref.tag == F.TAG_TENSOR:
            return self._owned(self._record(ref.id, verify))
        rid, offset, sizes, strides = self._views[ref.id]
        return self._owned(R._make_view(self._record(rid, verify), offset, sizes, strides))

    def _record(self, rid, verify):
        """Record `rid`'s payload as an array over the mapping, verified in place."""
        at, p, code, sizes, payload_at = self._records[rid]
        dtype = F.DTYPES[code][1]
        if verify:
            with memoryview(self._map)[payload_at:payload_at + p] as data:
                if xxhash.xxh3_64_intdigest(data) != self._checksums[rid]:
                    raise FormatError("payload checksum mismatch (index says "
                                      f"{self._checksums[rid]:#018x})", payload_at,
                                      f"tensor {rid} payload")
            raw = np.frombuffer(self._map, np.uint8, p, payload_at) if p else None
            if code == F.BOOL_CODE and raw is not None and raw.max() > 1:
                raise FormatError("bool element is not 0 or 1",
                                  payload_at + int(np.argmax(raw > 1)), f"tensor {rid} payload")
        if p == 0:
            return np.empty(sizes, dtype)
        return np.frombuffer(self._map, dtype, p // dtype.itemsize, payload_at).reshape(sizes)

    def _owned(self, arr):
        return arr if self._mmap else np.array(arr)

    def _materialize(self, node, verify):
        """A skeleton subtree with its tensors loaded (one array per tensor or view id)."""
        if isinstance(node, _Ref):
            return self._load_ref(node, verify)
        if not isinstance(node, (dict, list, tuple)):
            return node
        whole = self._whole(verify)
        path = _path_to(self._tree, node)
        for step in path:
            whole = whole[step]
        return whole

    def value(self, *, verify=True):
        """The whole value tree, tensors over the mapping (copies with mmap=False); tied
        tensors are one array object, views share memory with their record."""
        self._check_open()
        return self._whole(verify)

    def _whole(self, verify):
        if verify:  # a whole verified load checks the optional records too, so this must
            for at, h, p in self._optional:
                R._check_optional(memoryview(self._map), at, h, p, True)
        buf = memoryview(self._map) if self._mmap else _copy(self._map)
        return R._build(buf, self._records, self._checksums, self._views, self._tree_at,
                        self._tree_end, self.version, verify)

    def verify(self):
        """Check every byte of the file as a verified load does; FormatError on the first
        problem, else None. Hashes the mapping in place."""
        self._check_open()
        buf = memoryview(self._map)
        try:
            R._decode(buf, R._read_header(buf, True), True)
        except FormatError as err:
            raise R._with_version(err, self.version) from None

    # ------------------------------------------------------------ lifetime

    def _check_open(self):
        if self._closed:
            raise ValueError(f"operation on a closed wick.Reader ({self.path})")

    def close(self):
        """Drop the mapping; arrays already returned keep it alive until they go."""
        self._closed = True
        if self._map is not None:
            try:
                self._map.close()
            except BufferError:
                pass  # arrays still view it: it is unmapped when the last one goes
            self._map = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        state = "closed" if self._closed else f"format {self.version[0]}.{self.version[1]}"
        return f"wick.Reader({self.path!r}, {state})"


# What a miss offers difflib, so that its cost stays bounded whatever the file holds.
_MAX_SUGGESTION_POOL = 10000
_SUGGESTION_BYTES = 4 << 20
MAX_SUGGESTED_PATH = 1024


def _copy(mapping):
    """The mapped file in one owned, 64-byte-aligned buffer."""
    buf = R._aligned_buffer(len(mapping))
    buf[:] = np.frombuffer(mapping, np.uint8)
    return memoryview(buf)


def _tile(buf, index_at):
    """Walk the record headers from offset 64 to the index ("How readers use this"): the
    tensor records and whole optional records must tile exactly that span. Returns the tensor
    records (as the whole load has them) and the optional records' (offset, H, P)."""
    records, optional, at = [], [], F.HEADER_SIZE
    while at < index_at:
        kind, flags, h, p, nxt = R._read_prefix(buf, at, index_at)
        s = f"record at {at}"
        R._check_record(buf, at, h, p, index_at, True, s)
        if kind == F.KIND_TENSOR:
            records.append((at, p) + R._read_tensor_record(buf, at, flags, h, p, len(records)))
        elif kind == F.KIND_INDEX:
            raise FormatError("an index record before the one the trailer names", at, s)
        elif flags & F.FLAG_OPTIONAL:
            optional.append((at, h, p))
        else:
            raise FormatError(f"unknown required record kind {kind}", at, s)
        at = nxt
    return records, optional


def _dotted_matches(tree, name, tensors_only=False):
    """Step lists of the nodes (or only the tensors) whose dotted spelling (keys and indices
    joined by ".") is `name`; at most two (two already make it ambiguous). Only containers
    whose key is a prefix of what remains are entered, so a lookup costs at most one pass
    over the tree."""
    matches, stack = [], [(tree, name, None)]
    while stack and len(matches) < 2:
        node, rest, path = stack.pop()
        for key, child in _items(node):
            spelled = str(key)
            if rest == spelled and (isinstance(child, _Ref) or not tensors_only):
                matches.append(_PathNode(path, key).steps())
            elif rest.startswith(spelled + ".") and isinstance(child, (dict, list, tuple)):
                stack.append((child, rest[len(spelled) + 1:], _PathNode(path, key)))
    return matches


def _path_to(tree, target):
    """The steps from the root to the container object `target` of the skeleton."""
    stack = [(tree, None)]
    while stack:
        node, path = stack.pop()
        if node is target:
            return path.steps() if path else []
        stack.extend((child, _PathNode(path, k)) for k, child in _items(node)
                     if isinstance(child, (dict, list, tuple)))
    raise KeyError("node not in the tree")
