"""Broken files are refused with a FormatError naming the offset and the structure hit."""

import pathlib
import struct

import numpy as np
import pytest

import wick
import builder as B
from builder import DICT, INT, INT_DICT, LIST, NONE, TENSOR, TUPLE, VIEW

DATA = pathlib.Path(__file__).resolve().parents[2] / "tests" / "data"
TIED = (DATA / "tied.wick").read_bytes()
F32_12 = np.arange(12, dtype="<f4").tobytes()  # tied.wick's one tensor, 3x4
TENSOR_PAYLOAD_AT = 128  # tied.wick: header 64, tensor record header 64


def refuse(data, match=None, **kw):
    """Load from bytes and return the FormatError, which must be raised."""
    path = pathlib.Path(refuse.tmp) / "f.wick"
    path.write_bytes(bytes(data))
    with pytest.raises(wick.FormatError) as info:
        wick.load(path, **kw)
    err = info.value
    assert isinstance(err, ValueError) and err.structure
    assert err.structure in str(err)
    if err.offset is not None:
        assert f"offset {err.offset}" in str(err)
    if match:
        assert match in str(err), str(err)
    return err


def loads(data):
    path = pathlib.Path(refuse.tmp) / "ok.wick"
    path.write_bytes(bytes(data))
    return wick.load_with_metadata(path)


@pytest.fixture(autouse=True)
def _tmp(tmp_path):
    refuse.tmp = tmp_path


def patch(data, at, new):
    out = bytearray(data)
    out[at:at + len(new)] = new
    return out


def rehash_header(data):
    return patch(data, 56, B.u64(B.xxh3(data[:56])))


def rehash_trailer(data):
    t = len(data) - 64
    return patch(data, t + 48, B.u64(B.xxh3(data[t:t + 48])))


def with_version(data, major, minor):
    """Set the version in header and trailer, checksums recomputed, so only it differs."""
    data = patch(data, 8, struct.pack("<HH", major, minor))
    data = patch(data, len(data) - 40, struct.pack("<HH", major, minor))
    return rehash_trailer(rehash_header(data))


def tied_tree_file(tree, **kw):
    return B.build(tree, tensors=[(8, (3, 4), F32_12)], **kw)


# ---------------------------------------------------------------- byte-level damage


def test_a_flipped_payload_byte_fails_its_checksum_naming_the_offset():
    err = refuse(patch(TIED, TENSOR_PAYLOAD_AT + 5, b"\x7f"), "payload checksum mismatch")
    # At the record, named by the tensor's first path (FORMAT.md "What a refusal reports").
    assert err.offset == 64 and err.structure == "tensor '/encoder.weight'"


def test_without_verification_the_flipped_payload_loads_changed():
    path = pathlib.Path(refuse.tmp) / "flip.wick"
    path.write_bytes(bytes(patch(TIED, TENSOR_PAYLOAD_AT + 4, b"\0\0\0\0")))
    assert wick.load(path, verify=False)["encoder.weight"][0, 1] == 0.0


def test_every_single_bit_flip_of_tied_wick_is_refused():
    for at in range(len(TIED)):
        for bit in (0x01, 0x80):
            with pytest.raises(wick.FormatError):
                wick.load(__import__("io").BytesIO(bytes(patch(TIED, at, [TIED[at] ^ bit]))))


@pytest.mark.parametrize("size", [0, 7, 63, 64, 100, 127, 128, 300, len(TIED) - 64, len(TIED) - 1])
def test_truncations_are_refused(size):
    refuse(TIED[:size])


def test_wrong_magic():
    err = refuse(patch(TIED, 1, b"X"), "bad magic")
    assert (err.offset, err.structure) == (0, "file header")


def test_big_endian_byte_order_mark():
    err = refuse(rehash_header(patch(TIED, 12, b"\1\2\3\4")), "byte order mark")
    assert err.offset == 12


