"""Decoding of wick files, front to back over the whole file (io/FORMAT.md)."""

import mmap as _mmap
import os
import struct

import numpy as np
import xxhash
from numpy.lib.stride_tricks import as_strided

from . import format as F
from ._prefetch import read_and_hash


class FormatError(ValueError):
    """A file the spec refuses. `offset` is the file offset (or None), `structure` what was hit."""

    def __init__(self, message, offset=None, structure=""):
        where = f" at offset {offset}" if offset is not None else ""
        super().__init__(f"{structure}{where}: {message}")
        self.offset = offset
        self.structure = structure
        self.reason = message


def _xxh3(data):
    # xxhash reads any contiguous buffer in place: no copy of a large payload.
    return xxhash.xxh3_64_intdigest(data)


class _Cursor:
    """Bounded little-endian reads over buf[pos:end]; every read checks the bytes remain."""

    def __init__(self, buf, pos, end, structure):
        self.buf, self.pos, self.end, self.structure = buf, pos, end, structure

    def fail(self, message, offset=None):
        raise FormatError(message, self.pos if offset is None else offset, self.structure)

    def remaining(self):
        return self.end - self.pos

    def take(self, n):
        if n > self.remaining():
            self.fail(f"needs {n} bytes, {self.remaining()} remain")
        start = self.pos
        self.pos += n
        return self.buf[start:self.pos]

    def u8(self):
        return self.take(1)[0]

    def unpack(self, fmt):
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))

    def u32(self):
        return self.unpack("I")[0]

    def u64(self):
        return self.unpack("Q")[0]

    def count(self, min_item_bytes, what):
        """A u32 count, refused before allocating when its items cannot fit in what remains."""
        at = self.pos
        n = self.u32()
        if n * min_item_bytes > self.remaining():
            self.fail(f"{what} count {n} exceeds the {self.remaining()} bytes that remain", at)
        return n

    def string(self, key=False):
        """A `string` (u32 length + UTF-8); keys may not contain NUL ("Conventions")."""
        at = self.pos
        raw = bytes(self.take(self.u32()))
        if key and b"\0" in raw:
            self.fail("key contains a NUL byte", at)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            self.fail("string is not valid UTF-8", at)


def _require_zero(buf, start, end, structure, what):
    """Padding and reserved bytes are zero ("Conventions")."""
    for i in range(start, end):
        if buf[i]:
            raise FormatError(f"non-zero {what} byte", i, structure)


def _checked_bytes(sizes, dsize, structure, offset):
    """Bytes of a tensor, refusing sizes above 2^63-1 and the 2^62 rule ("Kind 1: tensor")."""
    claimed, elements = dsize, 1
    for s in sizes:
        if s > F.MAX_U63:
            raise FormatError(f"size {s} exceeds 2^63-1", offset, structure)
        claimed *= max(s, 1)
        elements *= s
        if claimed > F.MAX_BYTES:
            raise FormatError("sizes times dtype size exceed 2^62 bytes", offset, structure)
    return elements * dsize


def _version_text(v):
    return f"{v[0]}.{v[1]}"


# ---------------------------------------------------------------- file header and trailer


def _read_header(buf, verify):
    """Check the 64-byte file header; return the file's (major, minor)."""
    s = "file header"
    if len(buf) < F.HEADER_SIZE:
        raise FormatError(f"file of {len(buf)} bytes is shorter than the header", len(buf), s)
    if buf[0:8] != F.MAGIC:
        raise FormatError("bad magic: not a wick file", 0, s)
    if buf[12:16] != F.BYTE_ORDER_MARK:
        raise FormatError("byte order mark is not little-endian 0x01020304", 12, s)
    if verify and _xxh3(buf[0:56]) != struct.unpack_from("<Q", buf, 56)[0]:
        raise FormatError("header checksum mismatch", 56, s)
    major, minor, _, size, flags = struct.unpack_from("<HHIII", buf, 8)
    if major == 0:
        raise FormatError("invalid format major version 0", 8, s)
    if major > F.READER_MAJOR:
        raise FormatError(f"format version {major}.{minor} is newer than this reader's "
                          f"{F.READER_MAJOR}.{F.READER_MINOR}; upgrade wick to read it", 8, s)
    if size != F.HEADER_SIZE:
        raise FormatError(f"header size {size}, expected 64", 16, s)
    if flags:
        raise FormatError(f"non-zero flags {flags:#x}", 20, s)
    _check_producer(buf, s)
    return major, minor


