"""wick.Reader (random access over a private map) and wick.load(mmap=True): each agrees with
the whole load, is zero-copy, never writes the file, and refuses what the whole load refuses."""

import pathlib
import struct

import numpy as np
import xxhash
import pytest

import wick
import builder as B
from builder import DICT, LIST, TENSOR, VIEW

DATA = pathlib.Path(__file__).resolve().parents[2] / "tests" / "data"
GOLDEN = sorted(DATA.glob("*.wick"))
F32_12 = np.arange(12, dtype="<f4").tobytes()


def root_address(arr):
    """Address of the buffer an array ultimately views (the mapping or the read buffer)."""
    base = arr
    while getattr(base, "base", None) is not None:  # arrays, and as_strided's DummyArray
        base = base.base
    if isinstance(base, memoryview):
        base = base.obj if base.obj is not None else base
    return np.frombuffer(base, np.uint8).ctypes.data


def node(tree, steps):
    for s in steps:
        tree = tree[s]
    return tree


def write(tmp_path, data, name="f.wick"):
    path = tmp_path / name
    path.write_bytes(bytes(data))
    return path


def tied_file(tree, **kw):
    return B.build(tree, tensors=[(8, (3, 4), F32_12)], **kw)


# ---------------------------------------------------------------- agreement with the whole load


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: p.name)
def test_entries_and_tensors_equal_the_whole_load(path):
    whole, meta, version = wick.load_with_metadata(path)
    with wick.Reader(path) as r:
        assert (r.version, r.metadata) == (version, meta)
        entries = r.entries()
        assert entries, "every golden file holds tensors"
        for e in entries:
            expected = node(whole, e.steps)
            got = r.tensor(e.path)
            assert got.dtype == expected.dtype and got.shape == expected.shape == e.shape
            np.testing.assert_array_equal(got, expected)
            assert e.nbytes == expected.nbytes
            assert e.dtype == ("bfloat16" if e.dtype == "bfloat16" else expected.dtype.name)
        assert repr(r.value()) == repr(whole)
        r.verify()


def test_entries_list_every_tensor_reference_of_the_tree_in_order():
    with wick.Reader(DATA / "tied.wick") as r:
        assert [e.path for e in r.entries()] == ["/encoder.weight", "/decoder.weight"]
        a, b = r.entries()
        assert (a.record, a.offset, a.view) == (b.record, 128, None) == (0, 128, None)
        assert a.checksum == B.xxh3(F32_12)


def test_view_entries_carry_strides_and_share_memory_with_their_record():
    with wick.Reader(DATA / "views_2_1.wick") as r:
        e = {x.path: x for x in r.entries()}
        assert (e["/evens"].strides, e["/evens"].view_offset, e["/evens"].shape) == ((2,), 0, (5,))
        assert e["/evens"].record == e["/numbers"].record and e["/numbers"].strides is None
        numbers, evens = r.tensor("/numbers"), r.tensor("evens")
        np.testing.assert_array_equal(evens, numbers[::2])
        assert np.shares_memory(numbers, evens)
        value = r.value()
        assert np.shares_memory(value["numbers"], value["evens"])


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: p.name)
def test_reader_tensors_are_zero_copy_at_their_payload_offset(path):
    with wick.Reader(path) as r:
        for e in r.entries():
            t = r.tensor(e.path, verify=False)
            if t.size and e.view is None:
                assert t.ctypes.data - root_address(t) == e.offset
                assert e.offset % 64 == 0


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: p.name)
def test_mmap_load_is_zero_copy_and_equals_the_read_load(path):
    read = wick.load(path)
    mapped = wick.load(path, mmap=True)
    assert repr(read) == repr(mapped)
    with wick.Reader(path) as r:
        entries = r.entries()
    for e in entries:
        t = node(mapped, e.steps)
        if t.size and e.view is None:
            assert t.ctypes.data - root_address(t) == e.offset
        if e.view is not None:
            first = e.offset + e.view_offset * t.itemsize
            assert t.ctypes.data - root_address(t) == first


def test_read_load_is_one_aligned_buffer_of_writable_views():
    value = wick.load(DATA / "all_types.wick")
    for arr in (v for v in value.values() if isinstance(v, np.ndarray)):
        assert arr.flags.writeable and arr.ctypes.data % 64 == 0