def test_header_checksum():
    err = refuse(patch(TIED, 30, b"Z"), "header checksum mismatch")
    assert (err.offset, err.structure) == (0, "file header")


def test_a_newer_major_is_refused_naming_both_versions():
    err = refuse(rehash_header(patch(TIED, 8, b"\3\0")),
                 "format version 3.0 is newer than this reader's 2.1; upgrade wick to read it")
    assert (err.offset, err.structure) == (8, "file header")


def test_major_zero_is_refused():
    assert refuse(rehash_header(patch(TIED, 8, b"\0\0")), "invalid format major").offset == 8


def test_header_size_and_flags():
    assert refuse(rehash_header(patch(TIED, 16, b"\x80")), "header size").offset == 16
    err = refuse(rehash_header(patch(TIED, 21, b"\1")), "padding/reserved byte is 1")
    assert (err.offset, err.structure) == (21, "file header flags")


def test_producer_padding_after_the_nul_is_zero():
    assert refuse(rehash_header(patch(TIED, 50, b"x")), "producer padding").offset == 50


def test_a_reserved_trailer_byte_is_refused():
    t = len(TIED) - 64
    err = refuse(rehash_trailer(patch(TIED, t + 33, b"\1")), "padding/reserved byte is 1")
    assert (err.offset, err.structure) == (t + 33, "trailer reserved bytes")


def test_a_reserved_index_byte_is_refused():
    index_at = struct.unpack_from("<Q", TIED, len(TIED) - 64)[0]
    data = patch(TIED, index_at + 40, b"\1")
    data = patch(data, index_at + 56, B.u64(B.xxh3(data[index_at:index_at + 56])))
    err = refuse(data, "padding/reserved byte is 1")
    assert (err.offset, err.structure) == (index_at + 40, "index record reserved bytes")


def test_a_byte_after_the_trailer_is_refused():
    assert refuse(TIED + b"\0").structure == "trailer"


def test_a_trailer_version_differing_from_the_header():
    data = rehash_trailer(patch(TIED, len(TIED) - 40, b"\2\0"))
    err = refuse(data, "does not match the file")
    assert (err.offset, err.structure) == (len(TIED) - 64, "trailer")


def test_a_trailer_file_size_that_is_not_the_real_size():
    data = rehash_trailer(patch(TIED, len(TIED) - 56, B.u64(len(TIED) + 64)))
    err = refuse(data, "size 512 (found 448)")
    assert (err.offset, err.structure) == (len(TIED) - 64, "trailer")


# ---------------------------------------------------------------- versions


def test_tuples_in_a_1_0_file_name_the_versions():
    refuse(tied_tree_file(TUPLE(TENSOR(0))), "value tag 9 (tuple) needs format 2.0; the file is 1.0")
    refuse(tied_tree_file(INT_DICT((0, TENSOR(0)))), "value tag 10 (dict with int keys) needs format 2.0")
    golden_2_0 = (DATA / "checkpoint_2_0.wick").read_bytes()
    refuse(with_version(golden_2_0, 1, 0), "needs format 2.0; the file is 1.0")


def test_views_in_a_2_0_file_name_the_versions():
    golden_2_1 = (DATA / "views_2_1.wick").read_bytes()
    refuse(with_version(golden_2_1, 2, 0), "value tag 11 (view) needs format 2.1; the file is 2.0")


def test_a_newer_minor_loads_and_its_refusals_name_both_versions():
    golden_2_1 = (DATA / "views_2_1.wick").read_bytes()
    value, _, version = loads(with_version(golden_2_1, 2, 2))
    assert version == (2, 2) and np.shares_memory(value["evens"], value["numbers"])
    err = refuse(tied_tree_file(b"\x0c", version=(2, 2), views=[]), "unknown value tag 12; "
                 "the file is format 2.2, newer than this reader's 2.1: unless it is damaged")
    assert err.structure == "index"


# ---------------------------------------------------------------- records


