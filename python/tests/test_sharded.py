"""wick.ShardedReader against io/FORMAT.md "Sharded checkpoints (a directory of wick files)":
round trips through directories written by sharded_builder.py, and one refusal per rule of
"Rules a reader enforces", each checked for the structure it names."""

import os
import time
import tracemalloc

import numpy as np
import pytest

import sharded_builder as sb
import wick

U64 = (1 << 64) - 1


def bf16(values):
    return wick.bfloat16_bits(np.asarray(values, np.uint16))


def every_dtype():
    """One tensor per dtype, with 0-d, empty and multi-dimensional shapes among them."""
    return {
        "bool": np.array([True, False, True, True, False]),
        "uint8": np.arange(7, dtype=np.uint8).reshape(7, 1),
        "int8": np.array(-5, np.int8),
        "int16": np.arange(-6, 6, dtype=np.int16).reshape(3, 2, 2),
        "int32": np.zeros((2, 0, 3), np.int32),
        "int64": np.arange(9, dtype=np.int64) * (1 << 40),
        "float16": np.linspace(-1, 1, 11).astype(np.float16),
        "bfloat16": bf16(np.arange(0x3F80, 0x3F90)),
        "float32": np.arange(24, dtype=np.float32).reshape(4, 6) / 7,
        "float64": np.array([np.pi, -0.0, np.inf, 1e-300]),
        "empty": np.zeros((0,), np.float64),
    }


def nested():
    """Nested dicts, lists, tuples, int keys, scalars and nones around tensors."""
    rng = np.random.default_rng(7)
    return {
        "model": {"layers": [{"w": rng.standard_normal((5, 3)).astype(np.float32),
                              "b": np.arange(5, dtype=np.float32)} for _ in range(3)],
                  "": np.ones(2), "a/b~c": np.arange(3)},
        "optimizer": {"state": {0: {"step": 5, "exp_avg": rng.standard_normal(15)},
                                -1: {"step": None, "exp_avg": np.zeros(0)}},
                      "param_groups": [{"betas": (0.9, 0.999), "lr": 1e-3, "params": [0, -1],
                                        "name": "adam", "nesterov": False}]},
        "pair": (np.arange(4, dtype=np.int8), (np.ones((2, 2), np.int64), None, "x")),
        "epoch": 3, "note": None, "empty_list": [], "empty_dict": {}, "empty_tuple": (),
    }


def same(a, b):
    """Equal value trees: types, key order, dtypes (the bfloat16 marker too), bits."""
    assert type(a) is type(b), (a, b)
    if isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            same(x, y)
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.dtype.metadata == b.dtype.metadata
        assert a.shape == b.shape and a.tobytes() == b.tobytes()
    else:
        assert a == b or (a != a and b != b)


def refused(ck, structure, *words, read=None, verify=True):
    """Opening (then `read(reader)`) refuses naming index.wick and `structure`."""
    with pytest.raises(wick.FormatError) as info:
        with wick.ShardedReader(ck.directory, verify=verify) as r:
            if read is not None:
                read(r)
    err = info.value
    assert err.structure.startswith("index.wick"), str(err)
    assert structure in err.structure, str(err)
    for w in words:
        assert w in str(err), str(err)
    return err


# ---------------------------------------------------------------- round trips