def test_mapped_tensors_are_private_writes_never_reach_the_file(tmp_path):
    path = write(tmp_path, (DATA / "tied.wick").read_bytes())
    before = path.read_bytes()
    value = wick.load(path, mmap=True)
    value["encoder.weight"][:] = 7
    assert value["decoder.weight"][0, 0] == 7
    with wick.Reader(path) as r:
        t = r.tensor("/encoder.weight")
        t[:] = -1
        # One private copy per mapping: the other path sees the write (unverified, since
        # the copy no longer matches its checksum, and a verified read says so).
        assert r.tensor("/decoder.weight", verify=False)[0, 0] == -1
        with pytest.raises(wick.FormatError, match="payload checksum"):
            r.tensor("/decoder.weight")
    assert path.read_bytes() == before
    np.testing.assert_array_equal(wick.load(path)["encoder.weight"].reshape(-1), np.arange(12))


def test_mmap_needs_a_path():
    with open(DATA / "tied.wick", "rb") as f, pytest.raises(TypeError):
        wick.load(f, mmap=True)


def test_mmap_false_reader_returns_owned_copies():
    with wick.Reader(DATA / "views_2_1.wick", mmap=False) as r:
        numbers, evens = r.tensor("/numbers"), r.tensor("/evens")
        assert numbers.base is None and not np.shares_memory(numbers, evens)
        value = r.value()
        assert np.shares_memory(value["numbers"], value["evens"])


def test_arrays_outlive_the_reader():
    with wick.Reader(DATA / "tied.wick") as r:
        t = r.tensor("/encoder.weight")
    assert float(t.sum()) == 66.0


# ---------------------------------------------------------------- names


def test_dotted_names_and_int_keys():
    with wick.Reader(DATA / "checkpoint_2_0.wick") as r:
        ptr = r.tensor("/optimizer_state_dict/state/0/exp_avg")
        np.testing.assert_array_equal(r.tensor("optimizer_state_dict.state.0.exp_avg"), ptr)
        assert r.get("/epoch") == wick.load(DATA / "checkpoint_2_0.wick")["epoch"]
        with pytest.raises(KeyError, match="not a tensor"):
            r.tensor("/model_state_dict")
    with wick.Reader(DATA / "tutorial_list.wick") as r:
        np.testing.assert_array_equal(r.tensor("1"), r.tensor("/1"))
        with pytest.raises(KeyError):
            r.tensor("/01")  # no leading zeros in an index


def test_json_pointer_escapes_and_the_empty_key(tmp_path):
    tree = DICT(("a/b", TENSOR(0)), ("~", TENSOR(0)), ("", TENSOR(0)))
    with wick.Reader(write(tmp_path, tied_file(tree))) as r:
        assert [e.path for e in r.entries()] == ["/a~1b", "/~0", "/"]
        for p in ("/a~1b", "/~0", "/"):
            assert r.tensor(p).shape == (3, 4)
    with wick.Reader(write(tmp_path, tied_file(TENSOR(0)), "root.wick")) as r:
        assert [e.path for e in r.entries()] == [""] and r.tensor("").shape == (3, 4)


def test_an_ambiguous_dotted_name_is_refused_naming_both_pointers(tmp_path):
    tree = DICT(("a.b", TENSOR(0)), ("a", DICT(("b", TENSOR(0)))))
    with wick.Reader(write(tmp_path, tied_file(tree))) as r:
        with pytest.raises(KeyError) as info:
            r.tensor("a.b")
        assert "'/a.b'" in str(info.value) and "'/a/b'" in str(info.value)
        assert r.tensor("/a.b").shape == r.tensor("/a/b").shape == (3, 4)


def test_a_dotted_name_counts_only_tensors_for_tensor_and_every_node_for_get(tmp_path):
    tree = DICT(("a.b", TENSOR(0)), ("a", DICT(("b", B.INT(5)))))
    with wick.Reader(write(tmp_path, tied_file(tree))) as r:
        assert r.tensor("a.b").shape == (3, 4) and r.entry("a.b").path == "/a.b"
        with pytest.raises(KeyError, match="ambiguous"):
            r.get("a.b")
        assert r.get("/a/b") == 5 and r.get("a")["b"] == 5


