"""wick.ShardedReader against io/FORMAT.md "Sharded checkpoints (a directory of wick files)":
round trips through directories written by sharded_builder.py, and one refusal per rule of
"Rules a reader enforces", each checked for the structure it names."""

import os
import time
import tracemalloc

import numpy as np
import pytest
import xxhash

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


def refused(ck, structure, *words, read=None, verify=True, file=sb.INDEX):
    """Opening (then `read(reader)`) refuses naming exactly `structure` (unless None) in `file`
    (a base name: index.wick or a shard's)."""
    with pytest.raises(wick.FormatError) as info:
        with wick.ShardedReader(ck.directory, verify=verify) as r:
            if read is not None:
                read(r)
    err = info.value
    assert err.file == file, str(err)
    assert structure is None or err.structure == structure, str(err)
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
    err = refused(ck, None)  # the structure the wick reader names, in index.wick
    assert err.offset is not None and err.structure


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


@pytest.mark.parametrize("key, value, structure, words", [
    ("world_size", 0, "world_size", "world_size is 0"),
    ("world_size", 65537, "world_size", "world_size is 65537"),
    ("world_size", "2", "world_size", "world_size is '2'"),
    ("world_size", 2.0, "world_size", "world_size"),
    ("world_size", True, "world_size", "world_size is True"),
    ("world_size", 3, "shards", "shards is a int64 tensor [2, 2], expected an int64 tensor [3, 2]"),
    ("shards", np.zeros((2, 2), np.int32), "shards", "shards is a int32"),
    ("shards", np.zeros((2, 3), np.int64), "shards", "[2, 3]"),
    ("shards", [[1, 2], [3, 4]], "shards", "shards is a list"),
    ("pieces", np.zeros((0, 5), np.int64), "pieces", "pieces is a int64 tensor [0, 5]"),
    ("pieces", np.zeros((6, 6)), "pieces", "pieces is a float64"),
    ("pieces", np.zeros(36, np.int64), "pieces", "pieces"),
    ("tensors", (), "tensors", "is a tuple"),
    ("state", {"w": np.ones(1)}, "state", "state holds a tensor at '/w'")])
def test_the_root_types(ck, key, value, structure, words):
    """Each root entry of the wrong type is named by its key (as the C++ reader names it)."""
    root = ck.root()
    root[key] = value
    ck.write_index(root)
    refused(ck, structure, words)


@pytest.mark.parametrize("row, size", [(0, 128), (1, 0), (1, -64), (0, 1000)])
def test_shard_sizes_are_checked_at_open(ck, row, size):
    """Every shard size could be a wick file's (a multiple of 64, at least 192), before the
    state and the tensors are looked at."""
    ck.shards[row][0] = size
    ck.state["w"] = np.ones(1)  # a later fault: not the one named
    ck.write_index()
    refused(ck, f"shard {row}", "cannot be a wick file's")


@pytest.mark.parametrize("change, structure", [
    # Each pair of faults names the one the spec checks first.
    (lambda ck, root: (root.__setitem__("world_size", 0), root.__setitem__("state", np.ones(1))),
     "world_size"),
    (lambda ck, root: (root["shards"].__setitem__((0, 0), 100),
                       root.__setitem__("state", np.ones(1))), "shard 0"),
    (lambda ck, root: (root.__setitem__("state", {"w": np.ones(1)}),
                       root.__setitem__("tensors", ())), "state"),
    (lambda ck, root: (root["tensors"].__setitem__(0, ["/w", 42, [6]]),
                       root.__setitem__("pieces", np.zeros((1, 6)))), "tensors[0]"),
    (lambda ck, root: (root.__setitem__("tensors", ()),
                       root.__setitem__("pieces", np.zeros((1, 6)))), "tensors"),
    (lambda ck, root: (root["pieces"].__setitem__((5, 2), 9),
                       root["pieces"].__setitem__((1, 4), root["pieces"][0, 4])), "pieces[5]"),
])
def test_the_order_of_the_checks(ck, change, structure):
    """Layout version, root keys, world_size, shards, shard sizes, state, tensors, pieces (rows,
    coverage, then disjoint records): with two faults, the earlier rule is named."""
    root = ck.root()
    change(ck, root)
    ck.write_index(root)
    refused(ck, structure)