def _check_producer(buf, s):
    """The producer is NUL-padded ASCII: after the first NUL, padding, so zero."""
    field = bytes(buf[F.PRODUCER_START:F.PRODUCER_END])
    text = field.split(b"\0", 1)[0]
    if any(b >= 0x80 for b in text):
        raise FormatError("producer is not ASCII", F.PRODUCER_START, s)
    _require_zero(buf, F.PRODUCER_START + len(text), F.PRODUCER_END, s, "producer padding")


def _read_trailer(buf, version, verify):
    """Check the trailer (the file's last 64 bytes); return (index offset, index checksum)."""
    s, t = "trailer", len(buf) - F.TRAILER_SIZE
    if buf[t + 56:t + 64] != F.END_MAGIC:
        raise FormatError("bad end magic", t + 56, s)
    if verify and _xxh3(buf[t:t + 48]) != struct.unpack_from("<Q", buf, t + 48)[0]:
        raise FormatError("trailer checksum mismatch", t + 48, s)
    index_at, size, checksum, major, minor = struct.unpack_from("<QQQHH", buf, t)
    if size != len(buf):
        raise FormatError(f"file size {size} in the trailer, the file has {len(buf)}", t + 8, s)
    if (major, minor) != version:
        raise FormatError(f"version {major}.{minor} differs from the header's "
                          f"{_version_text(version)}", t + 24, s)
    _require_zero(buf, t + 28, t + 48, s, "reserved")
    return index_at, checksum


# ---------------------------------------------------------------- records


def _read_prefix(buf, at, end):
    """The common record prefix ("Records"): (kind, flags, H, P, payload end with padding)."""
    s = f"record at {at}"
    if end - at < F.RECORD_PREFIX:
        raise FormatError("truncated record prefix", at, s)
    kind, flags, h, p = struct.unpack_from("<IHHQ", buf, at)
    if flags & ~F.FLAG_OPTIONAL:
        raise FormatError(f"unknown record flag bits {flags:#x}", at + 4, s)
    if h < 64 or h > F.MAX_RECORD_HEADER or h % F.ALIGN:
        raise FormatError(f"record header size {h} is not a multiple of 64 in 64..512", at + 6, s)
    if h > end - at:
        raise FormatError("truncated record header", at, s)
    if p > end - at - h:
        raise FormatError(f"payload size {p} runs past the end of the records", at + 8, s)
    return kind, flags, h, p, at + h + p + F.pad64(p)


def _check_record(buf, at, h, p, end, verify, s):
    """Header checksum and the zero padding after the payload."""
    if verify and _xxh3(buf[at:at + h - 8]) != struct.unpack_from("<Q", buf, at + h - 8)[0]:
        raise FormatError("header checksum mismatch", at + h - 8, s)
    pad_end = at + h + p + F.pad64(p)
    if pad_end > end:
        raise FormatError("truncated payload padding", end, s)
    _require_zero(buf, at + h + p, pad_end, s, "payload padding")


def _read_tensor_record(buf, at, flags, h, p, expected_id):
    """A kind-1 record: returns (dtype code, sizes, payload offset). Checks ("Kind 1: tensor")."""
    s = f"tensor {expected_id}"
    if flags:
        raise FormatError("tensor record flags are not 0", at + 4, s)
    tid, code, rank = struct.unpack_from("<IBB", buf, at + 16)
    if tid != expected_id:
        raise FormatError(f"tensor id {tid}, expected {expected_id}", at + 16, s)
    if code not in F.DTYPES:
        raise FormatError(f"unknown dtype code {code}", at + 20, s)
    if rank > F.MAX_RANK:
        raise FormatError(f"rank {rank} exceeds 32", at + 21, s)
    if h != F.tensor_header_size(rank):
        raise FormatError(f"header size {h} for rank {rank}", at + 6, s)
    _require_zero(buf, at + 22, at + 24, s, "reserved")
    sizes = struct.unpack_from(f"<{rank}Q", buf, at + 24)
    _require_zero(buf, at + 24 + 8 * rank, at + h - 8, s, "header padding")
    if _checked_bytes(sizes, F.DTYPES[code][2], s, at + 24) != p:
        raise FormatError(f"payload size {p} does not match dtype and sizes", at + 8, s)
    return code, tuple(sizes), at + h


