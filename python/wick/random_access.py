"""Random access to a wick file: list entries from the index, load one tensor by name.

Follows io/FORMAT.md "How readers use this" (random access): the header and trailer, then the
index record, then that the records the index lists tile the file from offset 64 to the index
(reading the headers of the optional records between them), and never a payload until a tensor
is asked for. Refusals report what the C++ io::Reader reports, in the order of FORMAT.md "What a
refusal reports", 6 (checked on the conformance corpus). The file is mapped privately
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
from .tree_path import TreePath


class _Ref:
    """A tensor (tag 6) or view (tag 11) reference in the tree skeleton."""

    __slots__ = ("tag", "id")

    def __init__(self, tag, rid):
        self.tag, self.id = tag, rid


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
    records the index lists tile the file from offset 64 to the index with only optional
    records between them (whose headers it reads); a tensor's record header and payload are
    read when it is asked for, and value() and verify() check every byte front to back.
    With `mmap=True` (default) tensors are zero-copy NumPy arrays over a private map of the
    file: writable, never written back; with `mmap=False` they are copies in owned memory.
    Arrays stay valid after close(). Refusals raise FormatError (offset and structure as
    io::Reader reports them); a missing name raises KeyError. Mirrors the C++ `io::Reader`.
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
            _refuse_a_short_file(buf)
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
        """FORMAT.md "What a refusal reports", random access: the trailer, the index record it
        names, the index payload, then that the records the index lists tile the file."""
        index_at = _trailer_at_the_end(buf, self.version)
        p = _index_record_at(buf, index_at)
        meta, tree_at, _, rows, self._views = R._parse_index(buf, index_at, p, self.version)
        self._records = [_record_of_row(row) for row in rows]
        self._checksums = [row[2] for row in rows]
        self.metadata = meta
        # Informational ("File header"): any bytes before its NUL load, shown as UTF-8.
        producer = bytes(buf[F.PRODUCER_START:F.PRODUCER_END]).split(b"\0", 1)[0]
        self.producer = producer.decode("utf-8", "replace")
        self.file_size = len(buf)
        self._tree_at, self._tree_end = tree_at, index_at + F.HEADER_SIZE + p
        # The tree with references in place of tensors: one _Ref per tensor id and view id.
        refs = [_Ref(F.TAG_TENSOR, i) for i in range(len(rows))]
        view_refs = [_Ref(F.TAG_VIEW, i) for i in range(len(self._views))]
        cur = R._Cursor(buf, tree_at, self._tree_end, "index")
        self._tree = R._Builder(refs, view_refs).build(cur)
        _check_records_tile(buf, self._records, index_at, self._name_of)

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
            stack.extend((child, TreePath(path, step)) for child, step in reversed(kids))
        return out

    def _leaves(self):
        """(path, leaf) for every leaf in tree order, path a TreePath (None at the root): a
        tensor as its Entry, anything else (scalar, string, None, empty container) as it is.
        An empty root container is no leaf: the file holds nothing."""
        self._check_open()
        stack = [(self._tree, None)]
        while stack:
            node, path = stack.pop()
            if isinstance(node, _Ref):
                yield path, self._entry(node, path)
            elif isinstance(node, (dict, list, tuple)) and node:
                stack.extend((child, TreePath(path, step))
                             for step, child in reversed(list(_items(node))))
            elif path is not None or not isinstance(node, (dict, list, tuple)):
                yield path, node

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
        node, steps = self._find(name)
        return self._materialize(node, steps, verify)

    def entry(self, name):
        """The Entry of the tensor at `name` (as tensor() resolves it), reading no payload."""
        self._check_open()
        node, steps = self._find(name, tensors_only=True)
        if not isinstance(node, _Ref):
            raise KeyError(f"{name!r} names a {type(node).__name__}, not a tensor")
        path = None
        for step in steps:
            path = TreePath(path, step)
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
        """Record `rid`'s payload as an array over the mapping. Verifying first reads the
        record's header (it must say what the index row says), then checks the payload in
        place: its bool bytes, then its XXH3-64 against the row (as io::Reader does)."""
        at, p, code, sizes, payload_at = self._records[rid]
        dtype = F.DTYPES[code][1]
        if verify:
            buf = memoryview(self._map)
            _record_header_at(buf, self._records[rid], rid, self._name_of)
            with buf[payload_at:payload_at + p] as data:
                if code == F.BOOL_CODE:
                    R._check_bool_bytes(data, payload_at, lambda: self._name_of(rid))
                if xxhash.xxh3_64_intdigest(data) != self._checksums[rid]:
                    raise FormatError("payload checksum mismatch (index says "
                                      f"{self._checksums[rid]:#018x})", at,
                                      f"tensor {self._name_of(rid)}")
        elif code == F.BOOL_CODE and p:
            R._check_bool_bytes(np.frombuffer(self._map, np.uint8, p, payload_at), payload_at,
                                lambda: self._name_of(rid))
        if p == 0:
            return np.empty(sizes, dtype)
        return np.frombuffer(self._map, dtype, p // dtype.itemsize, payload_at).reshape(sizes)

    def _name_of(self, rid):
        """"'<path>'" of the first reference to record `rid` in tree order (through tag 6 or a
        view), as refusals name a tensor ("What a refusal reports"); "#<id>" if none."""
        stack = [(self._tree, None)]
        while stack:
            node, path = stack.pop()
            if isinstance(node, _Ref):
                record = node.id if node.tag == F.TAG_TENSOR else self._views[node.id][0]
                if record == rid:
                    return f"'{pointer(path.steps() if path else [])}'"
                continue
            stack.extend((child, TreePath(path, step))
                         for step, child in reversed(list(_items(node))))
        return f"#{rid}"

    def _owned(self, arr):
        return arr if self._mmap else np.array(arr)

    def _materialize(self, node, steps, verify):
        """A skeleton subtree with its tensors loaded (one array per tensor or view id)."""
        if isinstance(node, _Ref):
            return self._load_ref(node, verify)
        if not isinstance(node, (dict, list, tuple)):
            return node
        whole = self._whole(verify)
        for step in steps:
            whole = whole[step]
        return whole

    def value(self, *, verify=True):
        """The whole value tree, tensors over the mapping (copies with mmap=False); tied
        tensors are one array object, views share memory with their record."""
        self._check_open()
        return self._whole(verify)

    def _whole(self, verify):
        """Verified: the whole file checked front to back as wick.load checks it (what
        io::Reader::value() does too), arrays over `buf`. Unverified: built from the index
        opened, touching only bool payloads (their bytes are checked)."""
        buf = memoryview(self._map) if self._mmap else _copy(self._map)
        if verify:
            return self._decode(buf)[0]
        for rid, (_, p, code, _, payload_at) in enumerate(self._records):
            if code == F.BOOL_CODE and p:
                R._check_bool_bytes(buf[payload_at:payload_at + p], payload_at,
                                    lambda rid=rid: self._name_of(rid))
        return R._assemble(buf, self._records, self._views, self._tree_at, self._tree_end)

    def _decode(self, buf):
        try:
            return R._decode(buf, R._read_header(buf, True), True)
        except FormatError as err:
            raise R._with_version(err, self.version) from None

    def verify(self):
        """Check every byte of the file as a verified load does, front to back (the order of
        FORMAT.md "What a refusal reports"); FormatError on the first problem, else None.
        Hashes the mapping in place."""
        self._check_open()
        self._decode(memoryview(self._map))

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


# FORMAT.md "What a refusal reports", random access. Faults of one structure are named as the
# front-to-back reader names them; faults of agreement between structures name the structure
# that disagrees: the trailer (against the header or the file), the index record header (the
# record the trailer names), the tensor (a record against its row or the file's extent).

MIN_FILE = F.HEADER_SIZE + F.HEADER_SIZE + F.TRAILER_SIZE  # header, index header, trailer


def _refuse_a_short_file(buf):
    """A file too short for a header, an index record header and a trailer: not a wick file
    (at 0) when its first bytes are not the magic, else truncated (at its size)."""
    if len(buf) >= MIN_FILE:
        return
    if len(buf) < len(F.MAGIC) or bytes(buf[:len(F.MAGIC)]) != F.MAGIC:
        raise FormatError(f"not a wick file ({len(buf)} bytes, bad magic)", 0, "file header")
    raise FormatError(f"truncated: {len(buf)} bytes is less than the minimum {MIN_FILE}",
                      len(buf), "trailer")


def _trailer_at_the_end(buf, version):
    """The file's last 64 bytes: the trailer's own checks, then its version and file size
    against the header and the file, and an index offset that leaves room for an index record
    header before it. Returns the index offset."""
    at = len(buf) - F.TRAILER_SIZE
    index_at, size, _, found = R._decode_trailer(buf, at, True)
    if found != version:
        raise FormatError(f"the trailer says version {R._version_text(found)} but the header "
                          f"says {R._version_text(version)}", at, "trailer")
    if size != len(buf):
        raise FormatError(f"the trailer says the file is {size} bytes but it is {len(buf)} "
                          "(truncated or appended to)", at, "trailer")
    if index_at % F.ALIGN or index_at < F.HEADER_SIZE or index_at > at - F.HEADER_SIZE:
        raise FormatError(f"index offset {index_at} is outside the file", at, "trailer")
    return index_at


def _index_record_at(buf, at):
    """The record the trailer names: its header checksum, its prefix, that it is an index
    record whose checksum the trailer repeats, its reserved bytes, a payload that ends where
    the trailer starts, the payload's checksum. Returns the payload size."""
    R._check_header_checksum(buf, at, F.HEADER_SIZE, "index record header")
    kind, flags, h, p = R._decode_prefix(buf, at)
    stored = struct.unpack_from("<Q", buf, at + 16)[0]
    trailer_at = len(buf) - F.TRAILER_SIZE
    trailer_checksum = struct.unpack_from("<Q", buf, trailer_at + 16)[0]
    if kind != F.KIND_INDEX or h != F.HEADER_SIZE or flags or stored != trailer_checksum:
        raise FormatError("the trailer does not point at an index record", at,
                          "index record header")
    R._check_index_reserved(buf, at)
    payload_at = at + h
    if p > trailer_at - payload_at or payload_at + p + F.pad64(p) != trailer_at:
        raise FormatError(f"index payload of {p} bytes does not end where the trailer starts",
                          at + 8, "index record header")
    if R._xxh3(buf[payload_at:payload_at + p]) != stored:
        raise FormatError("index payload checksum mismatch", payload_at, "index")
    return p