def test_an_unknown_optional_record_is_skipped_and_a_required_one_refused():
    optional = B.record(77, B.u64(B.xxh3(b"hello")), b"hello", flags=1)
    assert loads(tied_tree_file(TENSOR(0), extra=optional))[0] is not None
    refuse(tied_tree_file(TENSOR(0), extra=B.record(77, B.u64(0), b"", flags=0)),
           "unknown required record kind 77")
    bad_payload = B.record(77, B.u64(B.xxh3(b"hellO")), b"hello", flags=1)
    refuse(tied_tree_file(TENSOR(0), extra=bad_payload), "payload checksum mismatch")
    refuse(tied_tree_file(TENSOR(0), extra=B.record(77, B.u64(0), b"", flags=2)),
           "unknown flag bits")


@pytest.mark.parametrize("header_size", [72, 576])
def test_record_header_sizes_outside_the_rules(header_size):
    extra = B.record(77, B.u64(0), b"", flags=1)
    extra = patch(extra, 6, struct.pack("<H", header_size))
    err = refuse(tied_tree_file(TENSOR(0), extra=bytes(extra)), "is not a multiple of 64")
    assert err.structure == "record header (kind 77)"


def test_dtype_code_and_rank():
    refuse(B.build(TENSOR(0), tensors=[(10, (1,), b"\0")]), "unknown dtype code 10")
    refuse(B.build(TENSOR(0), tensors=[(1, (1,) * 33, b"\0")]), "rank 33 exceeds 32")
    assert loads(B.build(TENSOR(0), tensors=[(1, (1,) * 32, b"\7")]))[0].shape == (1,) * 32


def test_the_2_62_rule_for_an_empty_tensor():
    refuse(B.build(TENSOR(0), tensors=[(8, (2**60 + 1, 0), b"")]), "2^62")
    refuse(B.build(TENSOR(0), tensors=[(8, (2**63, 0), b"")]), "exceeds 2^63-1")
    # Exactly 2^62 bytes "stays within" 2^62.
    assert loads(B.build(TENSOR(0), tensors=[(8, (2**60, 0), b"")]))[0].shape == (2**60, 0)


def test_payload_size_must_match_the_sizes():
    refuse(B.build(TENSOR(0), tensors=[(8, (3,), b"\0" * 8)]), "does not match dtype and sizes")


def test_tensor_ids_in_order_without_gaps():
    data = bytearray(B.build(LIST(TENSOR(0), TENSOR(1)),
                             tensors=[(1, (1,), b"\1"), (1, (1,), b"\2")]))
    data = patch(data, 64 + 128 + 16, B.u32(5))  # second record's id
    data = patch(data, 64 + 128 + 56, B.u64(B.xxh3(data[192:248])))
    refuse(data, "tensor id 5, expected 1")


def test_the_index_row_must_agree_with_the_record():
    row = B.tensor_row(64, 8, (4, 3), F32_12)
    err = refuse(tied_tree_file(TENSOR(0), rows=[row]), "disagrees with the record")
    assert (err.offset, err.structure) == (64, "tensor ''")
    refuse(tied_tree_file(TENSOR(0), rows=[]), "value refers to tensor 0 but the file has 0")


def test_bool_elements_are_0_or_1():
    assert loads(B.build(TENSOR(0), tensors=[(0, (2,), b"\0\1")]))[0].tolist() == [False, True]
    err = refuse(B.build(TENSOR(0), tensors=[(0, (2,), b"\1\2")]), "element 1 is byte 2")
    assert (err.offset, err.structure) == (129, "bool tensor #0")


# ---------------------------------------------------------------- values


def test_counts_are_checked_before_allocating():
    huge = b"\7" + B.u32(2**32 - 1)
    err = refuse(tied_tree_file(huge), "container items needs 4294967295 bytes")
    # After the count: where the items that cannot fit would start.
    assert err.offset == struct.unpack_from("<Q", TIED, len(TIED) - 64)[0] + 64 + 4 + 5
    refuse(tied_tree_file(b"\x08" + B.u32(10**9)), "container items")