def _check_optional(buf, at, h, p, verify):
    """An unknown optional record: its payload checksum at offset 16 when P > 0 ("Records")."""
    if verify and p and _xxh3(buf[at + h:at + h + p]) != struct.unpack_from("<Q", buf, at + 16)[0]:
        raise FormatError("payload checksum mismatch", at + h, f"optional record at {at}")


def _walk_records(buf, verify):
    """Records from offset 64 to the index; returns (tensor records, index offset, its H and P)."""
    end, at, tensors = len(buf) - F.TRAILER_SIZE, F.HEADER_SIZE, []
    while True:
        if at >= end:
            raise FormatError("no index record before the trailer", at, "records")
        kind, flags, h, p, nxt = _read_prefix(buf, at, end)
        s = f"record at {at}"
        _check_record(buf, at, h, p, end, verify, s)
        if kind == F.KIND_TENSOR:
            tensors.append((at, p) + _read_tensor_record(buf, at, flags, h, p, len(tensors)))
        elif kind == F.KIND_INDEX:
            return tensors, at, h, p, nxt
        elif flags & F.FLAG_OPTIONAL:
            _check_optional(buf, at, h, p, verify)
        else:
            raise FormatError(f"unknown required record kind {kind}", at, s)
        at = nxt


# ---------------------------------------------------------------- values


def _parse_scalar(cur, tag):
    """Tags 0 to 5."""
    if tag == F.TAG_NONE:
        return None
    if tag in (F.TAG_FALSE, F.TAG_TRUE):
        return tag == F.TAG_TRUE
    if tag == F.TAG_INT:
        return cur.unpack("q")[0]
    if tag == F.TAG_FLOAT:
        return cur.unpack("d")[0]
    return cur.string()


class _Frame:
    """An open container on the explicit stack."""

    def __init__(self, tag, count, at):
        self.tag, self.left, self.at = tag, count, at
        self.items = {} if tag in (F.TAG_DICT, F.TAG_INT_DICT) else []
        self.key = None
        self.has_int = False

    def finish(self):
        if self.tag == F.TAG_TUPLE:
            return tuple(self.items)
        return self.items


def _read_key(cur, frame):
    """A dict key: tag 8 keys are strings, tag 10 keys tag 3 (int) or tag 5 (string)."""
    at = cur.pos
    if frame.tag == F.TAG_DICT:
        key = cur.string(key=True)
    else:
        tag = cur.u8()
        if tag == F.TAG_INT:
            key = cur.unpack("q")[0]
            frame.has_int = True
        elif tag == F.TAG_STRING:
            key = cur.string(key=True)
        else:
            cur.fail(f"tag-10 dict key has tag {tag}, not 3 or 5", at)
    if key in frame.items:
        cur.fail(f"duplicate dict key {key!r}", at)
    if frame.tag == F.TAG_INT_DICT and _has_digit_twin(frame.items, key):
        cur.fail(f"dict holds both {key!r} and its decimal twin", at)
    frame.key = key


def _has_digit_twin(items, key):
    """An int key and the string of its digits may not share a dict ("Values")."""
    if isinstance(key, int):
        return str(key) in items
    try:
        return int(key) in items and str(int(key)) == key
    except ValueError:
        return False


def _open_container(cur, tag, at):
    """The count of a list, tuple or dict, checked against the remaining bytes."""
    per_item = {F.TAG_LIST: F.MIN_VALUE, F.TAG_TUPLE: F.MIN_VALUE,
                F.TAG_DICT: F.MIN_DICT_ENTRY, F.TAG_INT_DICT: F.MIN_INT_DICT_ENTRY}[tag]
    n = cur.count(per_item, f"value tag {tag}")
    if tag == F.TAG_INT_DICT and n == 0:
        cur.fail("tag-10 dict with no entry", at)
    return _Frame(tag, n, at)