def test_a_missing_name_lists_close_matches():
    with wick.Reader(DATA / "tied.wick") as r:
        with pytest.raises(KeyError) as info:
            r.tensor("encoder.weigth")
        assert "encoder.weight" in str(info.value)
        with pytest.raises(KeyError, match="/decoder.weight"):
            r.tensor("/decoder.wieght")
        with pytest.raises(KeyError):
            r.tensor("/encoder.weight/0")


def test_a_closed_reader_refuses_every_operation():
    r = wick.Reader(DATA / "tied.wick")
    r.close()
    r.close()  # twice is fine
    for call in (r.entries, r.value, r.verify, lambda: r.tensor("/encoder.weight")):
        with pytest.raises(ValueError, match="closed"):
            call()


# ---------------------------------------------------------------- refusals


def refused(tmp_path, data, match):
    """Reader refuses `data`, and so does the whole load (the paths agree)."""
    path = write(tmp_path, data)
    with pytest.raises(wick.FormatError) as info:
        wick.Reader(path)
    assert match in str(info.value), str(info.value)
    with pytest.raises(wick.FormatError):
        wick.load(path)
    return info.value


TIED = (DATA / "tied.wick").read_bytes()


@pytest.mark.parametrize("size", [0, 1, 63, 64, 127, 128, len(TIED) - 65, len(TIED) - 1])
def test_truncated_files(tmp_path, size):
    refused(tmp_path, TIED[:size], "")


def test_trailing_bytes(tmp_path):
    err = refused(tmp_path, TIED + b"\0", "")
    assert err.structure == "trailer"


def test_a_bad_trailer(tmp_path):
    err = refused(tmp_path, TIED[:-1] + b"X", "end magic WICKEND missing")
    assert (err.offset, err.structure) == (len(TIED) - 8, "trailer")
    flipped = bytearray(TIED)
    flipped[-30] ^= 1
    err = refused(tmp_path, flipped, "checksum mismatch")
    assert (err.offset, err.structure) == (len(TIED) - 64, "trailer")


def test_a_damaged_index_is_refused_at_open(tmp_path):
    index_at = struct.unpack_from("<Q", TIED, len(TIED) - 64)[0]
    bad = bytearray(TIED)
    bad[index_at + 64] ^= 1
    err = refused(tmp_path, bad, "index payload checksum mismatch")
    assert (err.offset, err.structure) == (index_at + 64, "index")


def test_a_damaged_tensor_record_header_opens_and_is_refused_when_read(tmp_path):
    # The open reads the index, not the headers of the records it lists (as io::Reader):
    # a verified tensor() reads its record's header, value() and verify() read every byte.
    bad = bytearray(TIED)
    bad[64 + 20] ^= 1
    with wick.Reader(write(tmp_path, bad)) as r:
        assert len(r.entries()) == 2
        for call in (lambda: r.tensor("/encoder.weight"), r.value, r.verify):
            with pytest.raises(wick.FormatError, match="header checksum") as info:
                call()
            assert (info.value.offset, info.value.structure) == (64, "tensor record header")
        assert r.tensor("/encoder.weight", verify=False).shape == (3, 4)


def test_a_damaged_payload_opens_and_is_refused_when_read(tmp_path):
    bad = bytearray(TIED)
    bad[128] ^= 1
    with wick.Reader(write(tmp_path, bad)) as r:
        assert len(r.entries()) == 2
        with pytest.raises(wick.FormatError, match="payload checksum") as info:
            r.tensor("/encoder.weight")
        # At the record's start, named by its first path, as the whole load names it.
        assert (info.value.offset, info.value.structure) == (64, "tensor '/encoder.weight'")
        assert r.tensor("/encoder.weight", verify=False)[0, 0] != 0
        with pytest.raises(wick.FormatError):
            r.verify()
        with pytest.raises(wick.FormatError):
            r.value()