def test_nesting_depth_512_loads_and_513_is_refused():
    def nested(depth):
        return b"".join(b"\7" + B.u32(1) for _ in range(depth - 1)) + LIST(TENSOR(0))
    value = loads(tied_tree_file(nested(512)))[0]
    for _ in range(511):
        value = value[0]
    assert value[0].shape == (3, 4)
    refuse(tied_tree_file(nested(513)), "nesting deeper than 512 levels")


def test_dict_key_rules():
    refuse(tied_tree_file(DICT(("a", TENSOR(0)), ("a", NONE))), "duplicate dict key 'a'")
    refuse(tied_tree_file(DICT(("a\0b", TENSOR(0)))), "NUL")
    assert list(loads(tied_tree_file(DICT(("", TENSOR(0)))))[0]) == [""]


def test_tag_10_rules():
    v = (2, 0)
    assert list(loads(B.build(INT_DICT((7, TENSOR(0)), ("07", NONE)), [(8, (3, 4), F32_12)],
                              version=v))[0]) == [7, "07"]
    refuse(B.build(INT_DICT(("a", TENSOR(0))), [(8, (3, 4), F32_12)], version=v), "has none")
    refuse(B.build(b"\x0a" + B.u32(0), [], version=v), "an empty dict with int keys")
    refuse(B.build(INT_DICT((7, TENSOR(0)), ("7", NONE)), [(8, (3, 4), F32_12)], version=v),
           "has both the int key 7 and the string key '7'")
    refuse(B.build(INT_DICT((-1, TENSOR(0)), (-1, NONE)), [(8, (3, 4), F32_12)], version=v),
           "duplicate dict key -1")
    bad_key = b"\x0a" + B.u32(1) + b"\4" + b"\0" * 8 + TENSOR(0)
    refuse(B.build(bad_key, [(8, (3, 4), F32_12)], version=v), "ints (3) or strings (5)")


def test_unknown_tag_and_unknown_tensor_id():
    refuse(tied_tree_file(LIST(TENSOR(0), b"\x0c")), "unknown value tag 12")
    refuse(tied_tree_file(LIST(TENSOR(0), TENSOR(1))), "value refers to tensor 1 but the file has 1")


def test_every_tensor_must_be_referenced():
    data = B.build(TENSOR(0), tensors=[(1, (1,), b"\1"), (1, (1,), b"\2")])
    err = refuse(data, "tensor 1 is not referenced by the value tree")
    index_payload_at = struct.unpack_from("<Q", data, len(data) - 64)[0] + 64
    assert (err.offset, err.structure) == (index_payload_at, "index")


def test_metadata_rules():
    assert loads(tied_tree_file(TENSOR(0), meta=[("k", INT(3))]))[1] == {"k": 3}
    refuse(tied_tree_file(TENSOR(0), meta=[("k", INT(3)), ("k", NONE)]), "duplicate metadata key")
    refuse(tied_tree_file(TENSOR(0), meta=[("", NONE)]), "metadata key is empty")
    refuse(tied_tree_file(TENSOR(0), meta=[("k", LIST())]), "metadata values are tags 0-5")


def test_the_index_payload_ends_after_the_last_table():
    refuse(tied_tree_file(TENSOR(0), index_tail=b"\0"), "1 unexpected bytes after the last table")


def test_a_bad_utf8_string():
    refuse(tied_tree_file(LIST(TENSOR(0), b"\5" + B.string(b"\xff"))), "UTF-8")


# ---------------------------------------------------------------- views (2.1)

NUMBERS = np.arange(10, dtype="<i8").tobytes()