def _read_leaf_or_open(cur, version, resolve, tensor_count):
    """One value's tag: a leaf value, or a new _Frame for a container."""
    at = cur.pos
    tag = cur.u8()
    since = F.TAG_SINCE.get(tag)
    if since and (version < since or (tag == F.TAG_VIEW and not F.views_allowed(version))):
        cur.fail(f"value tag {tag} ({F.TAG_NAMES[tag]}) needs format {_version_text(since)}; "
                 f"the file is {_version_text(version)}", at)
    if tag in F.SCALAR_TAGS:
        return _parse_scalar(cur, tag), None
    if tag == F.TAG_TENSOR:
        tid = cur.u32()
        if tid >= tensor_count:
            cur.fail(f"tensor id {tid} is not below the tensor count {tensor_count}", at)
        return resolve(tag, tid, at), None
    if tag == F.TAG_VIEW:
        return resolve(tag, cur.u32(), at), None
    if tag in (F.TAG_LIST, F.TAG_TUPLE, F.TAG_DICT, F.TAG_INT_DICT):
        return None, _open_container(cur, tag, at)
    cur.fail(f"unknown value tag {tag}", at)


def _parse_value(cur, version, resolve, tensor_count):
    """One value, parsed with an explicit stack (nesting depth at most 512, "Values")."""
    stack, result = [], None
    while True:
        if stack and stack[-1].left == 0:
            done = stack.pop()
            if done.tag == F.TAG_INT_DICT and not done.has_int:
                cur.fail("tag-10 dict has no int key", done.at)
            value = done.finish()
        else:
            if stack and stack[-1].tag in (F.TAG_DICT, F.TAG_INT_DICT):
                _read_key(cur, stack[-1])
            value, frame = _read_leaf_or_open(cur, version, resolve, tensor_count)
            if frame is not None:
                if len(stack) >= F.MAX_DEPTH:
                    cur.fail("nesting depth exceeds 512", frame.at)
                stack.append(frame)
                continue
        if not stack:
            return value
        parent = stack[-1]
        parent.left -= 1
        if isinstance(parent.items, dict):
            parent.items[parent.key] = value
        else:
            parent.items.append(value)


# ---------------------------------------------------------------- index payload


def _read_metadata(cur):
    """Metadata: unique, non-empty, NUL-free string keys to scalars (index part 1)."""
    meta = {}
    for _ in range(cur.count(F.MIN_META_ENTRY, "metadata")):
        at = cur.pos
        key = cur.string(key=True)
        if not key:
            cur.fail("empty metadata key", at)
        if key in meta:
            cur.fail(f"duplicate metadata key {key!r}", at)
        tag_at = cur.pos
        tag = cur.u8()
        if tag not in F.SCALAR_TAGS:
            cur.fail(f"metadata value tag {tag} is not a scalar", tag_at)
        meta[key] = _parse_scalar(cur, tag)
    return meta


def _read_tensor_table(cur, records):
    """Index part 3: one row per tensor record, agreeing with it exactly."""
    at = cur.pos
    n = cur.count(F.MIN_TENSOR_ROW, "tensor table")
    if n != len(records):
        cur.fail(f"tensor table has {n} rows for {len(records)} tensor records", at)
    checksums = []
    for i, (rec_at, p, code, sizes, _) in enumerate(records):
        row_at = cur.pos
        offset, size, checksum, rcode, rank = cur.unpack("QQQBB")
        if rank > F.MAX_RANK:
            cur.fail(f"tensor {i}: rank {rank} exceeds 32", row_at)
        rsizes = cur.unpack(f"{rank}Q")
        if (offset, size, rcode, rsizes) != (rec_at, p, code, sizes):
            cur.fail(f"tensor {i}: row disagrees with the record at {rec_at}", row_at)
        checksums.append(checksum)
    return checksums


