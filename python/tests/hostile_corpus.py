"""Hostile wick files that repeat or claim much for little: the corpus of test_bounds.py.

Built field by field with builder.py (independent of the reader). Each entry is (name, bytes);
some load, the rest must be refused. Repeat counts are multiplied by `scale`:
at 1 the suite, which runs every case twice on five paths (once under tracemalloc, about ten
times slower), stays within 20 s; larger scales show the per-item costs above the constant.
"""

import struct

import numpy as np

import builder as B
from builder import DICT, INT, INT_DICT, LIST, NONE, STR, TENSOR, VIEW

F32_12 = np.arange(12, dtype="<f4").tobytes()
NUMBERS = np.arange(10, dtype="<i8").tobytes()
MAX_U32 = 2**32 - 1


def one_tensor(tree, **kw):
    """`tree` over one float32 3x4 tensor record (tied.wick's)."""
    return B.build(tree, tensors=[(8, (3, 4), F32_12)], **kw)


def many(item, n, tag=b"\7"):
    """A list (or tuple, tag 9) of n copies of one encoded value."""
    return tag + B.u32(n) + item * n


def nested(depth, leaf):
    return b"".join(b"\7" + B.u32(1) for _ in range(depth)) + leaf


def long_key_refs(key_bytes=65536, refs=1024):
    """One 64 KiB key above `refs` references: spelling every path costs refs * 64 KiB."""
    return one_tensor(DICT(("k" * key_bytes, many(TENSOR(0), refs))))


def deep_long_keys(depth=512, key_bytes=1024):
    """Nesting 512 deep through dicts with 1 KiB keys, a tensor at the bottom."""
    v = TENSOR(0)
    for i in range(depth):
        v = DICT((f"{i:04d}" + "k" * (key_bytes - 4), v))
    return one_tensor(v)


