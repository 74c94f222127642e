"""Hand-built wick files, written field by field from io/FORMAT.md, for the hostile tests.

Independent of the reader on purpose: only struct and xxhash, so the reader cannot agree with
itself by sharing a mistake.
"""

import struct

import xxhash

MAGIC = b"\x89WICK\r\n\x1a"


def xxh3(data):
    return xxhash.xxh3_64_intdigest(bytes(data))


def u32(n):
    return struct.pack("<I", n)


def u64(n):
    return struct.pack("<Q", n)


def pad64(n):
    return b"\0" * (-n % 64)


def string(s):
    raw = s.encode() if isinstance(s, str) else s
    return u32(len(raw)) + raw


# Values ("Values"): each returns the encoded bytes.
NONE, FALSE, TRUE = b"\0", b"\1", b"\2"


def INT(i):
    return b"\3" + struct.pack("<q", i)


def FLOAT(x):
    return b"\4" + struct.pack("<d", x)


def STR(s):
    return b"\5" + string(s)


def TENSOR(i):
    return b"\6" + u32(i)


def VIEW(i):
    return b"\x0b" + u32(i)


def LIST(*items):
    return b"\7" + u32(len(items)) + b"".join(items)


def TUPLE(*items):
    return b"\x09" + u32(len(items)) + b"".join(items)


def DICT(*pairs):
    """Tag 8: (str key, value bytes) pairs."""
    return b"\x08" + u32(len(pairs)) + b"".join(string(k) + v for k, v in pairs)


def INT_DICT(*pairs):
    """Tag 10: (int or str key, value bytes) pairs."""
    body = b"".join((INT(k) if isinstance(k, int) else STR(k)) + v for k, v in pairs)
    return b"\x0a" + u32(len(pairs)) + body


def header(major=1, minor=0, producer=b"wick 0.1.0"):
    h = MAGIC + struct.pack("<HH", major, minor) + bytes([4, 3, 2, 1])
    h += struct.pack("<II", 64, 0) + producer.ljust(32, b"\0")
    return h + u64(xxh3(h))


def record(kind, fields, payload, flags=0, header_size=None):
    """A record: prefix, kind-specific fields, zero padding, header checksum, payload."""
    size = header_size or 64 * -(-(16 + len(fields) + 8) // 64)
    head = struct.pack("<IHHQ", kind, flags, size, len(payload)) + fields
    head = head.ljust(size - 8, b"\0")
    return head + u64(xxh3(head)) + payload + pad64(len(payload))


def tensor_record(tid, code, sizes, payload):
    fields = struct.pack("<IBBH", tid, code, len(sizes), 0) + b"".join(u64(s) for s in sizes)
    return record(1, fields, payload)


def tensor_row(offset, code, sizes, payload):
    return (u64(offset) + u64(len(payload)) + u64(xxh3(payload)) + bytes([code, len(sizes)])
            + b"".join(u64(s) for s in sizes))


def view_row(rec, offset, sizes, strides):
    return (u32(rec) + u64(offset) + bytes([len(sizes)]) + b"".join(u64(s) for s in sizes)
            + b"".join(u64(s) for s in strides))


def build(tree, tensors=(), views=None, meta=(), version=(1, 0), extra=b"",
          rows=None, index_tail=b""):
    """A whole file. tensors: (code, sizes, payload bytes); views: view_row() bytes or None
    for a file before 2.1; meta: (key, scalar bytes); extra: records placed before the index;
    rows: replacement tensor table rows."""
    out = bytearray(header(*version))
    auto_rows = []
    for i, (code, sizes, payload) in enumerate(tensors):
        auto_rows.append(tensor_row(len(out), code, sizes, payload))
        out += tensor_record(i, code, sizes, payload)
    out += extra
    payload = u32(len(meta)) + b"".join(string(k) + v for k, v in meta) + tree
    table = rows if rows is not None else auto_rows
    payload += u32(len(table)) + b"".join(table)
    if views is not None:
        payload += u32(len(views)) + b"".join(views)
    payload += index_tail
    index_at = len(out)
    out += record(2, u64(xxh3(payload)) + b"\0" * 32, payload)
    trailer = (u64(index_at) + u64(len(out) + 64) + u64(xxh3(payload))
               + struct.pack("<HH", *version) + b"\0" * 20)
    return bytes(out + trailer + u64(xxh3(trailer)) + b"WICKEND\n")