def _read_view_row(outer, i, records):
    """One view table row, checked by the rules of index part 4 (refusals name `view i`)."""
    at = outer.pos
    cur = _Cursor(outer.buf, outer.pos, outer.end, f"view {i}")
    rec, offset, rank = cur.unpack("IQB")
    if rec >= len(records):
        cur.fail(f"view {i}: record {rec} is not below the tensor count {len(records)}", at)
    if rank > F.MAX_RANK:
        cur.fail(f"view {i}: rank {rank} exceeds 32", at)
    sizes, strides = cur.unpack(f"{rank}Q"), cur.unpack(f"{rank}Q")
    code, rsizes = records[rec][2], records[rec][3]
    if offset > F.MAX_U63 or any(x > F.MAX_U63 for x in strides):
        cur.fail(f"view {i}: offset or stride exceeds 2^63-1", at)
    _checked_bytes(sizes, F.DTYPES[code][2], f"view {i}", at)
    if 0 in sizes:
        cur.fail(f"view {i}: has no element", at)
    _check_view_layout(cur, i, at, offset, sizes, strides, rsizes)
    outer.pos = cur.pos
    return rec, offset, sizes, strides


def _check_view_layout(cur, i, at, offset, sizes, strides, rsizes):
    """Inside the record, no element twice, and not the record as stored."""
    count = 1
    for s in rsizes:
        count *= s
    if offset + sum((n - 1) * k for n, k in zip(sizes, strides)) >= count:
        cur.fail(f"view {i}: reaches past the record's {count} elements", at)
    reach = 0
    for n, k in sorted(zip(sizes, strides), key=lambda d: d[1]):
        if n > 1 and k <= reach:
            cur.fail(f"view {i}: reaches an element twice", at)
        reach += (n - 1) * k
    if offset == 0 and tuple(sizes) == tuple(rsizes):
        expect, row_major = 1, True
        for n, k in reversed(list(zip(sizes, strides))):
            row_major &= n == 1 or k == expect
            expect *= n
        if row_major:
            cur.fail(f"view {i}: is the record as stored (use tag 6)", at)


def _view_layout_key(rec, offset, sizes, strides):
    """Layout identity: strides of size-1 dimensions reach nothing, so they do not count."""
    return rec, offset, tuple(sizes), tuple(k if n > 1 else 0 for n, k in zip(sizes, strides))


def _read_view_table(cur, records):
    """Index part 4 (2.1): rows, each layout once."""
    rows, seen = [], set()
    for i in range(cur.count(F.MIN_VIEW_ROW, "view table")):
        at = cur.pos
        row = _read_view_row(cur, i, records)
        key = _view_layout_key(*row)
        if key in seen:
            raise FormatError(f"view {i}: same layout as an earlier row", at, f"view {i}")
        seen.add(key)
        rows.append(row)
    return rows


# ---------------------------------------------------------------- assembly


def _load_tensor(buf, rec, i, stored_checksum, verify, digests=None):
    """A record's payload as a NumPy array over `buf` itself (no copy; bool bytes checked).

    `digests` maps (payload offset, size) to an XXH3-64 already taken while the file was read.
    """
    at, p, code, sizes, payload_at = rec
    data = buf[payload_at:payload_at + p]
    actual = (digests or {}).get((payload_at, p)) if verify else None
    if verify and actual is None:
        actual = _xxh3(data)
    if verify and actual != stored_checksum:
        raise FormatError(f"payload checksum mismatch (index says {stored_checksum:#018x})",
                          payload_at, f"tensor {i} payload")
    if code == F.BOOL_CODE and p and np.frombuffer(data, np.uint8).max() > 1:
        bad = int(np.argmax(np.frombuffer(data, np.uint8) > 1))
        raise FormatError("bool element is not 0 or 1", payload_at + bad, f"tensor {i} payload")
    return np.frombuffer(data, dtype=F.DTYPES[code][1]).reshape(sizes)


def _make_view(base, offset, sizes, strides):
    """as_strided over the record's flattened memory: shares the record's buffer."""
    flat = base.reshape(-1)
    item = flat.itemsize
    return as_strided(flat[offset:], shape=sizes, strides=[k * item for k in strides])