@pytest.mark.parametrize("world", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("seed", [None, 1, 2])
@pytest.mark.parametrize("make", [every_dtype, nested])
def test_round_trip(tmp_path, world, seed, make):
    state = make()
    ck = sb.build(tmp_path / "ck", state, world=world, seed=seed)
    same(wick.load_sharded(ck.directory), state)
    with wick.ShardedReader(ck.directory) as r:
        r.verify()
        assert r.world_size == world and r.metadata == {"wick.sharded": 1}
        same(r.value(verify=False), state)
        _, found = sb.split_state(state)
        assert [(t.path, t.shape) for t in r.tensors()] == [(p, a.shape) for p, a in found]
        for path, a in found:
            same(r.tensor(path), a)


def test_round_trip_of_other_roots(tmp_path):
    for i, state in enumerate([np.arange(10.0), (np.arange(3), [np.ones(1)], {}), 5, None,
                               [], {7: np.eye(2)}]):
        ck = sb.build(tmp_path / f"ck{i}", state, world=2, seed=i)
        same(wick.load_sharded(ck.directory), state)


def test_the_pieces_are_cut_across_shards(tmp_path):
    ck = sb.build(tmp_path / "ck", nested(), world=4, seed=3, most=6)
    per_tensor = {}
    for t, shard, *_ in ck.pieces:
        per_tensor.setdefault(t, set()).add(shard)
    assert max(len(s) for s in per_tensor.values()) >= 3
    assert len({row[1] for row in ck.pieces}) == 4


def test_dtypes_and_names_listed(tmp_path):
    ck = sb.build(tmp_path / "ck", every_dtype(), world=3)
    with wick.ShardedReader(ck.directory) as r:
        assert [t.dtype for t in r.tensors()] == list(every_dtype())[:-1] + ["float64"]
        assert r.tensor("/bfloat16").dtype.metadata == {"wick_dtype": "bfloat16"}
        with pytest.raises(KeyError):
            r.tensor("/nope")


@pytest.mark.parametrize("verify", [True, False])
def test_slices_across_piece_boundaries(tmp_path, verify):
    a = np.arange(10, dtype=np.int32) * 3
    cuts = [[(0, 3, 2), (3, 1, 0), (4, 5, 1), (9, 1, 2)]]
    ck = sb.build(tmp_path / "ck", {"a": a}, world=3, cuts=cuts)
    with wick.ShardedReader(ck.directory, verify=verify) as r:
        for start in range(11):
            for count in range(11 - start):
                got = r.slice("/a", start, count)
                assert got.shape == (count,) and (got == a[start:start + count]).all()
        for bad in [(-1, 1), (0, 11), (10, 1), (3, -1)]:
            with pytest.raises(IndexError):
                r.slice("/a", *bad)


def test_big_pieces_are_read_in_chunks(tmp_path, monkeypatch):
    monkeypatch.setattr(wick.sharded, "CHUNK", 1000)
    a = np.arange(5000, dtype=np.float64)
    ck = sb.build(tmp_path / "ck", {"a": a}, world=2)
    with wick.ShardedReader(ck.directory) as r:
        assert (r.tensor("/a") == a).all()
        assert (r.slice("/a", 1234, 2000) == a[1234:3234]).all()


def test_shards_are_opened_relative_to_the_directory(tmp_path):
    state = nested()
    ck = sb.build(tmp_path / "ck", state, world=3, seed=4)
    with wick.ShardedReader(ck.directory) as r:
        os.rename(ck.directory, tmp_path / "moved")
        os.makedirs(ck.directory)  # an empty directory where the checkpoint was
        same(r.value(), state)


def test_is_sharded_checkpoint(tmp_path):
    ck = sb.build(tmp_path / "ck", {"a": np.ones(3)}, world=1)
    assert wick.is_sharded_checkpoint(ck.directory)
    assert not wick.is_sharded_checkpoint(ck.path(sb.INDEX))
    assert not wick.is_sharded_checkpoint(tmp_path / "missing")
    assert not wick.is_sharded_checkpoint(tmp_path)


def test_value_is_fresh_each_time(tmp_path):
    ck = sb.build(tmp_path / "ck", nested(), world=2)
    with wick.ShardedReader(ck.directory) as r:
        one, two = r.value(), r.value()
        one["model"]["layers"][0]["w"][:] = 0
        assert two["model"]["layers"][0]["w"].any()
        assert isinstance(one["pair"], tuple) and isinstance(one["pair"][1], tuple)


# ---------------------------------------------------------------- refusals: the index


@pytest.fixture
def ck(tmp_path):
    """Three tensors (float32 [6], int16 [5], int32 [4]), each cut in two, over 2 shards."""
    state = {"w": np.arange(6, dtype=np.float32), "step": 3,
             "opt": {0: np.arange(5, dtype=np.int16), "t": (np.arange(4, dtype=np.int32),)}}
    cuts = [[(0, 2, 0), (2, 4, 1)], [(0, 3, 1), (3, 2, 0)], [(0, 1, 0), (1, 3, 0)]]
    return sb.build(tmp_path / "ck", state, world=2, cuts=cuts)


def test_a_damaged_index_is_refused_naming_it(ck):
    with open(ck.path(sb.INDEX), "r+b") as f:
        f.seek(200)
        b = f.read(1)
        f.seek(200)
        f.write(bytes([b[0] ^ 1]))
    err = refused(ck, "index.wick")
    assert err.offset is not None


@pytest.mark.parametrize("version, words", [
    (2, "sharded layout version 2 is newer than this reader's 1"),
    (0, "invalid sharded layout version 0"), (-3, "invalid"),
    ("1", "expected an int"), (True, "expected an int"), (None, "no wick.sharded")])
def test_the_layout_version(ck, version, words):
    ck.metadata = {"wick.sharded": version} if version is not None else {"other": 1}
    ck.write_index()
    refused(ck, "sharded index", words)


def test_other_index_metadata_is_kept(ck):
    ck.metadata = {"wick.sharded": 1, "extra": "kept"}
    ck.write_index()
    with wick.ShardedReader(ck.directory) as r:
        assert r.metadata["extra"] == "kept"


@pytest.mark.parametrize("change", ["order", "missing", "extra", "list"])
def test_the_root_keys(ck, change):
    root = ck.root()
    if change == "order":
        root = {k: root[k] for k in ["world_size", "state", "shards", "tensors", "pieces"]}
    elif change == "missing":
        del root["state"]
    elif change == "extra":
        root["more"] = 1
    else:
        root = list(root.values())
    ck.write_index(root)
    refused(ck, "sharded index", "in that order")


@pytest.mark.parametrize("key, value, words", [
    ("world_size", 0, "world_size is 0"), ("world_size", 65537, "world_size is 65537"),
    ("world_size", "2", "world_size is '2'"), ("world_size", 2.0, "world_size"),
    ("world_size", 3, "shards is a int64 tensor [2, 2], expected an int64 tensor [3, 2]"),
    ("shards", np.zeros((2, 2), np.int32), "shards is a int32"),
    ("shards", np.zeros((2, 3), np.int64), "[2, 3]"),
    ("shards", [[1, 2], [3, 4]], "shards is a list"),
    ("pieces", np.zeros((0, 5), np.int64), "pieces is a int64 tensor [0, 5]"),
    ("pieces", np.zeros((6, 6)), "pieces is a float64"),
    ("pieces", np.zeros(36, np.int64), "pieces"),
    ("tensors", (), "tensors is a tuple"),
    ("state", {"w": np.ones(1)}, "state holds a tensor at '/w'")])
def test_the_root_types(ck, key, value, words):
    root = ck.root()
    root[key] = value
    ck.write_index(root)
    refused(ck, "sharded index", words)


def test_a_huge_world_size_with_a_small_table_is_refused(ck):
    root = ck.root()
    root["world_size"] = 65536
    ck.write_index(root)
    refused(ck, "sharded index", "[65536, 2]")


@pytest.mark.parametrize("entry, words", [
    (["w", 8, [6]], "is not a tree path"),
    (["/w~2", 8, [6]], "is not a tree path"),
    (["/step", 8, [6]], "names a int of state"),
    (["/opt", 8, [6]], "names a dict of state"),
    (["/nope", 8, [6]], "names no node"),
    (["/opt/1", 8, [6]], "names no node"),
    (["/opt/t/1", 8, [6]], "names no node"),
    (["/opt/00", 8, [6]], "names no node"),
    ([7, 8, [6]], "path is a int"),
    (["/w", 10, [6]], "dtype code 10"),
    (["/w", True, [6]], "dtype code True"),
    (["/w", 8, (6,)], "not a list of ints"),
    (["/w", 8, [6, True]], "not a list of ints"),
    (["/w", 8, [1] * 33], "rank 33"),
    (["/w", 8, [-1]], "outside 0 to 2^63-1"),
    (["/w", 8, [2**61, 2, 0]], "overflows 2^62"),
    (["/w", 8], "expected a list [path, dtype, shape]"),
    (("/w", 8, [6]), "expected a list")])
def test_the_tensor_entries(ck, entry, words):
    ck.tensors[0] = entry
    ck.write_index()
    refused(ck, "tensors[0]", words)


def test_a_tensor_entry_naming_the_same_node_twice(ck):
    ck.tensors[2] = ["/w", 8, [4]]
    ck.write_index()
    refused(ck, "tensors[2]", "same node")


def test_the_root_itself_may_be_the_tensor(tmp_path):
    ck = sb.build(tmp_path / "ck", np.arange(4), world=1)
    assert ck.tensors[0][0] == ""
    same(wick.load_sharded(ck.directory), np.arange(4))


# ---------------------------------------------------------------- refusals: the pieces


def edit(ck, fn):
    fn(ck.pieces)
    ck.write_index()


@pytest.mark.parametrize("fn, piece, words", [
    (lambda p: p[1].__setitem__(2, 3), 1, "starts at element 3, expected 2 (a gap"),
    (lambda p: p[1].__setitem__(2, 1), 1, "expected 2 (an overlap"),
    (lambda p: p.__setitem__(slice(0, 2), [p[1], p[0]]), 0, "starts at element 2, expected 0"),
    (lambda p: p.append([0, 0, 6, 1, 64, 0]), 6, "tensor 0 after tensor 2"),
    (lambda p: p[1].__setitem__(3, 5), 1, "run past the 6"),
    (lambda p: p[0].__setitem__(3, 0), 0, "count 0"),
    (lambda p: p[0].__setitem__(3, -2), 0, "count -2"),
    (lambda p: p[0].__setitem__(1, 2), 0, "shard 2 is not below world_size 2"),
    (lambda p: p[0].__setitem__(1, -1), 0, "shard -1"),
    (lambda p: p[0].__setitem__(4, 0), 0, "record offset 0"),
    (lambda p: p[0].__setitem__(4, 96), 0, "record offset 96 is not a multiple of 64"),
    (lambda p: p[0].__setitem__(0, 3), 0, "tensor 3 is not an index"),
    (lambda p: p[0].__setitem__(0, -1), 0, "tensor -1 is not an index"),
    (lambda p: p.append([2, 0, 4, 1, 64, 0]), 6, "run past the 4")])
def test_the_pieces_tile_each_tensor(ck, fn, piece, words):
    edit(ck, fn)
    refused(ck, f"pieces[{piece}]", words)


def test_a_piece_past_its_shard(ck):
    size = ck.shards[ck.pieces[0][1]][0]
    edit(ck, lambda p: p[0].__setitem__(4, size - 128))
    refused(ck, "pieces[0]", "less its index and trailer")
    # The last offset that fits: the record ends exactly 128 bytes before the shard's end.
    edit(ck, lambda p: p[0].__setitem__(4, (size - 128 - 64 - 8) // 64 * 64))
    refused(ck, "pieces[0]", read=lambda r: r.tensor("/w"))  # the record is not that piece


@pytest.mark.parametrize("fn, tensor, words", [
    (lambda p: p.pop(1), 0, "cover elements [0, 2) of its 6"),
    (lambda p: p.__setitem__(slice(1, 3), [p[2], p[1]]), 0, "cover elements [0, 2) of its 6"),
    (lambda p: p.pop(), 2, "cover elements [0, 1) of its 4"),
    (lambda p: p.__delitem__(slice(2, 4)), 1, "cover elements [0, 0) of its 5")])
def test_a_tensor_not_covered(ck, fn, tensor, words):
    edit(ck, fn)
    refused(ck, f"tensors[{tensor}]", words)


def test_an_empty_tensor_has_no_piece(tmp_path):
    ck = sb.build(tmp_path / "ck", {"e": np.zeros((3, 0)), "f": np.ones(2)}, world=1)
    assert [r[0] for r in ck.pieces] == [1]
    edit(ck, lambda p: p.insert(0, [0, 0, 0, 1, 64, 0]))
    refused(ck, "pieces[0]", "run past the 0")


# ---------------------------------------------------------------- refusals: the shards


def flip(path, offset):
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ 0x10]))