def test_a_huge_world_size_with_a_small_table_is_refused(ck):
    root = ck.root()
    root["world_size"] = 65536
    ck.write_index(root)
    refused(ck, "shards", "[65536, 2]")


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
    (lambda p: p.append([0, 0, 6, 1, 64, 0]), 6, "sorted by tensor, then start"),
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
    # The record is not that piece: refused when read, in the shard.
    refused(ck, None, read=lambda r: r.tensor("/w"), file=sb.shard_name(0, 2))


@pytest.mark.parametrize("fn, tensor, words", [
    (lambda p: p.pop(1), 0, "cover elements [0, 2) of its 6"),
    (lambda p: p.pop(), 2, "cover elements [0, 1) of its 4"),
    (lambda p: p.__delitem__(slice(2, 4)), 1, "cover elements [0, 0) of its 5")])
def test_a_tensor_not_covered(ck, fn, tensor, words):
    edit(ck, fn)
    refused(ck, f"tensors[{tensor}]", words)


def test_pieces_of_a_tensor_apart_are_unsorted_not_uncovered(ck):
    """Rows are checked before coverage: tensor 0, 1, then 0 again names the row."""
    edit(ck, lambda p: p.__setitem__(slice(1, 3), [p[2], p[1]]))
    refused(ck, "pieces[2]", "sorted by tensor, then start")


def test_records_of_one_shard_are_disjoint(ck):
    """Two pieces at one record: the later row is named; a record starting inside another:
    the later in offset order, whatever its row."""
    shard1 = [i for i, row in enumerate(ck.pieces) if row[1] == 1]  # rows 1 and 2
    a, b = shard1
    at = {i: ck.pieces[i][4] for i in shard1}
    ck.pieces[a][4] = at[b]
    ck.write_index()
    refused(ck, f"pieces[{b}]", "overlaps the record of")
    ck.pieces[a][4] = max(at.values()) + 64  # inside the last record of the shard
    ck.write_index()
    last = max(shard1, key=lambda i: at[i])
    assert last != a
    refused(ck, f"pieces[{a}]", f"overlaps the record of pieces[{last}]")
    ck.pieces[a][4] = at[a]
    ck.write_index()
    wick.load_sharded(ck.directory)


def test_records_back_to_back_are_disjoint(tmp_path):
    """A record may start exactly where the one before ends (64 header bytes and payload)."""
    ck = sb.build(tmp_path / "ck", {"a": np.arange(8, dtype=np.uint8),
                                    "b": np.arange(3, dtype=np.uint8)}, world=1)
    assert ck.pieces[1][4] == ck.pieces[0][4] + 128
    ck.pieces[1][4] = ck.pieces[0][4] + 64  # starts inside a's 8 payload bytes
    ck.write_index()
    refused(ck, "pieces[1]", "overlaps")


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
    assert info.value.structure == "shard 1" and info.value.file == sb.shard_name(1, 2)
    assert f"is {ck.shards[1][0] + 64} bytes, index.wick says {ck.shards[1][0]}" \
        in str(info.value)


def test_a_missing_shard(ck):
    """An I/O error, not a FormatError (C++: IoError), naming the shard; the open succeeds."""
    os.remove(ck.shard_path(1))
    with pytest.raises(FileNotFoundError) as info:
        wick.load_sharded(ck.directory, verify=False)
    assert os.path.basename(info.value.filename) == sb.shard_name(1, 2)
    with wick.ShardedReader(ck.directory) as r:
        assert (r.tensor("/opt/t/0") == np.arange(4)).all()  # shard 0 only


def test_a_missing_index(ck):
    os.remove(ck.path(sb.INDEX))
    with pytest.raises(FileNotFoundError) as info:
        wick.ShardedReader(ck.directory)
    assert os.path.basename(info.value.filename) == sb.INDEX


@pytest.mark.parametrize("verify", [True, False])
def test_the_index_is_verified_whatever_the_options(ck, verify):
    """A flipped byte of the index's payload is refused by an unverified load too."""
    with wick.Reader(ck.path(sb.INDEX)) as r:
        at = next(e.offset for e in r.entries() if e.path == "/pieces")
    flip(ck.path(sb.INDEX), at + 3)
    with pytest.raises(wick.FormatError) as info:
        wick.load_sharded(ck.directory, verify=verify)
    assert info.value.file == sb.INDEX and "checksum" in str(info.value)


