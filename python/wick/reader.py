"""Decoding of wick files, front to back over the whole file (io/FORMAT.md).

The checks run in the order FORMAT.md "What a refusal reports" gives (the order a reader that
streams the file meets them), and each refusal names the offset and structure that section
says, so this reader and the C++ one report the same fault the same way (tests/conformance).
"""

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
        # A fault between structures (random access, "What a refusal reports") names none.
        where = f"{structure} at offset {offset}" if offset is not None else structure
        super().__init__(f"{where.strip()}: {message}" if where.strip() else message)
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

    def need(self, n, what):
        """Refused at the current position unless n more bytes remain."""
        if n > self.remaining():
            self.fail(f"truncated: {what} needs {n} bytes, only {self.remaining()} remain")

    def take(self, n, what="field"):
        self.need(n, what)
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
        """A u32 count; refused, after it, when its items cannot fit in what remains."""
        n = self.u32()
        self.need(n * min_item_bytes, what)
        return n

    def string(self, what="string"):
        """A `string` (u32 length + UTF-8), refused at its length when not UTF-8."""
        at = self.pos
        raw = bytes(self.take(self.u32(), what))
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            self.fail(f"{what} is not valid UTF-8", at)


def _require_zero(buf, start, end, structure):
    """Padding and reserved bytes are zero ("Conventions"): refused at the first that is not."""
    seg = bytes(buf[start:end])
    rest = seg.lstrip(b"\0")
    if rest:
        raise FormatError(f"padding/reserved byte is {rest[0]}, expected 0",
                          start + len(seg) - len(rest), structure)


def _read_exact(buf, at, n, structure):
    """n bytes at `at`, or refused as truncated at `at`."""
    if n > len(buf) - at:
        raise FormatError(f"truncated: needs {n} bytes, the data ends after "
                          f"{max(0, len(buf) - at)}", at, structure)


def _bytes_within_rule(sizes, dsize):
    """Payload bytes, or None when the 2^62 rule ("Kind 1: tensor") refuses the sizes."""
    claimed, elements = dsize, 1
    for s in sizes:
        claimed *= max(s, 1)
        elements *= s
    return elements * dsize if claimed <= F.MAX_BYTES else None


def _version_text(v):
    return f"{v[0]}.{v[1]}"


# ---------------------------------------------------------------- file header


def _read_header(buf, verify):
    """Check the 64-byte file header; return the file's (major, minor)."""
    s = "file header"
    if len(buf) < F.HEADER_SIZE:
        got = min(len(buf), len(F.MAGIC))
        if bytes(buf[:got]) != F.MAGIC[:got]:
            raise FormatError(f"not a wick file ({len(buf)} bytes, bad magic)", 0, s)
        raise FormatError(f"truncated: needs 64 bytes, the data ends after {len(buf)}", 0, s)
    if buf[0:8] != F.MAGIC:
        raise FormatError("bad magic: not a wick file", 0, s)
    if buf[12:16] != F.BYTE_ORDER_MARK:
        raise FormatError("byte order mark is not little-endian 0x01020304", 12, s)
    if verify and _xxh3(buf[0:56]) != struct.unpack_from("<Q", buf, 56)[0]:
        raise FormatError("header checksum mismatch", 0, s)
    major, minor, _, size = struct.unpack_from("<HHII", buf, 8)
    if major > F.READER_MAJOR:
        raise FormatError(f"format version {major}.{minor} is newer than this reader's "
                          f"{F.READER_MAJOR}.{F.READER_MINOR}; upgrade wick to read it", 8, s)
    if major == 0:
        raise FormatError("invalid format major version 0", 8, s)
    try:
        if size != F.HEADER_SIZE:
            raise FormatError(f"header size {size}, expected 64", 16, s)
        _require_zero(buf, 20, 24, "file header flags")
        _check_producer(buf)
    except FormatError as err:
        raise _with_version(err, (major, minor)) from None
    return major, minor


def _check_producer(buf):
    """The producer is informational: only the bytes after its first NUL are checked (zero)."""
    field = bytes(buf[F.PRODUCER_START:F.PRODUCER_END])
    text = field.split(b"\0", 1)[0]
    _require_zero(buf, F.PRODUCER_START + len(text), F.PRODUCER_END,
                  "file header producer padding")