def test_a_shard_of_the_wrong_size(ck):
    with open(ck.shard_path(1), "ab") as f:
        f.write(b"\0" * 64)
    with wick.ShardedReader(ck.directory) as r:
        assert (r.tensor("/opt/t/0") == np.arange(4)).all()  # shard 0 only: no need of 1
        with pytest.raises(wick.FormatError) as info:
            r.tensor("/w")
    assert info.value.structure == "index.wick shard 1"
    assert f"is {ck.shards[1][0] + 64} bytes, index.wick says {ck.shards[1][0]}" \
        in str(info.value)


def test_a_missing_shard(ck):
    os.remove(ck.shard_path(1))
    with pytest.raises(FileNotFoundError):
        wick.load_sharded(ck.directory)


def test_a_shard_of_another_checkpoint(ck, tmp_path):
    state = {"w": np.arange(6, dtype=np.float32) + 1, "step": 3,
             "opt": {0: np.arange(5, dtype=np.int16), "t": (np.arange(4, dtype=np.int32),)}}
    cuts = [[(0, 2, 0), (2, 4, 1)], [(0, 3, 1), (3, 2, 0)], [(0, 1, 0), (1, 3, 0)]]
    other = sb.build(tmp_path / "other", state, world=2, cuts=cuts)
    assert other.shards[1][0] == ck.shards[1][0]
    os.replace(other.shard_path(1), ck.shard_path(1))
    err = refused(ck, "shard 1", "a shard of another checkpoint", read=lambda r: r.value())
    assert err.offset == ck.shards[1][0] - 64 + 16