def test_a_shard_of_another_checkpoint(ck, tmp_path):
    state = {"w": np.arange(6, dtype=np.float32) + 1, "step": 3,
             "opt": {0: np.arange(5, dtype=np.int16), "t": (np.arange(4, dtype=np.int32),)}}
    cuts = [[(0, 2, 0), (2, 4, 1)], [(0, 3, 1), (3, 2, 0)], [(0, 1, 0), (1, 3, 0)]]
    other = sb.build(tmp_path / "other", state, world=2, cuts=cuts)
    assert other.shards[1][0] == ck.shards[1][0]
    os.replace(other.shard_path(1), ck.shard_path(1))
    err = refused(ck, "shard 1", "a shard of another checkpoint", read=lambda r: r.value(),
                  file=sb.shard_name(1, 2))
    assert err.offset == ck.shards[1][0] - 64 + 16


@pytest.mark.parametrize("where, words", [
    (0, "file header"), (60, "file header"), (-64 + 3, "trailer"), (-64 + 50, "trailer")])
def test_a_damaged_shard_header_or_trailer(ck, where, words):
    flip(ck.shard_path(0), where if where >= 0 else ck.shards[0][0] + where)
    refused(ck, words, read=lambda r: r.tensor("/w"), file=sb.shard_name(0, 2))


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
    refused(ck, "file header", "format version 3.0 is newer than this reader's 2.1",
            read=lambda r: r.tensor("/w"), file=sb.shard_name(0, 2))


def test_a_tiny_shard(tmp_path):
    ck = sb.build(tmp_path / "ck", {"a": np.ones(3)}, world=2, cuts=[[(0, 3, 1)]])
    with open(ck.shard_path(0), "wb") as f:
        f.write(b"\x89WICK\r\n\x1a" + bytes(8))
    ck.shards[0][0] = 16
    ck.write_index()
    # Refused at open, though no piece is in shard 0: no wick file is 16 bytes.
    refused(ck, "shard 0", "size 16 cannot be a wick file's")


# ---------------------------------------------------------------- refusals: a piece


def test_a_corrupted_piece_payload(ck):
    row = ck.pieces[1]  # /w elements 2..5 in shard 1
    flip(ck.shard_path(row[1]), row[4] + 64 + 5)
    piece, shard1 = f"piece of '/w' at offset {row[4]}", sb.shard_name(1, 2)
    refused(ck, piece, "payload checksum", read=lambda r: r.tensor("/w"), file=shard1)
    refused(ck, piece, "payload checksum", read=lambda r: r.slice("/w", 5, 1), file=shard1)
    with wick.ShardedReader(ck.directory) as r:
        # Unverified reads take the bytes as they are; a slice outside the flip is exact.
        assert (r.slice("/w", 0, 2, verify=False) == [0, 1]).all()
        assert not (r.tensor("/w", verify=False) == np.arange(6)).all()
        with pytest.raises(wick.FormatError) as info:
            r.verify()
    # The shard's own record fails first, as io::Reader::verify() names it.
    assert info.value.structure == "tensor '/~1w@2'" and info.value.file == shard1
    assert "checksum mismatch" in str(info.value)


def test_a_record_of_the_wrong_dtype_or_shape(tmp_path):
    """Offsets swapped between pieces (records still disjoint): the record read is not the
    piece the index lists, refused naming the piece in its shard, verified or not."""
    state = {"a": np.arange(4, dtype=np.float32), "b": np.arange(4, dtype=np.int32),
             "c": np.arange(2, dtype=np.float32)}
    ck = sb.build(tmp_path / "ck", state, world=1)
    at = [row[4] for row in ck.pieces]
    ck.pieces[0][4], ck.pieces[1][4] = at[1], at[0]  # float32 [4] <-> int32 [4]
    ck.write_index()
    shard0 = sb.shard_name(0, 1)
    refused(ck, f"piece of '/a' at offset {at[1]}", "holds int32 [4]; the index says float32 [4]",
            read=lambda r: r.tensor("/a"), file=shard0)
    refused(ck, f"piece of '/a' at offset {at[1]}", "int32 [4]", read=lambda r: r.verify(),
            file=shard0)
    ck.pieces[0][4], ck.pieces[1][4] = at[0], at[1]
    ck.pieces[0][4], ck.pieces[2][4] = at[2], at[0]  # float32 [4] <-> float32 [2]
    ck.write_index()
    refused(ck, f"piece of '/c' at offset {at[0]}", "float32 [4]; the index says float32 [2]",
            read=lambda r: r.slice("/c", 1, 1, verify=False), file=shard0)