def _check_references(tree_refs, records, views, index_at):
    """Every view referenced by the tree; every record by the tree or a view ("Values")."""
    used = {rid for tag, rid, _ in tree_refs if tag == F.TAG_TENSOR}
    used_views = {rid for tag, rid, _ in tree_refs if tag == F.TAG_VIEW}
    for v in range(len(views)):
        if v not in used_views:
            raise FormatError("is not referenced by the value tree", index_at, f"view {v}")
        used.add(views[v][0])
    for t in range(len(records)):
        if t not in used:
            raise FormatError("is referenced by neither the tree nor a view", records[t][0],
                              f"tensor {t}")


def _parse_index(buf, records, index_at, h, p, version, verify):
    """The index payload: metadata, tree (first pass, refs collected), tables, nothing else."""
    cur = _Cursor(buf, index_at + h, index_at + h + p, "index")
    meta = _read_metadata(cur)
    tree_at, tree_refs = cur.pos, []

    def collect(tag, rid, at):
        tree_refs.append((tag, rid, at))
        return None

    _parse_value(cur, version, collect, len(records))
    checksums = _read_tensor_table(cur, records)
    views = _read_view_table(cur, records) if F.views_allowed(version) else []
    if cur.remaining():
        cur.fail(f"{cur.remaining()} bytes after the last table")
    for tag, rid, at in tree_refs:
        if tag == F.TAG_VIEW and rid >= len(views):
            raise FormatError(f"view id {rid} is not below the view count {len(views)}",
                              at, "index")
    _check_references(tree_refs, records, views, index_at)
    return meta, tree_at, checksums, views


def _build(buf, records, checksums, views, tree_at, end, version, verify, digests=None):
    """Second pass over the tree, now with arrays: one object per tensor id and view id."""
    arrays = [_load_tensor(buf, r, i, checksums[i], verify, digests)
              for i, r in enumerate(records)]
    view_arrays = [_make_view(arrays[r], o, s, k) for r, o, s, k in views]

    def resolve(tag, rid, at):
        return arrays[rid] if tag == F.TAG_TENSOR else view_arrays[rid]

    cur = _Cursor(buf, tree_at, end, "index")
    return _parse_value(cur, version, resolve, len(records))


def _decode(buf, version, verify, digests=None):
    """Header already read: trailer first (so a truncation is named there), then records."""
    if len(buf) < F.HEADER_SIZE + F.TRAILER_SIZE:
        raise FormatError(f"file of {len(buf)} bytes has no room for a trailer", len(buf),
                          "trailer")
    trailer_index, trailer_checksum = _read_trailer(buf, version, verify)
    records, index_at, h, p, index_end = _walk_records(buf, verify)
    _check_index_record(buf, index_at, h, p, index_end, verify)
    if trailer_index != index_at:
        raise FormatError(f"index offset {trailer_index}, the index is at {index_at}",
                          len(buf) - F.TRAILER_SIZE, "trailer")
    if trailer_checksum != struct.unpack_from("<Q", buf, index_at + 16)[0]:
        raise FormatError("index checksum differs from the index record's",
                          len(buf) - F.TRAILER_SIZE + 16, "trailer")
    meta, tree_at, checksums, views = _parse_index(buf, records, index_at, h, p, version, verify)
    value = _build(buf, records, checksums, views, tree_at, index_at + h + p, version, verify,
                   digests)
    return value, meta, version


def _check_index_record(buf, at, h, p, end, verify):
    """Kind 2: flags 0, H = 64, reserved zero, payload checksum, and the trailer right after."""
    s = "index"
    if struct.unpack_from("<H", buf, at + 4)[0]:
        raise FormatError("index record flags are not 0", at + 4, s)
    if h != 64:
        raise FormatError(f"index header size {h}, expected 64", at + 6, s)
    _require_zero(buf, at + 24, at + 56, s, "reserved")
    if verify and _xxh3(buf[at + h:at + h + p]) != struct.unpack_from("<Q", buf, at + 16)[0]:
        raise FormatError("payload checksum mismatch", at + h, s)
    if end != len(buf) - F.TRAILER_SIZE:
        raise FormatError(f"{len(buf) - F.TRAILER_SIZE - end} bytes between the index and the "
                          "trailer (a file ends at its trailer)", end, s)