def test_records_that_do_not_tile_the_file_are_refused(tmp_path):
    # A complete file followed by a second index and trailer: random access would read the
    # second, front to back the first. The tiling walk meets the first index.
    index_at = struct.unpack_from("<Q", TIED, len(TIED) - 64)[0]
    body = TIED[:len(TIED) - 64]
    second = len(body)
    payload = TIED[index_at + 64:index_at + 64 + struct.unpack_from("<Q", TIED, index_at + 8)[0]]
    index = B.record(2, B.u64(B.xxh3(payload)) + b"\0" * 32, payload)
    trailer = B.u64(second) + B.u64(second + len(index) + 64) + B.u64(B.xxh3(payload))
    trailer += struct.pack("<HH", 1, 0) + b"\0" * 20
    data = body + index + trailer + B.u64(B.xxh3(trailer)) + b"WICKEND\n"
    err = refused(tmp_path, data, "a second index record that the index does not list")
    assert (err.offset, err.structure) == (index_at, "index record header")
    # A gap of zero bytes between the records and the index.
    err = refused(tmp_path, tied_file(TENSOR(0), extra=b"\0" * 64), "header size 0")
    assert (err.offset, err.structure) == (192 + 6, "record header (kind 0)")


def test_optional_records_are_skipped_at_open_and_verified_by_verify(tmp_path):
    bad = B.record(77, B.u64(B.xxh3(b"hellO")), b"hello", flags=1)
    with wick.Reader(write(tmp_path, tied_file(TENSOR(0), extra=bad))) as r:
        assert r.tensor("").shape == (3, 4)
        with pytest.raises(wick.FormatError, match="payload checksum"):
            r.verify()


def test_a_newer_minor_names_both_versions_at_open(tmp_path):
    data = tied_file(b"\x0c", version=(2, 2), views=[])
    err = refused(tmp_path, data, "the file is format 2.2, newer than this reader's 2.1")
    assert err.structure == "index"


def test_views_in_the_view_table_are_checked_at_open(tmp_path):
    tree = LIST(TENSOR(0), VIEW(0))
    data = tied_file(tree, version=(2, 1), views=[B.view_row(0, 10, [4], [1])])
    refused(tmp_path, data, "runs past")


# ---------------------------------------------------------------- the read-and-hash path


BIG = np.arange(9 << 18, dtype="<f4")  # 9 MiB: above the size where load() hashes while reading


def big_file(tmp_path, payload=None, extra=b""):
    data = B.build(DICT(("w", TENSOR(0)), ("t", TENSOR(1))),
                   tensors=[(8, BIG.shape, BIG.tobytes()), (8, (3, 4), F32_12)], extra=extra)
    return write(tmp_path, data, "big.wick")


def test_a_large_file_loads_verified_while_read_and_equals_the_mapped_load(tmp_path):
    path = big_file(tmp_path)
    value = wick.load(path)
    np.testing.assert_array_equal(value["w"], BIG)
    assert value["w"].ctypes.data % 64 == 0 and value["w"].flags.writeable
    with open(path, "rb") as f:
        assert repr(wick.load(f)) == repr(value)
    np.testing.assert_array_equal(wick.load(path, mmap=True)["w"], BIG)


@pytest.mark.parametrize("where", [200, 5 << 20, (9 << 20) + 100])
def test_a_flipped_byte_in_a_large_payload_is_found_by_the_hashing_read(tmp_path, where):
    data = bytearray(big_file(tmp_path).read_bytes())
    data[where] ^= 4
    path = write(tmp_path, data, "bad.wick")
    with pytest.raises(wick.FormatError, match="payload checksum mismatch") as info:
        wick.load(path)
    assert (info.value.offset, info.value.structure) == (64, "tensor '/w'")
    assert wick.load(path, verify=False)["w"].size == BIG.size


@pytest.fixture(params=["native", "python-xxhash"])
def hash_path(request, monkeypatch):
    """The read-and-hash load with libxxhash's dispatching XXH3 (through ctypes) and with the
    python-xxhash fallback it drops to when the library lacks it or disagrees."""
    from wick import _prefetch
    if request.param == "native":
        if _prefetch._NATIVE_OK:  # Linux x86-64: Debian's libxxhash0 is what python3-xxhash uses
            assert _prefetch._native_xxh3() is not None, "libxxhash's XXH3 dispatch not found"
        else:
            pytest.skip("the native hash is used on Linux x86-64 only")
    else:
        monkeypatch.setitem(_prefetch._native, "xxh3", None)
    return request.param