def view_rows(n, rank=1):
    """n distinct views of one int8 record of n + 1 elements, each referenced once."""
    payload = bytes(range(256)) * ((n + 1) // 256 + 1)
    payload = payload[:n + 1]
    rows = [B.view_row(0, i + 1, (1,) * rank, (1,) * rank) for i in range(n)]
    tree = LIST(TENSOR(0), *[VIEW(i) for i in range(n)])
    return B.build(tree, tensors=[(1, (n + 1,), payload)], views=rows, version=(2, 1))


def rank32_view_refs(refs):
    """A rank-32 view (13 + 512 bytes of row) referenced `refs` times (5 bytes each)."""
    rows = [B.view_row(0, 1, (1,) * 31 + (3,), (7,) * 31 + (3,))]
    tree = LIST(TENSOR(0), many(VIEW(0), refs))
    return B.build(tree, tensors=[(5, (10,), NUMBERS)], views=rows, version=(2, 1))


def many_records(n):
    """n one-byte tensor records (192 bytes of file each), each referenced once."""
    tensors = [(1, (1,), bytes([i % 256])) for i in range(n)]
    return B.build(LIST(*[TENSOR(i) for i in range(n)]), tensors=tensors)


def many_dict_keys(n):
    return one_tensor(DICT(("t", TENSOR(0)), *[(f"{i}", NONE) for i in range(n)]))


def many_int_keys(n):
    """A tag-10 dict of int keys and non-digit string keys: every twin check runs."""
    pairs = [(i, NONE) for i in range(n)] + [(f"s{i}", NONE) for i in range(n)]
    return one_tensor(LIST(TENSOR(0), INT_DICT(*pairs)), version=(2, 0))


def many_metadata(n):
    return one_tensor(TENSOR(0), meta=[(f"key{i}", INT(i)) for i in range(n)])


def many_strings(n):
    return one_tensor(LIST(TENSOR(0), many(STR("ab"), n)))


def many_empty_containers(n):
    """Five-byte empty lists: each becomes a Python list (56 bytes) and a pointer."""
    return one_tensor(LIST(TENSOR(0), many(LIST(), n)))


def huge_empty_tensor(refs):
    """An empty tensor whose sizes claim 2^62 bytes, referenced `refs` times."""
    return B.build(many(TENSOR(0), refs), tensors=[(8, (2**60, 0, 1), b"")])


def hostile_files(scale=1.0):
    """(name, bytes, loads) for every case; `scale` multiplies the repeat counts."""
    def n(count):
        return max(2, int(count * scale))
    ok = [
        (f"{n(50000)} one-byte nones", one_tensor(LIST(TENSOR(0), many(NONE, n(50000))))),
        (f"a tensor referenced {n(10000)} times", one_tensor(many(TENSOR(0), n(10000)))),
        (f"a tensor referenced {n(2000)} times in a tuple",
         one_tensor(many(TENSOR(0), n(2000), tag=b"\x09"), version=(2, 0))),
        (f"one 64 KiB key over {n(1024)} references", long_key_refs(refs=n(1024))),
        ("nesting 512 deep", one_tensor(nested(511, LIST(TENSOR(0))))),
        ("nesting 512 deep through 1 KiB keys", deep_long_keys()),
        (f"{n(600)} view rows of one record", view_rows(n(600))),
        (f"{n(150)} rank-32 view rows", view_rows(n(150), rank=32)),
        (f"a rank-32 view referenced {n(1000)} times", rank32_view_refs(n(1000))),
        (f"a rank-32 tensor referenced {n(1000)} times",
         B.build(many(TENSOR(0), n(1000)), tensors=[(1, (1,) * 32, b"\7")])),
        (f"{n(150)} tensor records", many_records(n(150))),
        (f"{n(1000)} dict keys", many_dict_keys(n(1000))),
        (f"{n(1000)} int and string keys", many_int_keys(n(500))),
        (f"{n(2000)} metadata keys", many_metadata(n(2000))),
        (f"{n(1000)} short strings", many_strings(n(1000))),
        (f"{n(1000)} empty lists", many_empty_containers(n(1000))),
        (f"empty tensors claiming 2^62 bytes, {n(1000)} references", huge_empty_tensor(n(1000))),
    ]
    big = B.u32(MAX_U32)
    refused = [
        ("nesting 513 deep", one_tensor(nested(512, LIST(TENSOR(0))))),
        ("a list claiming 2^32-1 items", one_tensor(LIST(TENSOR(0), b"\7" + big))),
        ("a dict claiming 2^32-1 entries", one_tensor(b"\x08" + big)),
        ("a tuple claiming 2^32-1 items", one_tensor(b"\x09" + big, version=(2, 0))),
        ("a tag-10 dict claiming 2^32-1 entries", one_tensor(b"\x0a" + big, version=(2, 0))),
        ("a string claiming 2^32-1 bytes", one_tensor(LIST(TENSOR(0), b"\5" + big))),
        ("a key claiming 2^32-1 bytes", one_tensor(b"\x08" + B.u32(1) + big)),
        ("metadata claiming 2^32-1 entries", _metadata_count_file()),
        ("a tensor table claiming 2^32-1 rows", _table_count_file()),
        ("a view table claiming 2^32-1 rows", _view_count_file()),
        ("a tensor claiming 2^62 bytes", B.build(TENSOR(0), tensors=[(1, (2**62,), b"")])),
        ("a tensor claiming 2^63 bytes", B.build(TENSOR(0), tensors=[(8, (2**60,), b"")])),
        ("a view claiming 2^62 bytes",
         B.build(LIST(TENSOR(0), VIEW(0)), tensors=[(5, (10,), NUMBERS)],
                 views=[B.view_row(0, 0, (2**61, 2), (1, 1))], version=(2, 1))),
        (f"{n(1000)} references, the last to a missing tensor",
         one_tensor(LIST(many(TENSOR(0), n(1000)), TENSOR(1)))),
        (f"{n(1000)} nones, then an unknown tag",
         one_tensor(LIST(TENSOR(0), many(NONE, n(1000)), b"\x0c"))),
        (f"{n(1000)} dict keys, the last a duplicate",
         one_tensor(DICT(("t", TENSOR(0)), *[(f"{i}", NONE) for i in range(n(1000))],
                         ("7", NONE)))),
        (f"{n(600)} view rows, the last a repeat", _repeated_view_row(n(600))),
    ]
    return [(name, d, True) for name, d in ok] + [(name, d, False) for name, d in refused]


def _metadata_count_file():
    """An index payload whose metadata count is 2^32-1 (the builder counts its own)."""
    data = bytearray(one_tensor(TENSOR(0)))
    return _patch_index(data, 0, B.u32(MAX_U32))


def _table_count_file():
    data = one_tensor(TENSOR(0))
    return _patch_index(bytearray(data), 4 + len(TENSOR(0)), B.u32(MAX_U32))


def _view_count_file():
    data = B.build(TENSOR(0), tensors=[(5, (10,), NUMBERS)], views=[], version=(2, 1))
    index_at = struct.unpack_from("<Q", data, len(data) - 64)[0]
    p = struct.unpack_from("<Q", data, index_at + 8)[0]
    return _patch_index(bytearray(data), p - 4, B.u32(MAX_U32))


def _patch_index(data, at, new):
    """Overwrite index payload bytes at `at` and recompute every checksum over them."""
    index_at = struct.unpack_from("<Q", data, len(data) - 64)[0]
    p = struct.unpack_from("<Q", data, index_at + 8)[0]
    data[index_at + 64 + at:index_at + 64 + at + len(new)] = new
    digest = B.u64(B.xxh3(data[index_at + 64:index_at + 64 + p]))
    data[index_at + 16:index_at + 24] = digest
    data[index_at + 56:index_at + 64] = B.u64(B.xxh3(data[index_at:index_at + 56]))
    t = len(data) - 64
    data[t + 16:t + 24] = digest
    data[t + 48:t + 56] = B.u64(B.xxh3(data[t:t + 48]))
    return bytes(data)


def _repeated_view_row(n):
    rows = [B.view_row(0, i + 1, (1,), (1,)) for i in range(n)] + [B.view_row(0, 1, (1,), (5,))]
    tree = LIST(TENSOR(0), *[VIEW(i) for i in range(n + 1)])
    return B.build(tree, tensors=[(1, (n + 1,), bytes(n + 1))], views=rows, version=(2, 1))