# ---------------------------------------------------------------- records


def _record_header_name(kind):
    if kind == F.KIND_TENSOR:
        return "tensor record header"
    if kind == F.KIND_INDEX:
        return "index record header"
    return f"record header (kind {kind})"


def _read_prefix(buf, at):
    """The common record prefix ("Records"), then the rest of the header: (kind, flags, H, P)."""
    _read_exact(buf, at, F.RECORD_PREFIX, "record header")
    kind, flags, h, p = _decode_prefix(buf, at)
    _read_exact(buf, at + F.RECORD_PREFIX, h - F.RECORD_PREFIX, "record header")
    return kind, flags, h, p


def _decode_prefix(buf, at):
    """The 16-byte prefix at `at` (the caller made sure it is there), checked in the order of
    "What a refusal reports": header size, flags, payload size. Returns (kind, flags, H, P)."""
    kind, flags, h, p = struct.unpack_from("<IHHQ", buf, at)
    s = _record_header_name(kind)
    if h < 64 or h > F.MAX_RECORD_HEADER or h % F.ALIGN:
        raise FormatError(f"header size {h} is not a multiple of 64 between 64 and 512",
                          at + 6, s)
    if flags & ~F.FLAG_OPTIONAL:
        raise FormatError(f"unknown flag bits {flags:#x}", at + 4, s)
    if p > F.MAX_BYTES:
        raise FormatError(f"payload size {p} is beyond any real file", at + 8, s)
    return kind, flags, h, p


def _check_header_checksum(buf, at, h, s):
    if _xxh3(buf[at:at + h - 8]) != struct.unpack_from("<Q", buf, at + h - 8)[0]:
        raise FormatError("header checksum mismatch", at, s)


def _take_payload(buf, at, p, s):
    """A payload of p bytes at `at`: refused at its start when the file cannot hold it."""
    if p > len(buf) - at:
        raise FormatError(f"truncated: claims {p} bytes, only {max(0, len(buf) - at)} remain "
                          "in the file", at, s)
    return buf[at:at + p]


def _read_padding(buf, at, p, verify, s):
    """The pad64(P) zero bytes after a payload that starts at `at`."""
    _read_exact(buf, at + p, F.pad64(p), s)
    if verify:
        _require_zero(buf, at + p, at + p + F.pad64(p), s)


def _tensor_header(buf, at, flags, h, p, verify):
    """A kind-1 record's header ("Kind 1: tensor"): returns (id, dtype code, sizes)."""
    s = "tensor record header"
    if verify:
        _check_header_checksum(buf, at, h, s)
    if flags:
        raise FormatError("tensor records cannot be optional", at + 4, s)
    tid, code, rank = struct.unpack_from("<IBB", buf, at + 16)
    if code not in F.DTYPES:
        raise FormatError(f"unknown dtype code {code}", at + 20, s)
    if rank > F.MAX_RANK:
        raise FormatError(f"rank {rank} exceeds 32", at + 21, s)
    if h != F.tensor_header_size(rank):
        raise FormatError(f"header size {h} for rank {rank}", at + 6, s)
    _require_zero(buf, at + 22, at + 24, "tensor record reserved bytes")
    sizes = struct.unpack_from(f"<{rank}Q", buf, at + 24)
    for i, size in enumerate(sizes):
        if size > F.MAX_U63:
            raise FormatError(f"size {size} exceeds 2^63-1", at + 24 + 8 * i, s)
    _require_zero(buf, at + 24 + 8 * rank, at + h - 8, "tensor record padding")
    expected = _bytes_within_rule(sizes, F.DTYPES[code][2])
    if expected is None:
        raise FormatError(f"sizes {list(sizes)} overflow 2^62 bytes", at, "tensor record")
    if expected != p:
        raise FormatError(f"payload size {p} does not match dtype and sizes", at + 8, s)
    return tid, code, tuple(sizes)