def _with_version(err, version):
    """From 2.0 on, a refusal in a file of a newer minor names both versions."""
    if version[0] == F.READER_MAJOR and version[1] > F.READER_MINOR:
        reader = f"{F.READER_MAJOR}.{F.READER_MINOR}"
        return FormatError(f"{err.reason}; the file is format {_version_text(version)}, newer "
                           f"than this reader's {reader}: unless it is damaged, upgrade wick "
                           "to read it", err.offset, err.structure)
    return err


def _aligned_buffer(n):
    """n writable bytes starting at a multiple of 64, so every payload is aligned."""
    raw = np.empty(n + F.ALIGN, np.uint8)
    skip = -raw.ctypes.data % F.ALIGN
    return raw[skip:skip + n]


def _read_all(f, verify=False):
    """The rest of binary file `f` in one aligned allocation, filled by readinto; returns
    (buffer, {(payload offset, size): XXH3-64} taken while reading when `verify`)."""
    try:
        size = os.fstat(f.fileno()).st_size - f.tell()
    except (AttributeError, OSError, ValueError):
        size = -1
    if size < 0:
        data = f.read()
        buf = _aligned_buffer(len(data))
        buf[:] = np.frombuffer(data, np.uint8)
        return memoryview(buf), None
    buf = _aligned_buffer(size)
    view, got, digests = memoryview(buf), 0, None
    if verify and size >= _PREFETCH_MIN:
        got, digests = read_and_hash(f, view, buf.ctypes.data)
    while got < size:
        n = f.readinto(view[got:])
        if not n:
            break
        got += n
    more = f.read()
    if got == size and not more:
        return view[:got], digests
    # The file changed size while read: keep what is there, the checks judge it.
    whole = _aligned_buffer(got + len(more))
    whole[:got] = buf[:got]
    whole[got:] = np.frombuffer(more, np.uint8)
    return memoryview(whole), None


def _map_file(path):
    """A private (copy-on-write) map of `path`: writes to tensors never reach the file."""
    with open(path, "rb") as f:
        if os.fstat(f.fileno()).st_size == 0:
            # mmap refuses an empty file; the header check refuses it below.
            return memoryview(bytearray())
        return memoryview(_mmap.mmap(f.fileno(), 0, access=_mmap.ACCESS_COPY))


# Below this size the whole file stays in cache from its read to the hashing of each payload
# by _load_tensor: hashing while reading saves nothing there.
_PREFETCH_MIN = 8 << 20


def _read_bytes(path_or_file, mmap=False, verify=False):
    """The whole file as one writable, 64-byte-aligned buffer (read, or mapped privately),
    and the payload digests taken while reading (or None)."""
    if hasattr(path_or_file, "read"):
        if mmap:
            raise TypeError("mmap=True needs a path, not a file object")
        return _read_all(path_or_file, verify)
    if mmap:
        return _map_file(path_or_file), None
    with open(path_or_file, "rb") as f:
        return _read_all(f, verify)


def load_with_metadata(path_or_file, *, mmap=False, verify=True):
    """Load a wick file; return (value tree, metadata dict, (major, minor)).

    See load() for `mmap` and `verify`.
    """
    buf, digests = _read_bytes(path_or_file, mmap, verify)
    version = None
    try:
        version = _read_header(buf, verify)
        return _decode(buf, version, verify, digests)
    except FormatError as err:
        if version is None:
            raise
        raise _with_version(err, version) from None


def load(path_or_file, *, mmap=False, verify=True):
    """Load a wick file (path or binary file object) and return its value tree.

    Tensors load as writable NumPy arrays (bfloat16 as its raw uint16 bits) over one 64-byte
    aligned buffer holding the whole file, read with one allocation; views (2.1) as
    as_strided arrays sharing memory with their record. With `mmap=True` (paths only) that
    buffer is a private copy-on-write map of the file instead: loading copies no payload, and
    writing to a tensor changes this process's copy, never the file. `verify=False` skips the
    checksum comparisons only. Refusals raise FormatError.
    """
    return load_with_metadata(path_or_file, mmap=mmap, verify=verify)[0]