@pytest.mark.parametrize("where, words", [
    (0, "file header"), (60, "file header"), (-64 + 3, "trailer"), (-64 + 50, "trailer")])
def test_a_damaged_shard_header_or_trailer(ck, where, words):
    flip(ck.shard_path(0), where if where >= 0 else ck.shards[0][0] + where)
    refused(ck, "shard 0", words, read=lambda r: r.tensor("/w"))


def test_a_shard_of_a_newer_format_major(ck):
    import struct
    import xxhash
    path = ck.shard_path(0)
    with open(path, "r+b") as f:
        head = bytearray(f.read(64))
        head[8:10] = struct.pack("<H", 3)
        head[56:64] = struct.pack("<Q", xxhash.xxh3_64_intdigest(bytes(head[:56])))
        f.seek(0)
        f.write(head)
    refused(ck, "shard 0", "format version 3.0 is newer than this reader's 2.1",
            read=lambda r: r.tensor("/w"))


def test_a_tiny_shard(tmp_path):
    ck = sb.build(tmp_path / "ck", {"a": np.ones(3)}, world=2, cuts=[[(0, 3, 1)]])
    with open(ck.shard_path(0), "wb") as f:
        f.write(b"\x89WICK\r\n\x1a" + bytes(8))
    ck.shards[0][0] = 16
    ck.write_index()
    same(wick.load_sharded(ck.directory), {"a": np.ones(3)})  # shard 0 is never needed
    err = refused(ck, "shard 0", "truncated", read=lambda r: r.verify())
    assert err.offset == 16