def _tensor_record(buf, at, flags, h, p, expected_id, verify, digests=None):
    """A kind-1 record: ((offset, P, code, sizes, payload offset), payload hash or None)."""
    tid, code, sizes = _tensor_header(buf, at, flags, h, p, verify)
    if tid != expected_id:
        raise FormatError(f"tensor id {tid}, expected {expected_id}", at + 16, "tensor record")
    payload = _take_payload(buf, at + h, p, "tensor payload")
    if code == F.BOOL_CODE:
        _check_bool_bytes(payload, at + h, lambda: f"#{tid}")
    digest = None
    if verify:
        digest = (digests or {}).get((at + h, p))
        if digest is None:
            digest = _xxh3(payload)
    _read_padding(buf, at + h, p, verify, "tensor padding")
    return (at, p, code, sizes, at + h), digest


def _check_bool_bytes(payload, payload_at, name_of):
    """Every byte of a bool payload is 0 or 1 ("Dtypes"): refused at the first that is not,
    structure `bool tensor <name_of()>` (the name is spelled only then)."""
    elements = np.frombuffer(payload, np.uint8)
    if len(elements) and elements.max() > 1:
        j = int(np.argmax(elements > 1))
        raise FormatError(f"element {j} is byte {elements[j]}, expected 0 or 1", payload_at + j,
                          f"bool tensor {name_of()}")


def _check_index_reserved(buf, at):
    """Bytes 24 to 55 of an index record header are zero ("Kind 2: index")."""
    _require_zero(buf, at + 24, at + 56, "index record reserved bytes")


def _index_record(buf, at, flags, h, p, stored, verify):
    """Kind 2: flags 0, H = 64, reserved zero, its payload checksum, its padding."""
    if flags or h != 64:
        raise FormatError("index records have flags 0 and a 64-byte header", at,
                          "index record header")
    _check_index_reserved(buf, at)
    payload = _take_payload(buf, at + h, p, "index")
    if verify and _xxh3(payload) != stored:
        raise FormatError("payload checksum mismatch", at, "index")
    _read_padding(buf, at + h, p, True, "index padding")


def _optional_record(buf, at, kind, flags, h, p, stored, verify):
    """An unknown kind: skipped when optional, after its payload checksum ("Records")."""
    if not flags & F.FLAG_OPTIONAL:
        raise FormatError(f"unknown required record kind {kind}", at, "record header")
    start = at + h
    _take_payload(buf, start, p, "optional record")
    if verify and p and _xxh3(buf[start:start + p]) != stored:
        raise FormatError("payload checksum mismatch", at, f"optional record (kind {kind})")
    _read_padding(buf, start, p, verify, "record padding")


def _walk_records(buf, verify, digests=None):
    """Records from offset 64 to the index: (tensor records, their hashes, index at, P)."""
    at, records, hashes = F.HEADER_SIZE, [], []
    while True:
        kind, flags, h, p = _read_prefix(buf, at)
        if kind == F.KIND_TENSOR:
            rec, digest = _tensor_record(buf, at, flags, h, p, len(records), verify, digests)
            records.append(rec)
            hashes.append(digest)
        else:
            if verify:
                _check_header_checksum(buf, at, h, _record_header_name(kind))
            stored = struct.unpack_from("<Q", buf, at + 16)[0]
            if kind == F.KIND_INDEX:
                _index_record(buf, at, flags, h, p, stored, verify)
                return records, hashes, at, p
            _optional_record(buf, at, kind, flags, h, p, stored, verify)
        at += h + p + F.pad64(p)


# ---------------------------------------------------------------- trailer


def _decode_trailer(buf, at, verify):
    """The trailer's own checks (end magic, checksum, reserved bytes) on the 64 bytes at `at`;
    returns its (index offset, file size, index checksum, (major, minor))."""
    s = "trailer"
    if buf[at + 56:at + 64] != F.END_MAGIC:
        raise FormatError("end magic WICKEND missing", at + 56, s)
    if verify and _xxh3(buf[at:at + 48]) != struct.unpack_from("<Q", buf, at + 48)[0]:
        raise FormatError("checksum mismatch", at, s)
    _require_zero(buf, at + 28, at + 48, "trailer reserved bytes")
    index_offset, size, checksum, major, minor = struct.unpack_from("<QQQHH", buf, at)
    return index_offset, size, checksum, (major, minor)