def test_an_offset_inside_another_record(tmp_path):
    ck = sb.build(tmp_path / "ck", {"a": np.arange(100, dtype=np.float64),
                                    "b": np.ones(1)}, world=1)
    ck.pieces[1][4] = ck.pieces[0][4] + 128  # inside a's payload
    ck.write_index()
    refused(ck, "pieces[1]", "overlaps the record of pieces[0]")


def test_a_damaged_piece_record_header(tmp_path):
    ck = sb.build(tmp_path / "ck", {"a": np.arange(4.0), "b": np.ones(1)}, world=1)
    flip(ck.shard_path(0), ck.pieces[1][4] + 24)
    for verify in (True, False):
        refused(ck, "tensor record header", "header checksum", verify=verify,
                read=lambda r: r.tensor("/b"), file=sb.shard_name(0, 1))


def test_bool_payloads_are_checked_verified_or_not(tmp_path):
    ck = sb.build(tmp_path / "ck", {"f": np.array([True, False, True])}, world=1)
    at = ck.pieces[0][4]
    with open(ck.shard_path(0), "r+b") as f:
        f.seek(at + 64 + 1)
        f.write(b"\x02")
        f.seek(at + 64)
        payload = f.read(3)
    ck.pieces[0][5] = xxhash.xxh3_64_intdigest(payload)
    ck.write_index()
    for verify in (True, False):
        refused(ck, f"piece of '/f' at offset {at}", "byte 2", read=lambda r: r.tensor("/f"),
                verify=verify, file=sb.shard_name(0, 1))
    # Unverified, only the elements read are checked.
    with wick.ShardedReader(ck.directory, verify=False) as r:
        assert r.slice("/f", 2, 1).tolist() == [True]


def test_verify_checks_every_shard_whole(ck):
    # The shard's own index is damaged: no piece read notices, verify() does.
    size = ck.shards[0][0]
    flip(ck.shard_path(0), size - 64 - 64 + 3)
    with wick.ShardedReader(ck.directory) as r:
        r.value()
        with pytest.raises(wick.FormatError) as info:
            r.verify()
    assert info.value.file == sb.shard_name(0, 2) and info.value.structure


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
    assert info.value.structure == "shard 1" and "wick.shard" in str(info.value)
    assert info.value.file == sb.shard_name(1, 2)


def test_verify_takes_any_shard_root_and_unlisted_records(ck):
    """The shard's root need not be a dict of pieces, and records no piece lists are ignored
    (FORMAT.md: a reader checks neither)."""
    path = ck.shard_path(0)
    with wick.Reader(path) as r:
        old = {e.offset - 64: r.tensor(e.path).copy() for e in r.entries()}
    items = [np.arange(5, dtype=np.int64)] + [old[k] for k in sorted(old)]
    wick.save(items, path, metadata={"wick.shard": 0, "wick.world_size": 2}, durable=False)
    with wick.Reader(path) as r:
        new = [e.offset - 64 for e in r.entries()][1:]
    moved = dict(zip(sorted(old), new))
    for row in ck.pieces:
        if row[1] == 0:
            row[4] = moved[row[4]]
    ck.shards[0] = [os.path.getsize(path), ck.shard_trailer_checksum(0)]
    ck.write_index()
    with wick.ShardedReader(ck.directory) as r:
        r.verify()
        assert (r.tensor("/w") == np.arange(6)).all()


def test_verify_checks_each_listed_checksum(ck):
    ck.pieces[0][5] ^= 1
    ck.write_index()
    refused(ck, f"piece of '/w' at offset {ck.pieces[0][4]}", "the index says",
            read=lambda r: r.verify(), file=sb.shard_name(0, 2))


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
                assert info.value.structure == "shard 0"
                assert info.value.file == sb.shard_name(0, 1)
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
