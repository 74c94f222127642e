"""Encoding of wick files: `save()` writes the bytes the C++ writer writes (io/FORMAT.md "Writers").

A save runs in two phases. The first walks the value tree once, refuses anything a reader would
refuse, plans which tensors share a record (2.1 views), and encodes the whole index except the
payload checksums; nothing has touched the target yet. The second streams header, records,
index and trailer in order, never seeking, hashing each payload chunk as it is written.
"""

import contextlib
import errno
import fcntl
import os
import secrets
import stat
import struct

import numpy as np
import xxhash

from . import format as F
from .tree_path import TreePath

# Payload bytes per write: hashed, then written while still in cache.
CHUNK = 1 << 20
# Small pieces (headers, padding, small payloads) are gathered up to this before a write.
BUFFER = 1 << 20
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
U32_MAX = 2**32 - 1


class ArgumentError(ValueError):
    """A value of a supported type that the format cannot hold (a reader would refuse it)."""


# ---------------------------------------------------------------- dtypes and tensors

_CODE_OF = {("b", 1): 0, ("u", 1): 1, ("i", 1): 2, ("i", 2): 3, ("i", 4): 4, ("i", 8): 5,
            ("f", 2): 6, ("f", 4): 8, ("f", 8): 9}


def bfloat16_bits(array):
    """Mark a uint16 (or int16) array of bfloat16 bit patterns as bfloat16 for `save()`.

    Returns a view with the marked dtype (`format.BFLOAT16`), sharing memory with `array`.
    """
    a = np.asarray(array)
    if a.dtype.kind not in "ui" or a.dtype.itemsize != 2:
        raise TypeError(f"bfloat16_bits: expected a 16-bit integer array, got {a.dtype}")
    if a.dtype.byteorder == ">":
        a = a.astype(a.dtype.newbyteorder("<"))
    return a.view(F.BFLOAT16)


def dtype_code(dtype):
    """The wick dtype code of a NumPy dtype, or TypeError when the format has none."""
    if dtype.metadata and dtype.metadata.get("wick_dtype") == "bfloat16" and dtype.itemsize == 2 \
            and dtype.kind in "ui":
        return F.BFLOAT16_CODE
    code = _CODE_OF.get((dtype.kind, dtype.itemsize))
    if code is None or dtype.fields is not None or dtype.subdtype is not None:
        hint = " (mark bfloat16 bits with wick.bfloat16_bits)" if dtype == np.uint16 else ""
        raise TypeError(f"save: dtype {dtype} has no wick dtype{hint}; wick stores bool, uint8, "
                        "int8..int64, float16, bfloat16, float32, float64")
    return code


def _storage_of(a):
    """The outermost ndarray of a's base chain (through as_strided's DummyArray): its storage."""
    root, obj = a, a.base
    while obj is not None:
        if isinstance(obj, np.ndarray):
            root = obj
        elif not hasattr(obj, "__array_interface__"):
            break
        obj = getattr(obj, "base", None)
    return root