def _read_trailer(buf, at, index_at, version, verify):
    """The trailer right after the index: its own checks, then that it matches the file."""
    s = "trailer"
    _read_exact(buf, at, F.TRAILER_SIZE, s)
    index_offset, size, checksum, found = _decode_trailer(buf, at, verify)
    stored = struct.unpack_from("<Q", buf, index_at + 16)[0]
    if (index_offset, size, checksum, found) != (index_at, at + 64, stored, version):
        raise FormatError(f"does not match the file: index at {index_offset} (found at "
                          f"{index_at}), size {size} (found {at + 64})", at, s)
    if len(buf) != at + 64:
        raise FormatError(f"{len(buf) - at - 64} unexpected bytes after the trailer", at, s)


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
    return cur.string("string value")


def _dict_key(cur):
    """A dict key: a string that may be empty but holds no NUL ("Values")."""
    at = cur.pos
    key = cur.string("dict key")
    if "\0" in key:
        cur.fail("dict key contains a NUL byte", at)
    return key


def _int_key_step(key):
    """The int a string key spells in decimal as a tree path does ("Tree paths"), or None."""
    digits = key[1:] if key.startswith("-") else key
    if not digits.isascii() or not digits.isdigit() or key == "-0":
        return None
    if len(digits) > 1 and digits[0] == "0":
        return None
    n = int(key)
    return n if -2**63 <= n < 2**63 else None


class _Open:
    """An open container of the checking pass: its tag, items left, keys seen so far."""

    def __init__(self, tag, count, at, link):
        self.tag, self.count, self.left, self.at, self.link = tag, count, count, at, link
        self.keys, self.int_keys = [], []  # (key, offset)

    def close(self):
        """A dict's keys, checked when it closes ("Values"); refusals name the dict's index."""
        seen = {}
        for key, at in self.keys:
            if key in seen:
                raise FormatError(f"duplicate dict key {key!r}", at, "index")
            seen[key] = at
        if self.tag != F.TAG_INT_DICT:
            return
        if not self.int_keys:
            raise FormatError("a dict with int keys (tag 10) has none", self.at, "index")
        ints = {}
        for key, at in self.int_keys:
            if key in ints:
                raise FormatError(f"duplicate dict key {key}", at, "index")
            ints[key] = at
        for key, _ in self.keys:
            if _int_key_step(key) in ints:
                raise FormatError(f"a dict has both the int key {key} and the string key "
                                  f"'{key}'", self.at, "index")


MIN_ITEM = {F.TAG_LIST: F.MIN_VALUE, F.TAG_TUPLE: F.MIN_VALUE, F.TAG_DICT: F.MIN_DICT_ENTRY,
            F.TAG_INT_DICT: F.MIN_INT_DICT_ENTRY}


def _value_head(cur, depth, version):
    """One value's tag and contents, a container's count: (tag, id or count or None)."""
    at = cur.pos
    tag = cur.u8()
    if tag in F.SCALAR_TAGS:
        _parse_scalar(cur, tag)
        return tag, None
    if tag not in MIN_ITEM and tag not in (F.TAG_TENSOR, F.TAG_VIEW):
        cur.fail(f"unknown value tag {tag}", at)
    since = F.TAG_SINCE.get(tag)
    if since and version < since:
        cur.fail(f"value tag {tag} ({F.TAG_NAMES[tag]}) needs format {_version_text(since)}; "
                 f"the file is {_version_text(version)}", at)
    n = cur.u32()
    if tag in (F.TAG_TENSOR, F.TAG_VIEW):
        return tag, n  # checked against the tables once they are read
    if tag == F.TAG_INT_DICT and n == 0:
        cur.fail("an empty dict with int keys (tag 10); an empty dict is tag 8", at)
    cur.need(n * MIN_ITEM[tag], "container items")
    if depth >= F.MAX_DEPTH:
        cur.fail("nesting deeper than 512 levels", at)
    return tag, n


def _item_step(cur, parent):
    """Reads the key before a dict's item; returns the item's path step."""
    if parent.tag == F.TAG_DICT:
        at = cur.pos
        key = _dict_key(cur)
        parent.keys.append((key, at))
        return key
    if parent.tag == F.TAG_INT_DICT:
        at = cur.pos
        tag = cur.u8()
        if tag == F.TAG_INT:
            key = cur.unpack("q")[0]
            parent.int_keys.append((key, at))
            return str(key)
        if tag != F.TAG_STRING:
            cur.fail(f"dict key tag {tag}: keys of a tag-10 dict are ints (3) or strings (5)", at)
        at = cur.pos
        key = _dict_key(cur)
        parent.keys.append((key, at))
        return key
    return str(parent.count - parent.left)