def _record_of_row(row):
    """A tensor table row as the whole load has a record: (offset, P, code, sizes, payload)."""
    offset, p, _, code, sizes = row
    return offset, p, code, sizes, offset + F.tensor_header_size(len(sizes))


def _record_extent(record):
    """Bytes from a record's start to the next record's: header, payload, padding."""
    _, p, _, sizes, _ = record
    return F.tensor_header_size(len(sizes)) + p + F.pad64(p)


def _check_records_tile(buf, records, index_at, name_of):
    """FORMAT.md "How readers use this": the records the index lists, in order, and optional
    records between them fill offset 64 to the index exactly, so no bytes there can hold
    another file's records. Reads only the headers of the records in the gaps."""
    at = F.HEADER_SIZE
    for i, record in enumerate(records):
        start, p = record[0], record[1]
        if start < at or start > index_at or _record_extent(record) > index_at - start:
            raise FormatError(f"tensor {name_of(i)}: record ({p} payload bytes) overlaps "
                              "another record or lies outside the data", start,
                              f"tensor {name_of(i)}")
        _skip_optional_records(buf, at, start, records, i, name_of)
        at = start + _record_extent(record)
    _skip_optional_records(buf, at, index_at, records, len(records), name_of)


def _skip_optional_records(buf, at, until, records, following, name_of):
    """Optional records from `at` to `until` (where record `following` starts): each header's
    prefix, kind, flags, extent and checksum ("Records")."""
    while at < until:
        try:
            kind, flags, h, p = R._decode_prefix(buf, at)
        except FormatError:
            # Not a record at all: most likely the record before is not the size its row says.
            if following:
                _record_header_at(buf, records[following - 1], following - 1, name_of)
            raise
        s = R._record_header_name(kind)
        if kind in (F.KIND_TENSOR, F.KIND_INDEX):
            what = "tensor" if kind == F.KIND_TENSOR else "second index"
            raise FormatError(f"a {what} record that the index does not list (only optional "
                              "records may lie between the records it lists)", at, s)
        if not flags & F.FLAG_OPTIONAL:
            raise FormatError(f"unknown required record kind {kind}", at, "record header")
        if h + p + F.pad64(p) > until - at:
            raise FormatError(f"optional record of {p} payload bytes runs past the next "
                              f"record, at {until}", at, s)
        R._check_header_checksum(buf, at, h, s)
        at += h + p + F.pad64(p)