class _Tensor:
    """One array met in the tree: its storage, code and layout in elements (None: a copy)."""

    __slots__ = ("array", "code", "storage", "offset", "shape", "strides", "key", "numel",
                 "nbytes")

    def __init__(self, array, code):
        self.array, self.code = array, code
        root = _storage_of(array)
        self.storage = root
        item = array.dtype.itemsize
        start = root.__array_interface__["data"][0]
        byte_offset = array.__array_interface__["data"][0] - start
        self.shape = array.shape
        self.numel = int(np.prod(self.shape, dtype=object)) if self.shape else 1
        self.nbytes = self.numel * item
        # The writer's "already written" key: storage, dtype, shape, strides and offset.
        self.key = (id(root), byte_offset, code, self.shape, array.strides)
        whole = byte_offset >= 0 and byte_offset % item == 0 and \
            all(s >= 0 and s % item == 0 for s in array.strides) and array.dtype.byteorder != ">"
        self.offset = byte_offset // item if whole else None
        self.strides = tuple(s // item for s in array.strides) if whole else None

    def layout(self):
        """Offset, sizes and strides with those of size-1 dimensions cleared (FORMAT.md part 4)."""
        return self.offset, self.shape, tuple(0 if n == 1 else k
                                              for n, k in zip(self.shape, self.strides))

    def span(self):
        """[first, end) of the storage elements reached, or None past 2^63 (element_span)."""
        last = self.offset
        for n, k in zip(self.shape, self.strides):
            last += (n - 1) * k
            if last >= F.MAX_U63:
                return None
        return self.offset, last + 1

    def shareable(self):
        """A view row can describe it: elements, whole strides, no element reached twice."""
        if self.offset is None or self.numel == 0 or self.span() is None:
            return False
        reach = 0
        for n, k in sorted(((n, k) for n, k in zip(self.shape, self.strides) if n > 1),
                           key=lambda d: d[1]):
            if k <= reach:
                return False
            reach += k * (n - 1)
        return True


def _is_row_major(shape, strides):
    expect = 1
    for n, k in zip(reversed(shape), reversed(strides)):
        if n != 1 and k != expect:
            return False
        expect *= n
    return True


def _check_array(a, path):
    """Refuse what a reader refuses: rank, the 2^62 rule, bool bytes other than 0 and 1."""
    code = dtype_code(a.dtype)
    if a.ndim > F.MAX_RANK:
        raise ArgumentError(f"save: the tensor at '{path}' has rank {a.ndim}; wick holds 32")
    claimed = F.DTYPES[code][2]
    for n in a.shape:
        claimed *= max(n, 1)
    if claimed > F.MAX_BYTES:
        raise ArgumentError(f"save: the tensor at '{path}' of shape {a.shape} overflows 2^62 "
                            "bytes, counting every zero size as 1: readers refuse such shapes")
    if code == F.BOOL_CODE and a.size and np.any(a.view(np.uint8) > 1):
        raise ArgumentError(f"save: the bool tensor at '{path}' holds bytes other than 0 and 1")
    return code


# ---------------------------------------------------------------- views (2.1)


class _Group:
    """Tensors of one storage and dtype stored as one record ([first, end) of the storage)."""

    def __init__(self, members):
        spans = [m.span() for m in members]
        self.first = min(s[0] for s in spans)
        self.end = max(s[1] for s in spans)
        self.record = next((m for m in members if m.offset == self.first
                            and m.numel == self.end - self.first
                            and _is_row_major(m.shape, m.strides)), None)
        if self.record is None:  # the run itself, one-dimensional
            self.record = _run_tensor(members[0], self.first, self.end)
        self.record_id = None

    def is_record_layout(self, t):
        return t.shape == self.record.shape and t.offset == self.first and \
            _is_row_major(t.shape, t.strides)


def _run_tensor(member, first, end):
    """A 1-d tensor over storage elements [first, end) of member's storage."""
    item = member.array.dtype.itemsize
    base = member.array
    start = base.__array_interface__["data"][0] + (first - member.offset) * item
    run = np.lib.stride_tricks.as_strided(base, shape=(end - first,), strides=(item,))
    # as_strided starts at base's first element; move the start by the interface's pointer.
    iface = dict(run.__array_interface__, data=(start, False))
    holder = _Holder(iface, base)
    arr = np.asarray(holder)
    t = _Tensor.__new__(_Tensor)
    t.array, t.code, t.storage = arr, member.code, member.storage
    t.offset, t.shape, t.strides = first, (end - first,), (1,)
    t.numel, t.nbytes = end - first, (end - first) * item
    t.key = (id(member.storage), first * item, member.code, t.shape, (item,))
    return t


class _Holder:
    """Exposes an array interface while keeping the memory's owner alive."""

    def __init__(self, interface, owner):
        self.__array_interface__ = interface
        self.base = owner


def _plan_views(tensors):
    """FORMAT.md "Writers", views: {id(storage), code} -> _Group for the shared storages."""
    count = {}
    for t in tensors:
        count[id(t.storage)] = count.get(id(t.storage), 0) + 1
    runs = {}
    for t in tensors:
        if count[id(t.storage)] > 1 and t.shareable():
            runs.setdefault((id(t.storage), t.code), []).append(t)
    groups = {}
    for key, members in runs.items():
        if any(m.layout() != members[0].layout() for m in members):
            groups[key] = _Group(members)
    return groups


# ---------------------------------------------------------------- the value tree


def _key_text(key, path):
    """A string key's UTF-8 bytes, refusing NUL and what UTF-8 cannot encode."""
    raw = _utf8(key, _Text(lambda: f"dict key at '{path}'"))
    if b"\0" in raw:
        raise ArgumentError(f"save: dict key at '{path}' contains a NUL byte")
    return raw


def _utf8(s, what):
    try:
        raw = s.encode("utf-8")
    except UnicodeEncodeError as e:
        raise ArgumentError(f"save: {what} is not encodable as UTF-8 ({e.reason})") from None
    if len(raw) > U32_MAX:
        raise ArgumentError(f"save: {what} is longer than 2^32-1 bytes")
    return raw


def _int(v, what):
    v = int(v)
    if not INT64_MIN <= v <= INT64_MAX:
        raise ArgumentError(f"save: {what} {v} is outside int64")
    return v


def _encode_scalar(out, v, what):
    """Tags 0 to 5 into `out`; False when v is not a scalar."""
    if v is None:
        out.append(F.TAG_NONE)
    elif isinstance(v, (bool, np.bool_)):
        out.append(F.TAG_TRUE if v else F.TAG_FALSE)
    elif isinstance(v, (int, np.integer)):
        out += struct.pack("<Bq", F.TAG_INT, _int(v, what))
    elif isinstance(v, (float, np.floating)):
        out += struct.pack("<Bd", F.TAG_FLOAT, float(v))
    elif isinstance(v, str):
        raw = _utf8(v, what)
        out += struct.pack("<BI", F.TAG_STRING, len(raw))
        out += raw
    else:
        return False
    return True


def _is_int_key(k):
    return isinstance(k, (int, np.integer)) and not isinstance(k, (bool, np.bool_))


def _dict_tag(d, path):
    """Tag 8 when every key is a string, tag 10 when one is an int (FORMAT.md "Values")."""
    has_int = False
    for k in d:
        if _is_int_key(k):
            has_int = True
        elif not isinstance(k, str):
            raise TypeError(f"save: the dict at '{path}' has a key of type {type(k).__name__}; "
                            "keys are str or int")
    if not has_int:
        return F.TAG_DICT
    for k in d:
        if isinstance(k, str):
            try:
                twin = int(k)
            except ValueError:
                continue
            if str(twin) == k and twin in d:
                raise ArgumentError(f"save: the dict at '{path}' has both the int key {twin} and "
                                    f"the string key '{k}', which a path cannot tell apart")
    return F.TAG_INT_DICT


class _Text:
    """A message part built only when printed (refusals are rare, values many)."""

    __slots__ = ("make",)

    def __init__(self, make):
        self.make = make

    def __str__(self):
        return self.make()


def _child(path, step):
    return TreePath(path or None, step)


class _Tree:
    """Phase one: the value tree walked once, as index bytes with a slot for each tensor."""

    def __init__(self):
        self.parts = []  # bytes of the tree, and _Tensor objects where a tensor id goes
        self.tensors = []
        self.needs_2_0 = False

    def walk(self, root):
        out = bytearray()
        stack = [(iter([(None, root)]), "", None)]  # (items, path, dict tag)
        while stack:
            items, path, dict_tag = stack[-1]
            item = next(items, None)
            if item is None:
                stack.pop()
                continue
            key, value = item
            here = path
            if dict_tag is not None:
                here = _child(path, key)
                if _is_int_key(key):
                    out += struct.pack("<Bq", F.TAG_INT,
                                       _int(key, _Text(lambda: f"dict key at '{here}'")))
                else:
                    raw = _key_text(key, here)
                    if dict_tag == F.TAG_INT_DICT:
                        out.append(F.TAG_STRING)
                    out += struct.pack("<I", len(raw)) + raw
            elif key is not None:
                here = _child(path, key)
            opened = self._value(out, value, here, len(stack) - 1)
            if opened is not None:
                stack.append(opened)
        self.parts.append(bytes(out))

    def _value(self, out, v, path, depth):
        """Encode v; for a container return its (items, path, dict tag) frame."""
        if _encode_scalar(out, v, _Text(lambda: f"the value at '{path}'")):
            return None
        if isinstance(v, np.ndarray):
            t = _Tensor(v, _check_array(v, path))
            self.parts.append(bytes(out))
            out.clear()
            self.parts.append(t)
            self.tensors.append(t)
            return None
        if isinstance(v, (list, tuple, dict)):
            if depth >= F.MAX_DEPTH:
                raise ArgumentError(f"save: value nests deeper than 512 levels at '{path}'")
            if len(v) > U32_MAX:
                raise ArgumentError(f"save: container at '{path}' has more than 2^32-1 items")
            if isinstance(v, dict):
                tag = _dict_tag(v, path)
                out += struct.pack("<BI", tag, len(v))
                self.needs_2_0 |= tag == F.TAG_INT_DICT
                return iter(list(v.items())), path, tag
            tag = F.TAG_TUPLE if isinstance(v, tuple) else F.TAG_LIST
            self.needs_2_0 |= tag == F.TAG_TUPLE
            out += struct.pack("<BI", tag, len(v))
            return iter(list(enumerate(v))), path, None
        raise TypeError(f"save: the value at '{path}' is a {type(v).__name__}; wick holds dict, "
                        "list, tuple, int, float, str, bool, None and NumPy arrays")


def _encode_metadata(metadata):
    """Index part 1: u32 count, then non-empty NUL-free string keys with scalar values."""
    out = bytearray(struct.pack("<I", len(metadata or {})))
    for k, v in (metadata or {}).items():
        if not isinstance(k, str):
            raise TypeError(f"save: metadata key {k!r} is a {type(k).__name__}; keys are str")
        raw = _utf8(k, f"metadata key {k!r}")
        if not raw or b"\0" in raw:
            raise ArgumentError(f"save: metadata key {k!r} must be non-empty and contain no NUL")
        out += struct.pack("<I", len(raw)) + raw
        if not _encode_scalar(out, v, f"metadata '{k}'"):
            raise TypeError(f"save: metadata '{k}' is a {type(v).__name__}; metadata values are "
                            "None, bool, int, float or str")
    return bytes(out)


# ---------------------------------------------------------------- layout of the file


class _Layout:
    """Phase one, continued: records in file order, tree bytes with ids, the view table."""

    def __init__(self, tree, groups, views_on):
        self.records = []  # (_Tensor, record offset)
        self.seen = {}
        self.views, self.view_ids = [], {}
        self.pos = F.HEADER_SIZE
        self.groups = groups
        encoded = bytearray()
        for part in tree.parts:
            if isinstance(part, _Tensor):
                encoded += self._tensor_ref(part)
            else:
                encoded += part
        self.tree = bytes(encoded)
        self.views_on = views_on

    def _write_record(self, t):
        """The id of t's record, a new one placed at the current offset unless already there."""
        rid = self.seen.get(t.key)
        if rid is not None:
            return rid
        if len(self.records) >= U32_MAX:
            raise ArgumentError("save: more than 2^32-1 tensors")
        rid = len(self.records)
        self.records.append((t, self.pos))
        self.pos += F.tensor_header_size(len(t.shape)) + t.nbytes + F.pad64(t.nbytes)
        self.seen[t.key] = rid
        return rid

    def _tensor_ref(self, t):
        g = self.groups.get((id(t.storage), t.code)) if t.shareable() else None
        if g is None:
            return struct.pack("<BI", F.TAG_TENSOR, self._write_record(t))
        if g.record_id is None:
            g.record_id = self._write_record(g.record)
        if g.is_record_layout(t):
            return struct.pack("<BI", F.TAG_TENSOR, g.record_id)
        layout = (g.record_id,) + t.layout()
        vid = self.view_ids.get(layout)
        if vid is None:
            vid = self.view_ids[layout] = len(self.views)
            self.views.append(struct.pack(f"<IQB{len(t.shape)}Q{len(t.shape)}Q", g.record_id,
                                          t.offset - g.first, len(t.shape), *t.shape, *t.strides))
        return struct.pack("<BI", F.TAG_VIEW, vid)


# ---------------------------------------------------------------- atomic save to a path

_TEMP_MARK = ".wick-tmp-"
_TEMP_CHARS = "0123456789abcdefghijklmnopqrstuvwxyz"


def _is_temp_of(name, prefix):
    """`prefix` + 12 characters of [0-9a-z] (FORMAT.md "Writers", temporary names)."""
    tail = name[len(prefix):]
    return name.startswith(prefix) and len(tail) == 12 and all(c in _TEMP_CHARS for c in tail)


def _remove_if_dead(path):
    """Remove a temp file whose lock can be taken (its save is dead); leave all else alone."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return
    try:
        opened = os.fstat(fd)
        if not stat.S_ISREG(opened.st_mode):
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return  # a live save holds it, or no flock here: never removed
        named = os.lstat(path)
        if (named.st_dev, named.st_ino) == (opened.st_dev, opened.st_ino):
            os.unlink(path)  # still the file we locked, so a reused name is left alone
    except OSError:
        pass
    finally:
        os.close(fd)


def _remove_stale_temps(directory, prefix):
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        if _is_temp_of(name, prefix):
            _remove_if_dead(os.path.join(directory, name))


def _create_locked_temp(directory, prefix):
    """A new temp file, exclusively flocked; a name a cleaner removed before the lock is retried."""
    for _ in range(100):
        temp = os.path.join(directory, prefix + "".join(secrets.choice(_TEMP_CHARS)
                                                        for _ in range(12)))
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
        except FileExistsError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except OSError as e:
            if e.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL):
                os.close(fd)
                raise
        try:
            opened, named = os.fstat(fd), os.lstat(temp)
            if (opened.st_dev, opened.st_ino) == (named.st_dev, named.st_ino):
                return fd, temp
        except FileNotFoundError:
            pass
        os.close(fd)
    raise OSError(f"save: 100 random temporary names in {directory} were all taken")


def _fsync_directory(directory):
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_target(path, durable):
    """A binary file that replaces `path` atomically when the block ends without an error.

    The named temporary file scheme of FORMAT.md "Writers": `.<name>.wick-tmp-` + 12 of
    [0-9a-z] beside the target, flocked from creation until the rename or removal; the
    temporary files of dead saves (lock free, regular files) are removed first.
    """
    directory, name = os.path.split(os.path.abspath(path))
    if os.path.isdir(path):
        raise IsADirectoryError(f"save: {path} is a directory")
    prefix = f".{name}{_TEMP_MARK}"
    _remove_stale_temps(directory, prefix)
    fd, temp = _create_locked_temp(directory, prefix)
    committed = False
    try:
        with open(fd, "wb", buffering=0, closefd=False) as f:
            yield f
        if durable:
            os.fsync(fd)
        try:
            os.fchmod(fd, stat.S_IMODE(os.stat(path).st_mode))  # keep the target's bits
        except FileNotFoundError:
            pass
        os.replace(temp, path)
        committed = True
        if durable:
            _fsync_directory(directory)
    finally:
        if not committed:
            with contextlib.suppress(OSError):
                os.unlink(temp)  # while still holding the lock, so no cleaner races for it
        os.close(fd)


# ---------------------------------------------------------------- phase two: the bytes


class _Out:
    """Ordered writes to a binary file object: small pieces gathered, large ones passed through."""

    def __init__(self, f):
        self.f, self.buf, self.pos = f, bytearray(), 0

    def put(self, data):
        self.buf += data
        self.pos += len(data)
        if len(self.buf) >= BUFFER:
            self.flush()

    def put_direct(self, mv):
        self.flush()
        self._write(mv)
        self.pos += len(mv)

    def flush(self):
        if self.buf:
            self._write(self.buf)
            self.buf = bytearray()

    def _write(self, data):
        mv = memoryview(data)
        while len(mv):
            n = self.f.write(mv)
            if n is None:  # a non-blocking raw stream with no room: wait is not ours to do
                raise BlockingIOError("save: the output would block")
            mv = mv[n:]


def _byte_chunks(a):
    """a's bytes in row-major order, as contiguous little-endian chunks of at most CHUNK bytes."""
    if a.flags.c_contiguous and a.dtype.byteorder != ">":
        flat = a.reshape(-1).view(np.uint8)
        mv = memoryview(flat)
        for i in range(0, len(mv), CHUNK):
            yield mv[i:i + CHUNK]
        return
    if a.ndim == 0 or a.nbytes <= CHUNK:
        yield memoryview(_little(np.ascontiguousarray(a)).reshape(-1).view(np.uint8))
        return
    row = a.nbytes // a.shape[0]
    rows = max(1, CHUNK // max(row, 1))
    for r in range(0, a.shape[0], rows):
        yield from _byte_chunks(a[r] if rows == 1 else a[r:r + rows])


def _little(a):
    return a.astype(a.dtype.newbyteorder("<")) if a.dtype.byteorder == ">" else a


def _record_header(rid, t, payload):
    rank = len(t.shape)
    h = F.tensor_header_size(rank)
    head = struct.pack(f"<IHHQIBBH{rank}Q", F.KIND_TENSOR, 0, h, payload, rid, t.code, rank, 0,
                       *t.shape)
    head += bytes(h - 8 - len(head))
    return head + struct.pack("<Q", xxhash.xxh3_64_intdigest(head))


def _file_header(version):
    head = F.MAGIC + struct.pack("<HH", *version) + F.BYTE_ORDER_MARK + \
        struct.pack("<II", F.HEADER_SIZE, 0) + F.PRODUCER.ljust(32, b"\0")
    return head + struct.pack("<Q", xxhash.xxh3_64_intdigest(head))


def _write_payload(out, t):
    """Stream one payload, hashing each chunk right before writing it; return the checksum."""
    h = xxhash.xxh3_64()
    if t.nbytes:
        for chunk in _byte_chunks(t.array):
            h.update(chunk)
            if len(chunk) >= 65536:
                out.put_direct(chunk)
            else:
                out.put(chunk)
    out.put(bytes(F.pad64(t.nbytes)))
    return h.intdigest()


def _write_file(f, layout, meta, version):
    out = _Out(f)
    out.put(_file_header(version))
    rows = []
    for rid, (t, at) in enumerate(layout.records):
        assert out.pos == at
        out.put(_record_header(rid, t, t.nbytes))
        checksum = _write_payload(out, t)
        rank = len(t.shape)
        rows.append(struct.pack(f"<QQQBB{rank}Q", at, t.nbytes, checksum, t.code, rank, *t.shape))
    payload = meta + layout.tree + struct.pack("<I", len(rows)) + b"".join(rows)
    if layout.views_on:
        payload += struct.pack("<I", len(layout.views)) + b"".join(layout.views)
    checksum = xxhash.xxh3_64_intdigest(payload)
    index_at = out.pos
    head = struct.pack("<IHHQQ32x", F.KIND_INDEX, 0, F.ALIGN, len(payload), checksum)
    out.put(head + struct.pack("<Q", xxhash.xxh3_64_intdigest(head)))
    out.put(payload)
    out.put(bytes(F.pad64(len(payload))))
    trailer = struct.pack("<QQQHH20x", index_at, out.pos + F.TRAILER_SIZE, checksum, *version)
    out.put(trailer + struct.pack("<Q", xxhash.xxh3_64_intdigest(trailer)) + F.END_MAGIC)
    out.flush()


# The versions this writer writes ("Version history"); the oldest that holds a value is chosen.
WRITABLE_VERSIONS = ((1, 0), (2, 0), (2, 1))


def _chosen_version(asked, tree, groups):
    """The version to write: the oldest that holds the value, or the one asked for, which must
    hold it (FORMAT.md "Writers": a forced 2.0 stores shared tensors as copies, as does 1.0)."""
    if asked is None:
        return (2, 1) if groups else (2, 0) if tree.needs_2_0 else (1, 0)
    asked = tuple(asked)
    if asked not in WRITABLE_VERSIONS:
        raise ArgumentError(f"save: cannot write format version {asked}; this writer writes "
                            + ", ".join(f"{a}.{b}" for a, b in WRITABLE_VERSIONS))
    if tree.needs_2_0 and asked < (2, 0):
        raise ArgumentError(f"save: the value holds a tuple or an int dict key, which format "
                            f"{asked[0]}.{asked[1]} cannot hold (2.0 can)")
    return asked


def _plan(obj, metadata, version):
    """Phase one: everything checked and laid out; returns (layout, metadata bytes, version)."""
    if metadata is not None and not isinstance(metadata, dict):
        raise TypeError("save: metadata must be a dict of str to scalars")
    meta = _encode_metadata(metadata)
    tree = _Tree()
    tree.walk(obj)
    groups = _plan_views(tree.tensors)
    version = _chosen_version(version, tree, groups)
    views_on = version >= (2, 1)
    return _Layout(tree, groups if views_on else {}, views_on), meta, version


def save(obj, path_or_file, *, metadata=None, durable=True, version=None):
    """Save the value tree `obj` as a .wick file, byte for byte as the C++ writer would.

    `obj`: dicts (str keys, or int and str keys), lists, tuples, int, float, str, bool, None,
    NumPy arrays (and NumPy scalars as int/float/bool). `metadata`: dict of str to scalars.
    A path is replaced atomically (temp file, fsync, rename, directory fsync; `durable=False`
    skips both fsyncs); a writable binary file object gets the bytes streamed, never seeked.
    Raises TypeError for a type wick has no encoding for and ArgumentError for a value a
    reader would refuse, before the target is touched. `version`, (major, minor) of 1.0, 2.0
    or 2.1, writes that version for any value that version holds (the C++
    `SaveOptions::format_major`/`format_minor`); by default the oldest that holds the value.
    """
    layout, meta, version = _plan(obj, metadata, version)
    if hasattr(path_or_file, "write"):
        _write_file(path_or_file, layout, meta, version)
        if hasattr(path_or_file, "flush"):
            path_or_file.flush()
        return
    with atomic_target(os.fspath(path_or_file), durable) as f:
        _write_file(f, layout, meta, version)