def _check_tree(cur, version):
    """The checking pass over the value tree: every rule of "Values" but the id ranges.

    Returns the tensor and view references in pre-order as (tag, id, path link), where a path
    link is (parent link, step) or None for the root: paths are spelled only for a refusal.
    """
    stack, refs = [], []
    while True:
        link = None
        if stack:
            link = (stack[-1].link, _item_step(cur, stack[-1]))
        at = cur.pos
        tag, n = _value_head(cur, len(stack), version)
        if tag in (F.TAG_TENSOR, F.TAG_VIEW):
            refs.append((tag, n, link))
        elif n:
            stack.append(_Open(tag, n, at, link))
            continue
        while stack:
            stack[-1].left -= 1
            if stack[-1].left:
                break
            stack.pop().close()
        if not stack:
            return refs


def _spell(link):
    """A path link as a JSON Pointer ("Tree paths")."""
    steps = []
    while link is not None:
        link, step = link
        steps.append("/" + step.replace("~", "~0").replace("/", "~1"))
    return "".join(reversed(steps))


def _tensor_name(refs, views, i):
    """'<path>' of the first reference to record i in pre-order (direct or through a view)."""
    for tag, rid, link in refs:
        if (rid if tag == F.TAG_TENSOR else views[rid][0]) == i:
            return f"'{_spell(link)}'"
    return f"#{i}"


class _Builder:
    """The second pass over a checked tree: the Python values, one object per tensor and view."""

    def __init__(self, arrays, view_arrays):
        self.arrays, self.view_arrays = arrays, view_arrays

    def build(self, cur):
        stack = []  # [tag, items, keys or None, left]
        while True:
            key = None
            if stack and stack[-1][0] in (F.TAG_DICT, F.TAG_INT_DICT):
                key = self._key(cur, stack[-1][0])
            value, opened = self._head(cur)
            if opened is not None:
                stack.append(opened + [key])
                continue
            while True:
                if not stack:
                    return value
                frame = stack[-1]
                if isinstance(frame[1], dict):
                    frame[1][key] = value
                else:
                    frame[1].append(value)
                frame[2] -= 1
                if frame[2]:
                    break
                stack.pop()
                tag, items, _, key = frame
                value = tuple(items) if tag == F.TAG_TUPLE else items

    @staticmethod
    def _key(cur, tag):
        if tag == F.TAG_INT_DICT and cur.u8() == F.TAG_INT:
            return cur.unpack("q")[0]
        return cur.string()

    def _head(self, cur):
        tag = cur.u8()
        if tag in F.SCALAR_TAGS:
            return _parse_scalar(cur, tag), None
        n = cur.u32()
        if tag == F.TAG_TENSOR:
            return self.arrays[n], None
        if tag == F.TAG_VIEW:
            return self.view_arrays[n], None
        items = {} if tag in (F.TAG_DICT, F.TAG_INT_DICT) else []
        if n == 0:
            return (() if tag == F.TAG_TUPLE else items), None
        return None, [tag, items, n]


# ---------------------------------------------------------------- index payload


def _read_metadata(cur):
    """Metadata: unique, non-empty, NUL-free string keys to scalars (index part 1)."""
    meta = {}
    for _ in range(cur.count(F.MIN_META_ENTRY, "metadata entries")):
        at = cur.pos
        key = cur.string("metadata key")
        if not key or "\0" in key:
            cur.fail("metadata key " + ("is empty" if not key else "contains a NUL byte"), at)
        if key in meta:
            cur.fail(f"duplicate metadata key {key!r}", at)
        tag_at = cur.pos
        tag = cur.u8()
        if tag not in F.SCALAR_TAGS:
            cur.fail(f"metadata '{key}' has tag {tag}; metadata values are tags 0-5", tag_at)
        meta[key] = _parse_scalar(cur, tag)
    return meta