# ---------------------------------------------------------------- refusals: a piece


def test_a_corrupted_piece_payload(ck):
    row = ck.pieces[1]  # /w elements 2..5 in shard 1
    flip(ck.shard_path(row[1]), row[4] + 64 + 5)
    refused(ck, "pieces[1]", "payload checksum mismatch", read=lambda r: r.tensor("/w"))
    refused(ck, "pieces[1]", "payload checksum mismatch", read=lambda r: r.slice("/w", 5, 1))
    with wick.ShardedReader(ck.directory) as r:
        # Unverified reads take the bytes as they are; a slice outside the flip is exact.
        assert (r.slice("/w", 0, 2, verify=False) == [0, 1]).all()
        assert not (r.tensor("/w", verify=False) == np.arange(6)).all()
        with pytest.raises(wick.FormatError) as info:
            r.verify()
    assert info.value.structure == "index.wick shard 1"
    assert "tensor '/~1w@2'" in str(info.value) and "checksum mismatch" in str(info.value)


def test_a_record_of_the_wrong_dtype_or_shape(tmp_path):
    state = {"a": np.arange(4, dtype=np.float32), "b": np.arange(4, dtype=np.int32)}
    ck = sb.build(tmp_path / "ck", state, world=1, cuts=[[(0, 4, 0)], [(0, 1, 0), (1, 3, 0)]])
    a_at, b0_at = ck.pieces[0][4], ck.pieces[1][4]
    ck.pieces[2][4] = a_at  # float32 [4] where int32 [3] is expected
    ck.write_index()
    refused(ck, "pieces[2]", "is float32 [4], the index says int32 [3]",
            read=lambda r: r.tensor("/b"))
    refused(ck, "pieces[2]", "float32 [4]", read=lambda r: r.verify())
    ck.pieces[2][4] = b0_at  # int32 [1] where int32 [3] is expected
    ck.write_index()
    refused(ck, "pieces[2]", "is int32 [1], the index says int32 [3]",
            read=lambda r: r.slice("/b", 3, 1, verify=False))