def views_file(rows, tree=None, sizes=(10,)):
    tree = tree if tree is not None else LIST(TENSOR(0), *[VIEW(i) for i in range(len(rows))])
    return B.build(tree, tensors=[(5, sizes, NUMBERS)], views=rows, version=(2, 1))


def test_a_good_view_loads_over_its_record():
    value = loads(views_file([B.view_row(0, 1, (3,), (3,))]))[0]
    np.testing.assert_array_equal(value[1], [1, 4, 7])
    assert np.shares_memory(value[0], value[1])


@pytest.mark.parametrize("row, message", [
    (B.view_row(1, 0, (2,), (1,)), "view 0 refers to tensor 1 but the file has 1 tensors"),
    (B.view_row(0, 0, (1,) * 33, (1,) * 33), "view 0: rank 33"),
    (B.view_row(0, 2**63, (1,), (1,)), "view 0: offset exceeds 2^63-1"),
    (B.view_row(0, 0, (0,), (1,)), "view 0 has no elements"),
    (B.view_row(0, 5, (3,), (3,)), "view 0 runs past the 10 elements"),
    (B.view_row(0, 0, (2, 3), (0, 1)), "view 0 reaches an element twice"),
    (B.view_row(0, 0, (2, 3), (2, 1)), "view 0 reaches an element twice"),
    (B.view_row(0, 0, (10,), (1,)), "as it is stored; that is tag 6"),
    (B.view_row(0, 0, (2**61, 1), (1, 1)), "2^62"),
])
def test_view_row_rules(row, message):
    assert refuse(views_file([row]), message).structure == "index"


def test_a_view_of_size_1_dimensions_with_odd_strides_is_still_the_record():
    refuse(views_file([B.view_row(0, 0, (10, 1), (1, 99))], sizes=(10, 1)), "as it is stored")
    refuse(views_file([B.view_row(0, 0, (1, 10), (0, 1))], sizes=(1, 10)), "as it is stored")
    # A reshape with a size-1 dimension is a different layout from the record.
    assert loads(views_file([B.view_row(0, 0, (1, 10), (7, 1))]))[0][1].shape == (1, 10)


def test_two_rows_with_one_layout_are_refused():
    rows = [B.view_row(0, 0, (5, 1), (2, 3)), B.view_row(0, 0, (5, 1), (2, 4))]
    err = refuse(views_file(rows), "view 1 repeats view 0")
    assert err.structure == "index" and err.offset is not None


def test_every_view_must_be_referenced_and_view_ids_in_range():
    rows = [B.view_row(0, 0, (5,), (2,))]
    assert refuse(views_file(rows, tree=TENSOR(0)), "view 0 is not referenced").structure == "index"
    refuse(views_file(rows, tree=LIST(TENSOR(0), VIEW(0), VIEW(1))),
           "value refers to view 1 but the file has 1 views")


def test_a_record_referenced_only_by_a_view_loads():
    value = loads(views_file([B.view_row(0, 0, (5,), (2,))], tree=VIEW(0)))[0]
    np.testing.assert_array_equal(value, [0, 2, 4, 6, 8])


# ---------------------------------------------------------------- record layout details


def _tensor_fields(tid, code, sizes):
    return struct.pack("<IBBH", tid, code, len(sizes), 0) + b"".join(B.u64(s) for s in sizes)


def _file_with_tensor_record(record, sizes=(3, 4)):
    """tied.wick's value around a hand-made tensor record 0 at offset 64."""
    rows = [B.tensor_row(64, 8, sizes, F32_12)]
    return B.build(TENSOR(0), extra=record, rows=rows)


def test_a_hand_made_tensor_record_loads():
    assert loads(_file_with_tensor_record(B.record(1, _tensor_fields(0, 8, (3, 4)), F32_12)))


def test_a_tensor_header_size_other_than_the_ranks():
    rec = B.record(1, _tensor_fields(0, 8, (3, 4)), F32_12, header_size=128)
    assert refuse(_file_with_tensor_record(rec), "header size 128 for rank 2").offset == 70