def test_both_hash_paths_give_python_xxhash_digests(tmp_path, hash_path):
    from wick import _prefetch
    rng = np.random.default_rng(5)
    data = rng.integers(0, 256, size=(3 << 20) + 77, dtype=np.uint8)
    hasher = _prefetch._Hasher(memoryview(data), data.ctypes.data)
    for start, stop in [(0, data.size), (1, 4096), (17, (1 << 20) + 3), (data.size - 5, data.size)]:
        walk, digest = _prefetch._hash_span(hasher, start, stop), None
        try:
            while True:
                next(walk)
        except StopIteration as done:
            digest = done.value
        assert digest == xxhash.xxh3_64_intdigest(data[start:stop].tobytes()), (start, stop)


def test_both_hash_paths_load_and_refuse_alike(tmp_path, hash_path):
    path = big_file(tmp_path)
    np.testing.assert_array_equal(wick.load(path)["w"], BIG)
    data = bytearray(path.read_bytes())
    data[(5 << 20) + 3] ^= 1
    bad = write(tmp_path, data, "bad.wick")
    with pytest.raises(wick.FormatError, match="payload checksum mismatch"):
        wick.load(bad)


def test_damaged_record_headers_in_a_large_file_still_refuse_as_the_small_path(tmp_path):
    data = bytearray(big_file(tmp_path).read_bytes())
    data[64 + 6:64 + 8] = b"\0\0"  # the first record's header size: 0 (the hashing walk stops)
    path = write(tmp_path, data, "bad.wick")
    with pytest.raises(wick.FormatError, match="header size 0"):
        wick.load(path)
    truncated = write(tmp_path, big_file(tmp_path).read_bytes()[:(4 << 20)], "cut.wick")
    with pytest.raises(wick.FormatError):
        wick.load(truncated)


def test_one_long_key_over_many_references_costs_memory_and_time_linear_in_the_file(tmp_path):
    # FORMAT.md "Tree paths": spelling every path would cost 1 GiB for this 150 KB file.
    import time
    import tracemalloc
    data = tied_file(DICT(("k" * 65536, LIST(*[TENSOR(0)] * 16384))))
    path = write(tmp_path, data)
    tracemalloc.start()
    start = time.perf_counter()
    with wick.Reader(path) as r:
        entries = r.entries()
        assert len(entries) == 16384 and entries[5].steps[1] == 5
        with pytest.raises(KeyError):
            r.tensor("k.16384")
        assert r.tensor("/" + "k" * 65536 + "/16383").shape == (3, 4)
        r.verify()
    elapsed = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < (16 << 20) + 64 * len(data), peak
    assert elapsed < 0.25 + 2e-6 * len(data) * 20, elapsed  # 2 s/MB, slack for shared CPUs


# ---------------------------------------------------------------- reads of one tensor


def test_a_bool_byte_other_than_0_or_1_is_refused_at_that_byte_whether_verified_or_not(tmp_path):
    data = B.build(DICT(("b", TENSOR(0))), tensors=[(0, (4,), b"\0\1\2\1")])
    with wick.Reader(write(tmp_path, data)) as r:
        for verify in (True, False):
            with pytest.raises(wick.FormatError) as info:
                r.tensor("/b", verify=verify)
            assert (info.value.offset, info.value.structure) == (128 + 2, "bool tensor '/b'")


def test_a_record_that_disagrees_with_its_row_is_refused_by_a_verified_read(tmp_path):
    # The row says float32 [3, 4], the record int32 [3, 4]: the open does not read the record's
    # header (io::Reader); a verified tensor() does, and names the tensor (its path is "").
    row = B.tensor_row(64, 8, (3, 4), F32_12)
    data = B.build(TENSOR(0), tensors=[(4, (3, 4), F32_12)], rows=[row])
    with wick.Reader(write(tmp_path, data)) as r:
        with pytest.raises(wick.FormatError, match="disagrees with the index") as info:
            r.tensor("")
        assert (info.value.offset, info.value.structure) == (64, "tensor ''")
        assert r.tensor("", verify=False).dtype == np.float32
        with pytest.raises(wick.FormatError) as info:
            r.verify()  # front to back: the row against its record, named by its path
        assert (info.value.offset, info.value.structure) == (64, "tensor ''")