def test_an_offset_that_is_no_record(tmp_path):
    ck = sb.build(tmp_path / "ck", {"a": np.arange(100, dtype=np.float64),
                                    "b": np.ones(1)}, world=1)
    ck.pieces[1][4] = ck.pieces[0][4] + 128  # inside a's payload
    ck.write_index()
    refused(ck, "pieces[1]", "record header", read=lambda r: r.tensor("/b"))


def test_verify_checks_every_shard_whole(ck):
    # The shard's own index is damaged: no piece read notices, verify() does.
    size = ck.shards[0][0]
    flip(ck.shard_path(0), size - 64 - 64 + 3)
    with wick.ShardedReader(ck.directory) as r:
        r.value()
        with pytest.raises(wick.FormatError) as info:
            r.verify()
    assert info.value.structure == "index.wick shard 0"


def test_verify_checks_the_shard_metadata(ck):
    path = ck.shard_path(1)
    root = {k: v.copy() for k, v in wick.load(path).items()}  # copies: not one storage
    wick.save(root, path, metadata={"wick.shard": 0, "wick.world_size": 2}, durable=False)
    ck.shards[1] = [os.path.getsize(path), ck.shard_trailer_checksum(1)]
    ck.write_index()
    with wick.ShardedReader(ck.directory) as r:
        r.value()
        with pytest.raises(wick.FormatError) as info:
            r.verify()
    assert info.value.structure == "index.wick shard 1" and "wick.shard" in str(info.value)


def test_verify_checks_each_listed_checksum(ck):
    ck.pieces[0][5] ^= 1
    ck.write_index()
    refused(ck, "pieces[0]", "the index says", read=lambda r: r.verify())


# ---------------------------------------------------------------- bounds


def test_a_huge_count_in_a_tiny_index_is_refused_fast(tmp_path):
    ck = sb.build(tmp_path / "ck", {"x": np.ones(1, np.float32)}, world=1)
    ck.tensors[0][2] = [2**40]
    ck.pieces = [[0, 0, 0, 2**40, 64, 0]]
    ck.shards[0][0] = 2**43
    ck.write_index()
    assert os.path.getsize(ck.path(sb.INDEX)) < 1024
    tracemalloc.start()
    began = time.monotonic()
    try:
        with wick.ShardedReader(ck.directory) as r:
            assert r.tensors()[0].shape == (2**40,)
            for read in (lambda: r.tensor("/x"), lambda: r.slice("/x", 2**39, 2**30),
                         lambda: r.value(verify=False)):
                with pytest.raises(wick.FormatError) as info:
                    read()
                assert info.value.structure == "index.wick shard 0"
                assert "index.wick says 8796093022208" in str(info.value)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 4 << 20 and time.monotonic() - began < 2


def test_a_huge_count_past_an_honest_shard_is_refused_at_open(tmp_path):
    ck = sb.build(tmp_path / "ck", {"x": np.ones(1, np.float32)}, world=1)
    ck.tensors[0][2] = [2**40]
    ck.pieces = [[0, 0, 0, 2**40, 64, 0]]
    ck.write_index()
    refused(ck, "pieces[0]", "less its index and trailer")