def test_non_zero_tensor_header_padding_and_reserved_bytes():
    rec = B.record(1, _tensor_fields(0, 8, (3, 4)) + b"\1", F32_12)
    err = refuse(_file_with_tensor_record(rec), "padding/reserved byte is 1")
    assert (err.offset, err.structure) == (64 + 40, "tensor record padding")
    fields = bytearray(_tensor_fields(0, 8, (3, 4)))
    fields[7] = 1  # reserved u16 at record offset 22
    rec = B.record(1, bytes(fields), F32_12)
    err = refuse(_file_with_tensor_record(rec), "padding/reserved byte is 1")
    assert (err.offset, err.structure) == (64 + 23, "tensor record reserved bytes")


def test_non_zero_payload_padding():
    rec = bytearray(B.record(1, _tensor_fields(0, 8, (3, 4)), F32_12))
    rec[-1] = 1
    err = refuse(_file_with_tensor_record(bytes(rec)), "padding/reserved byte is 1")
    assert (err.offset, err.structure) == (64 + 127, "tensor padding")


def test_a_tensor_record_may_not_be_optional():
    rec = B.record(1, _tensor_fields(0, 8, (3, 4)), F32_12, flags=1)
    refuse(_file_with_tensor_record(rec), "tensor records cannot be optional")


def test_a_record_after_the_index_is_refused():
    t = len(TIED) - 64
    optional = B.record(77, B.u64(0), b"", flags=1)
    data = bytearray(TIED[:t] + optional + TIED[t:])
    data = rehash_trailer(patch(data, len(data) - 56, B.u64(len(data))))
    # A front-to-back reader expects the trailer right after the index: it finds the record.
    err = refuse(data, "end magic WICKEND missing")
    assert (err.offset, err.structure) == (t + 56, "trailer")


def test_the_trailer_must_point_at_the_index():
    t = len(TIED) - 64
    data = rehash_trailer(patch(TIED, t, B.u64(64)))
    err = refuse(data, "does not match the file: index at 64 (found at 192)")
    assert (err.offset, err.structure) == (t, "trailer")


def test_the_trailer_index_checksum_must_match_the_index_record():
    t = len(TIED) - 64
    data = rehash_trailer(patch(TIED, t + 16, B.u64(1)))
    err = refuse(data, "does not match the file")
    assert (err.offset, err.structure) == (t, "trailer")


def test_a_size_1_dimension_may_have_any_stride_up_to_2_63_minus_1():
    """A stride that reaches nothing loads on every path (NumPy's intp would overflow on
    2^63-1 elements of 8 bytes: as_strided raised OverflowError before)."""
    for stride in (2**63 - 1, 2**60):
        data = views_file([B.view_row(0, 1, (1, 3), (stride, 2))])
        value = loads(data)[0]
        np.testing.assert_array_equal(value[1], [[1, 3, 5]])
        assert np.shares_memory(value[0], value[1])
        path = pathlib.Path(refuse.tmp) / "ok.wick"
        with wick.Reader(path) as r:
            np.testing.assert_array_equal(r.tensor("/1"), [[1, 3, 5]])
            assert r.entries()[1].strides == (stride, 2)
        np.testing.assert_array_equal(wick.load(path, mmap=True)[1], [[1, 3, 5]])


def test_reader_value_checks_the_optional_records_a_verified_load_checks():
    bad = B.record(77, B.u64(B.xxh3(b"hellO")), b"hello", flags=1)
    path = pathlib.Path(refuse.tmp) / "opt.wick"
    path.write_bytes(tied_tree_file(TENSOR(0), extra=bad))
    with wick.Reader(path) as r:
        assert r.tensor("").shape == (3, 4)  # one tensor needs only its record
        with pytest.raises(wick.FormatError, match="payload checksum mismatch"):
            r.value()
        assert r.value(verify=False).shape == (3, 4)