def _read_table_row(cur, i, previous):
    """Index part 3, one row: (record offset, P, checksum, dtype code, sizes)."""
    at = cur.pos
    offset, size, checksum, code, rank = cur.unpack("QQQBB")
    if code not in F.DTYPES:
        cur.fail(f"tensor {i}: unknown dtype code {code}", at + 24)
    if rank > F.MAX_RANK:
        cur.fail(f"tensor {i}: rank {rank}", at + 25)
    sizes = cur.unpack(f"{rank}Q")
    if any(s > F.MAX_U63 for s in sizes):
        cur.fail("tensor size exceeds 2^63-1", at)
    expected = _bytes_within_rule(sizes, F.DTYPES[code][2])
    if expected is None:
        cur.fail(f"tensor {i}: sizes {list(sizes)} overflow 2^62 bytes", at)
    if expected != size:
        cur.fail(f"tensor {i}: payload size {size} does not match dtype and sizes", at)
    if offset % F.ALIGN or offset < F.HEADER_SIZE or (previous and offset <= previous[0]):
        cur.fail(f"tensor {i}: record offset {offset} is misaligned, inside the header, or not "
                 "after the previous record", at)
    return offset, size, checksum, code, tuple(sizes)


def _read_tensor_table(cur):
    """Index part 3: one row per tensor record, at increasing aligned offsets."""
    rows = []
    for i in range(cur.count(F.MIN_TENSOR_ROW, "tensor table")):
        rows.append(_read_table_row(cur, i, rows[-1] if rows else None))
    return rows


def _view_field(cur, i, what):
    at = cur.pos
    v = cur.u64()
    if v > F.MAX_U63:
        cur.fail(f"view {i}: {what} exceeds 2^63-1", at)
    return v


def _read_view_row(cur, i, rows):
    """Index part 4, one row, then its rules against its record (refused at the row)."""
    at = cur.pos
    rec = cur.u32()
    offset = _view_field(cur, i, "offset")
    rank = cur.u8()
    if rank > F.MAX_RANK:
        cur.fail(f"view {i}: rank {rank}", at + 12)
    cur.need(16 * rank, "view sizes and strides")
    sizes = tuple(_view_field(cur, i, "size") for _ in range(rank))
    strides = tuple(_view_field(cur, i, "stride") for _ in range(rank))
    if rec >= len(rows):
        cur.fail(f"view {i} refers to tensor {rec} but the file has {len(rows)} tensors", at)
    code, rsizes = rows[rec][3], rows[rec][4]
    if _bytes_within_rule(sizes, F.DTYPES[code][2]) is None:
        cur.fail(f"view {i}: sizes {list(sizes)} overflow 2^62 bytes", at)
    if 0 in sizes:
        cur.fail(f"view {i} has no elements; an empty tensor is a record (tag 6)", at)
    _check_view_layout(cur, i, at, offset, sizes, strides, rsizes)
    return rec, offset, sizes, strides


def _check_view_layout(cur, i, at, offset, sizes, strides, rsizes):
    """Inside the record, no element twice, and not the record as stored."""
    count = 1
    for s in rsizes:
        count *= s
    if offset + sum((n - 1) * k for n, k in zip(sizes, strides)) >= count:
        cur.fail(f"view {i} runs past the {count} elements of its record", at)
    reach = 0
    for n, k in sorted(((n, k) for n, k in zip(sizes, strides) if n > 1), key=lambda d: d[1]):
        if k <= reach:
            cur.fail(f"view {i} reaches an element twice", at)
        reach += (n - 1) * k
    if offset == 0 and sizes == rsizes:
        expect, row_major = 1, True
        for n, k in reversed(list(zip(sizes, strides))):
            row_major &= n == 1 or k == expect
            expect *= n
        if row_major:
            cur.fail(f"view {i} is all of tensor as it is stored; that is tag 6", at)


def _view_layout_key(rec, offset, sizes, strides):
    """Layout identity: strides of size-1 dimensions reach nothing, so they do not count."""
    return rec, offset, sizes, tuple(k if n > 1 else 0 for n, k in zip(sizes, strides))


def _read_view_table(cur, rows):
    """Index part 4 (2.1): rows, then each layout once (refused at the table's end)."""
    views = [_read_view_row(cur, i, rows)
             for i in range(cur.count(F.MIN_VIEW_ROW, "view table"))]
    seen = {}
    for i, row in enumerate(views):
        first = seen.setdefault(_view_layout_key(*row), i)
        if first != i:
            cur.fail(f"view {i} repeats view {first}")
    return views


