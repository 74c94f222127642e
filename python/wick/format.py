"""Constants and layout of the wick format, each named once (io/FORMAT.md, version 2.1)."""

import numpy as np

# "File header (64 bytes)"
MAGIC = b"\x89WICK\r\n\x1a"
BYTE_ORDER_MARK = b"\x04\x03\x02\x01"
HEADER_SIZE = 64
PRODUCER_START, PRODUCER_END = 24, 56

# "Version history": the newest version this reader knows.
READER_MAJOR, READER_MINOR = 2, 1

# "Records"
ALIGN = 64
RECORD_PREFIX = 16
MAX_RECORD_HEADER = 512
FLAG_OPTIONAL = 1
KIND_TENSOR = 1
KIND_INDEX = 2

# "Trailer (64 bytes)"
TRAILER_SIZE = 64
END_MAGIC = b"WICKEND\n"

# "Kind 1: tensor"
MAX_RANK = 32
MAX_U63 = 2**63 - 1
MAX_BYTES = 2**62  # the 2^62 rule

# bfloat16 has no NumPy dtype: its raw bits are uint16 carrying this marker in the dtype's
# metadata, so that an array loaded as bfloat16 saves as bfloat16 again.
BFLOAT16 = np.dtype("<u2", metadata={"wick_dtype": "bfloat16"})
BFLOAT16_CODE = 7

# What this package writes in the header's producer field: the project's version.
PRODUCER = b"wick 0.1.0"

# code -> (name, numpy dtype, size).
DTYPES = {
    0: ("bool", np.dtype("?"), 1),
    1: ("uint8", np.dtype("u1"), 1),
    2: ("int8", np.dtype("i1"), 1),
    3: ("int16", np.dtype("<i2"), 2),
    4: ("int32", np.dtype("<i4"), 4),
    5: ("int64", np.dtype("<i8"), 8),
    6: ("float16", np.dtype("<f2"), 2),
    7: ("bfloat16", BFLOAT16, 2),
    8: ("float32", np.dtype("<f4"), 4),
    9: ("float64", np.dtype("<f8"), 8),
}
BOOL_CODE = 0

# "Values"
TAG_NONE, TAG_FALSE, TAG_TRUE, TAG_INT, TAG_FLOAT, TAG_STRING = 0, 1, 2, 3, 4, 5
TAG_TENSOR, TAG_LIST, TAG_DICT, TAG_TUPLE, TAG_INT_DICT, TAG_VIEW = 6, 7, 8, 9, 10, 11
TAG_NAMES = {9: "tuple", 10: "dict with int keys", 11: "view"}
TAG_SINCE = {TAG_TUPLE: (2, 0), TAG_INT_DICT: (2, 0), TAG_VIEW: (2, 1)}
SCALAR_TAGS = range(0, 6)
MAX_DEPTH = 512
# Least bytes per counted item, to check counts before allocating ("Values", rules).
MIN_VALUE, MIN_DICT_ENTRY, MIN_INT_DICT_ENTRY, MIN_META_ENTRY = 1, 5, 6, 5
MIN_TENSOR_ROW = 26  # offset, size, checksum (8 each), dtype, rank
MIN_VIEW_ROW = 13  # record, offset, rank


def tensor_header_size(rank):
    """H = 64 * ceil((32 + 8r) / 64) ("Kind 1: tensor")."""
    return ALIGN * -(-(32 + 8 * rank) // ALIGN)


def pad64(n):
    """Zero bytes that bring offset n to a multiple of 64 ("Conventions")."""
    return -n % ALIGN


def views_allowed(version):
    """The view table and tag 11 exist from 2.1, within major 2 ("Version history")."""
    return version[0] == 2 and version[1] >= 1