def _record_header_at(buf, record, rid, name_of):
    """Tensor record `rid`'s header, read at the offset its row gives: every rule of "Kind 1:
    tensor" in the front-to-back order (the prefix, then the checksum, the kind, the rest),
    and then that it says what the row says (id, dtype, sizes)."""
    at, _, code, sizes, _ = record
    s = "tensor record header"
    R._read_exact(buf, at, F.tensor_header_size(len(sizes)), s)
    kind, flags, h, p = R._decode_prefix(buf, at)
    R._read_exact(buf, at, h, s)
    R._check_header_checksum(buf, at, h, s)
    if kind != F.KIND_TENSOR:
        raise FormatError(f"record kind {kind}, expected {F.KIND_TENSOR}", at, s)
    tid, found_code, found_sizes = R._tensor_header(buf, at, flags, h, p, False)
    if (tid, found_code, found_sizes) != (rid, code, sizes):
        raise FormatError(f"tensor {name_of(rid)}: the record (id {tid}, "
                          f"{F.DTYPES[found_code][0]} {list(found_sizes)}) disagrees with the "
                          "index", at, f"tensor {name_of(rid)}")


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
                matches.append(TreePath(path, key).steps())
            elif rest.startswith(spelled + ".") and isinstance(child, (dict, list, tuple)):
                stack.append((child, rest[len(spelled) + 1:], TreePath(path, key)))
    return matches