def _cross_check(refs, rows, views, payload_at):
    """Ids in range, every view referenced, every record referenced ("Values")."""
    used, viewed = set(), set()
    for tag, rid, _ in refs:
        limit, what = (len(rows), "tensor") if tag == F.TAG_TENSOR else (len(views), "view")
        if rid >= limit:
            raise FormatError(f"value refers to {what} {rid} but the file has {limit} {what}s",
                              payload_at, "index")
        (used if tag == F.TAG_TENSOR else viewed).add(rid)
    for v, row in enumerate(views):
        if v not in viewed:
            raise FormatError(f"view {v} is not referenced by the value tree", payload_at,
                              "index")
        used.add(row[0])
    for t in range(len(rows)):
        if t not in used:
            raise FormatError(f"tensor {t} is not referenced by the value tree", payload_at,
                              "index")


def _parse_index(buf, index_at, p, version):
    """The index payload: metadata, tree (checked), tables, nothing else, cross-checks."""
    start = index_at + 64
    cur = _Cursor(buf, start, start + p, "index")
    meta = _read_metadata(cur)
    tree_at = cur.pos
    refs = _check_tree(cur, version)
    rows = _read_tensor_table(cur)
    views = _read_view_table(cur, rows) if F.views_allowed(version) else []
    if cur.remaining():
        cur.fail(f"{cur.remaining()} unexpected bytes after the last table")
    _cross_check(refs, rows, views, start)
    return meta, tree_at, refs, rows, views


def _check_rows_against_records(records, hashes, refs, rows, views, index_at):
    """Each table row agrees with its record, and each payload with the row's checksum."""
    if len(rows) != len(records):
        raise FormatError(f"lists {len(rows)} tensors but the file holds {len(records)}",
                          index_at, "index")
    for i, (rec, row) in enumerate(zip(records, rows)):
        at, _, code, sizes, _ = rec
        if (row[0], row[3], row[4]) != (at, code, sizes):
            raise FormatError(f"index row (offset {row[0]}) disagrees with the record", at,
                              f"tensor {_tensor_name(refs, views, i)}")
        if hashes[i] is not None and hashes[i] != row[2]:
            raise FormatError(f"payload checksum mismatch (index says {row[2]:#018x})", at,
                              f"tensor {_tensor_name(refs, views, i)}")


# ---------------------------------------------------------------- assembly


def _load_tensor(buf, rec):
    """A record's payload as a NumPy array over `buf` itself: no copy (the caller's buffer is
    writable and private: a read, or a copy-on-write map)."""
    _, p, code, sizes, payload_at = rec
    data = buf[payload_at:payload_at + p]
    return np.frombuffer(data, dtype=F.DTYPES[code][1]).reshape(sizes)


def _make_view(base, offset, sizes, strides):
    """as_strided over the record's flattened memory: shares the record's buffer."""
    flat = base.reshape(-1)
    item = flat.itemsize
    # A size-1 dimension's stride reaches nothing and may be anything up to 2^63-1, which
    # times the item size can overflow NumPy's intp: such a stride becomes 0.
    return as_strided(flat[offset:], shape=sizes,
                      strides=[k * item if n > 1 or k * item <= F.MAX_U63 else 0
                               for n, k in zip(sizes, strides)])


def _decode(buf, version, verify, digests=None):
    """Header already read: the records, the trailer, the index, the rows against the records.

    `digests` maps (payload offset, size) to the XXH3-64 taken while the file was read."""
    records, hashes, index_at, p = _walk_records(buf, verify, digests)
    _read_trailer(buf, index_at + 64 + p + F.pad64(p), index_at, version, verify)
    meta, tree_at, refs, rows, views = _parse_index(buf, index_at, p, version)
    _check_rows_against_records(records, hashes, refs, rows, views, index_at)
    return _assemble(buf, records, views, tree_at, index_at + 64 + p), meta, version


def _assemble(buf, records, views, tree_at, tree_end):
    """The value tree of a checked file: one array over `buf` per record, one as_strided
    array per view row, the tree (bytes tree_at to tree_end) built around them."""
    arrays = [_load_tensor(buf, r) for r in records]
    view_arrays = [_make_view(arrays[r], o, s, k) for r, o, s, k in views]
    return _Builder(arrays, view_arrays).build(_Cursor(buf, tree_at, tree_end, "index"))


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
