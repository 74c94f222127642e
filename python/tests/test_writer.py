"""wick.save: byte identity with the golden files and the C++ writer, refusals, atomic saves."""

import fcntl
import io
import os
import pathlib
import subprocess
import sys
import threading

import numpy as np
import pytest
from numpy.lib.stride_tricks import as_strided

import wick
from wick import format as F
from wick import writer as W

DATA = pathlib.Path(__file__).resolve().parents[2] / "tests" / "data"
GOLDEN = sorted(p.name for p in DATA.glob("*.wick"))


def peers_required():
    return os.environ.get("WICK_REQUIRE_PEERS") == "1"


def cli():
    """The C++ CLI from WICK_CLI; skipped when unset unless WICK_REQUIRE_PEERS=1 (CI)."""
    path = os.environ.get("WICK_CLI")
    if not path:
        if peers_required():
            pytest.fail("WICK_REQUIRE_PEERS=1 but WICK_CLI is not set")
        pytest.skip("WICK_CLI is not set")
    if not os.access(path, os.X_OK):
        pytest.fail(f"WICK_CLI={path} is not an executable")
    return path


def save_bytes(obj, **kw):
    out = io.BytesIO()
    wick.save(obj, out, **kw)
    return out.getvalue()


def temp_files(directory):
    return [n for n in os.listdir(directory) if ".wick-tmp-" in n]


# ---------------------------------------------------------------- golden files


@pytest.mark.parametrize("name", GOLDEN)
def test_golden_files_are_reproduced_byte_for_byte(name):
    value, meta, version = wick.load_with_metadata(DATA / name)
    assert save_bytes(value, metadata=meta) == (DATA / name).read_bytes()


def test_golden_files_are_reproduced_through_a_path(tmp_path):
    for name in GOLDEN:
        value, meta, _ = wick.load_with_metadata(DATA / name)
        wick.save(value, tmp_path / name, metadata=meta, durable=False)
        assert (tmp_path / name).read_bytes() == (DATA / name).read_bytes()


def test_bfloat16_loads_marked_and_saves_as_bfloat16():
    value = wick.load(DATA / "all_types.wick")
    bf = value["bfloat16"]
    assert bf.dtype == np.uint16 and bf.dtype.metadata == {"wick_dtype": "bfloat16"}
    for view in (bf[::2], bf.T, bf.reshape(-1), as_strided(bf, (2,), (2,)), bf.copy()):
        assert W.dtype_code(view.dtype) == F.BFLOAT16_CODE
    with pytest.raises(TypeError, match="bfloat16_bits"):
        wick.save({"x": bf.view(np.uint16)}, io.BytesIO())
    assert W.dtype_code((bf.astype(np.float32) * 2).dtype) == 8  # arithmetic drops the marker
    for lost in (bf.astype(np.uint16), np.concatenate([bf, bf]), bf.view(np.uint16)):
        assert lost.dtype.metadata is None  # as python/README.md documents
    assert W.dtype_code(wick.bfloat16_bits(np.concatenate([bf, bf])).dtype) == F.BFLOAT16_CODE


def test_bfloat16_bits_marks_without_copying():
    raw = np.array([0x3F80, 0x4000, 0xC040], dtype=np.uint16)
    marked = wick.bfloat16_bits(raw)
    assert np.shares_memory(marked, raw)
    back = wick.load(io.BytesIO(save_bytes({"b": marked})))["b"]
    assert back.dtype.metadata == {"wick_dtype": "bfloat16"}
    np.testing.assert_array_equal(back, raw)
    f = io.BytesIO(save_bytes({"b": marked}))
    f.seek(64 + 20)
    assert f.read(1) == bytes([F.BFLOAT16_CODE])
    with pytest.raises(TypeError):
        wick.bfloat16_bits(np.zeros(3, np.float32))


# ---------------------------------------------------------------- generated trees


def views_tree():
    base = np.arange(24, dtype=np.float32).reshape(4, 6)
    bf = wick.bfloat16_bits(np.arange(40, dtype=np.uint16).reshape(5, 8))
    numbers = np.arange(10)
    return {
        "base": base, "rows": base[1:3], "step": base[:, ::2], "T": base.T, "row": base[2],
        "el": base[1, 2, ...], "again": base[1:3], "expanded": np.broadcast_to(base[0], (3, 6)),
        "tuple": (base[3], base[::2, 1:]), "numbers": numbers, "evens": numbers[::2],
        "bf": bf, "bf_cols": bf[:, 1::3], "bf_T": bf.T,
        "run": (lambda r: [r[10:20], r])(np.arange(100, dtype=np.int16)),
    }


def every_dtype_tree():
    rng = np.random.default_rng(7)
    tree = {}
    for code, (name, dtype, _) in F.DTYPES.items():
        for rank in range(7):
            shape = tuple(int(s) for s in rng.integers(1, 4, size=rank))
            raw = rng.integers(0, 256, size=int(np.prod(shape)) * dtype.itemsize, dtype=np.uint8)
            a = raw.view(np.uint16 if code == 7 else dtype).reshape(shape)
            if code == 0:
                a = raw.astype(bool).reshape(shape)
            if code == 7:
                a = wick.bfloat16_bits(a)
            tree[f"{name}_r{rank}"] = a
        tree[f"{name}_empty"] = np.zeros((2, 0, 3), dtype)
    return tree


def nested(depth):
    v = np.ones(2, np.float32)
    for i in range(depth):
        v = [v] if i % 2 else {"k": v}
    return v


TREES = {
    "every_dtype": (every_dtype_tree, {}),
    "views": (views_tree, {}),
    "deep_512": (lambda: nested(512), {}),
    "unicode": (lambda: {"é": np.zeros(2), "𝔘𝔫𝔦": {"e\u0301": 1, "": [], "a/b~c": "ß🙂"},
                         "\U0010ffff": np.int8(3)}, {"naïve": "𝄞", "x": 1}),
    "metadata": (lambda: {"w": np.ones((2, 3), np.float64)},
                 {"none": None, "t": True, "f": False, "i": -(2**63), "big": 2**63 - 1,
                  "fl": -0.0, "inf": float("inf"), "s": "", "u": "日本"}),
    "scalars": (lambda: [None, True, False, 0, -1, 2**63 - 1, 1.5, float("nan"), "", "x",
                         np.float32(0.25), np.int16(-4), np.bool_(True), (), {}, []], {}),
    "checkpoint": (lambda: {"state": {0: {"step": 3, "exp_avg": np.zeros(4, np.float32)},
                                      1: {"step": 3}, "07": "digits"},
                            "param_groups": [{"betas": (0.9, 0.999), "params": [0, 1]}],
                            "shape": (2, 3), "t1": (1,), "t0": ()}, {"epoch": 2}),
    "shared": (lambda: (lambda x: {"a": x, "b": x, "c": [x, x[...]]})(np.ones(3, np.int32)), {}),
}


@pytest.mark.parametrize("name", sorted(TREES))
def test_generated_trees_load_back_equal(name):
    make, meta = TREES[name]
    obj = make()
    value, meta_back, _ = wick.load_with_metadata(io.BytesIO(save_bytes(obj, metadata=meta)))
    assert_same_tree(obj, value)
    assert repr(meta_back) == repr(meta)


@pytest.mark.parametrize("name", sorted(TREES))
def test_generated_trees_are_what_the_cpp_writer_writes(name, tmp_path):
    """Python writes a.wick; `wick convert` re-saves it with the C++ writer: the same bytes."""
    wick_cli = cli()
    make, meta = TREES[name]
    a, b = tmp_path / "a.wick", tmp_path / "b.wick"
    wick.save(make(), a, metadata=meta, durable=False)
    assert subprocess.run([wick_cli, "verify", str(a)], capture_output=True).returncode == 0
    done = subprocess.run([wick_cli, "convert", str(a), str(b)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert b.read_bytes() == a.read_bytes()


def assert_same_tree(want, got):
    if isinstance(want, np.ndarray):
        assert isinstance(got, np.ndarray) and got.dtype == want.dtype.newbyteorder("<")
        np.testing.assert_array_equal(got, want)
    elif isinstance(want, dict):
        assert list(got) == [int(k) if isinstance(k, np.integer) else k for k in want]
        for k in want:
            assert_same_tree(want[k], got[k])
    elif isinstance(want, (list, tuple)):
        assert type(got) is (tuple if isinstance(want, tuple) else list) and len(got) == len(want)
        for w, g in zip(want, got):
            assert_same_tree(w, g)
    elif isinstance(want, float) and want != want:
        assert got != got
    else:
        kinds = {np.bool_: bool, np.floating: float, np.integer: int}
        expect = next((t for k, t in kinds.items() if isinstance(want, k)), type(want))
        assert got == want and type(got) is expect


# ---------------------------------------------------------------- versions and sharing


def version_of(data):
    return wick.load_with_metadata(io.BytesIO(data))[2]


def test_the_oldest_version_that_holds_the_value():
    x = np.ones(3)
    assert version_of(save_bytes({"a": x, "l": [1]})) == (1, 0)
    assert version_of(save_bytes({"a": (1,)})) == (2, 0)
    assert version_of(save_bytes({0: x})) == (2, 0)
    assert version_of(save_bytes({"a": x, "b": x[1:]})) == (2, 1)
    # Same layout twice is one record, not a view: 1.0.
    assert version_of(save_bytes({"a": x, "b": x, "c": x[:]})) == (1, 0)


def test_one_array_twice_is_one_record_and_loads_as_one_object():
    x = np.arange(6, dtype=np.float32)
    data = save_bytes({"a": x, "b": x})
    value = wick.load(io.BytesIO(data))
    assert value["a"] is value["b"]
    assert data.count(b"\x01\x00\x00\x00\x00\x00\x40\x00") == 1  # one kind-1 prefix, H = 64


def test_views_load_back_sharing_memory():
    value = wick.load(io.BytesIO(save_bytes(views_tree())))
    base = value["base"]
    for name in ("rows", "step", "T", "row", "el", "again"):
        assert np.shares_memory(value[name], base), name
    assert value["rows"] is value["again"]
    assert not np.shares_memory(value["expanded"], base)  # expanded: a copy
    base[2, 0] = -1
    assert value["row"][0] == -1 and value["T"][0, 2] == -1
    value["numbers"][4] = 99
    assert value["evens"][2] == 99
    assert np.shares_memory(value["bf_cols"], value["bf"])
    assert value["bf_T"].dtype.metadata == {"wick_dtype": "bfloat16"}
    run, whole = value["run"]
    assert np.shares_memory(run, whole)


def test_a_slice_alone_is_stored_alone():
    big = np.zeros(1 << 16, np.float32)
    assert len(save_bytes({"s": big[10:20]})) < 512


def test_strides_a_view_cannot_hold_make_copies():
    raw = np.arange(64, dtype=np.uint8)
    odd = raw[1:41].view(np.float32)  # offset 1 byte: not a whole float32 element
    rev = np.arange(8.0)
    tree = {"odd": odd, "odd2": odd[2:], "rev": rev[::-1], "fwd": rev,
            "be": np.arange(4, dtype=">i4")}
    data = save_bytes(tree)
    assert version_of(data) == (1, 0)
    value = wick.load(io.BytesIO(data))
    assert_same_tree(tree, value)
    assert value["be"].dtype == np.dtype("<i4")


def test_views_of_a_buffer_that_no_member_covers_use_a_one_dimensional_run():
    s = np.arange(100, dtype=np.float64)
    value = wick.load(io.BytesIO(save_bytes({"a": s[10:20], "b": s[15:30:5]})))
    assert np.shares_memory(value["a"], value["b"])
    np.testing.assert_array_equal(value["b"], [15, 20, 25])


# ---------------------------------------------------------------- refusals


class Weird:
    pass


REFUSALS = {
    "2^62 rule": (lambda: {"x": as_strided(np.zeros(1, np.int8), (3, 2**61, 0), (0, 0, 1))},
                  wick.ArgumentError, "2\\^62"),
    "object dtype": (lambda: {"x": np.array([None])}, TypeError, "dtype object"),
    "complex dtype": (lambda: {"x": np.zeros(2, np.complex64)}, TypeError, "complex64"),
    "unicode dtype": (lambda: {"x": np.array(["a"])}, TypeError, "<U1"),
    "datetime dtype": (lambda: {"x": np.zeros(2, "datetime64[s]")}, TypeError, "datetime64"),
    "uint32 dtype": (lambda: {"x": np.zeros(2, np.uint32)}, TypeError, "uint32"),
    "bool bytes": (lambda: {"x": np.array([0, 2], np.uint8).view(bool)}, wick.ArgumentError,
                   "other than 0 and 1"),
    "int above int64": (lambda: {"x": 2**63}, wick.ArgumentError, "outside int64"),
    "int below int64": (lambda: [-(2**63) - 1], wick.ArgumentError, "outside int64"),
    "int key above int64": (lambda: {2**64: 1}, wick.ArgumentError, "outside int64"),
    "key with NUL": (lambda: {"a\0b": 1}, wick.ArgumentError, "NUL"),
    "lone surrogate": (lambda: ["\ud800"], wick.ArgumentError, "UTF-8"),
    "surrogate key": (lambda: {"\udfff": 1}, wick.ArgumentError, "UTF-8"),
    "depth 513": (lambda: nested(513), wick.ArgumentError, "deeper than 512"),
    "7 and '7'": (lambda: {"s": {7: 1, "7": 2}}, wick.ArgumentError, "both the int key 7"),
    "-1 and '-1'": (lambda: {"-1": 1, -1: 2}, wick.ArgumentError, "both the int key -1"),
    "bool key": (lambda: {True: 1}, TypeError, "bool"),
    "float key": (lambda: {1.5: 1}, TypeError, "float"),
    "set": (lambda: {"x": {1}}, TypeError, "set"),
    "complex": (lambda: {"x": 1j}, TypeError, "complex"),
    "object": (lambda: {"x": Weird()}, TypeError, "Weird"),
}
META_REFUSALS = {
    "list value": ({"a": [1]}, TypeError),
    "array value": ({"a": np.zeros(1)}, TypeError),
    "empty key": ({"": 1}, wick.ArgumentError),
    "NUL key": ({"a\0": 1}, wick.ArgumentError),
    "int key": ({1: 1}, TypeError),
    "surrogate": ({"a": "\ud800"}, wick.ArgumentError),
    "not a dict": ([("a", 1)], TypeError),
}


def test_argument_error_is_a_value_error():
    assert issubclass(wick.ArgumentError, ValueError)


@pytest.mark.parametrize("name", sorted(REFUSALS))
def test_refusals_leave_the_target_untouched(name, tmp_path):
    make, error, message = REFUSALS[name]
    target = tmp_path / "t.wick"
    target.write_bytes(b"old")
    with pytest.raises(error, match=message):
        wick.save(make(), target)
    assert target.read_bytes() == b"old" and temp_files(tmp_path) == []
    out = io.BytesIO()
    with pytest.raises(error):
        wick.save(make(), out)
    assert out.getvalue() == b""  # refused before the first byte


@pytest.mark.parametrize("name", sorted(META_REFUSALS))
def test_metadata_refusals(name, tmp_path):
    meta, error = META_REFUSALS[name]
    target = tmp_path / "t.wick"
    with pytest.raises(error):
        wick.save({}, target, metadata=meta)
    assert os.listdir(tmp_path) == []


def test_rank_above_32_is_refused():
    class Rank33(np.ndarray):
        ndim = 33  # NumPy 1.x cannot build one; the check reads ndim, as for NumPy 2 arrays

    a = np.zeros(1).view(Rank33)
    with pytest.raises(wick.ArgumentError, match="rank 33"):
        W._check_array(a, "x")


def test_depth_512_is_the_limit():
    assert version_of(save_bytes(nested(512))) == (1, 0)
    assert wick.load(io.BytesIO(save_bytes(nested(512)))) is not None


# ---------------------------------------------------------------- atomic saves


def test_a_save_that_fails_midway_leaves_the_old_file(tmp_path, monkeypatch):
    target = tmp_path / "t.wick"
    wick.save({"old": np.ones(3)}, target)
    old = target.read_bytes()
    calls = []

    def failing(a):
        for chunk in real(a):
            calls.append(len(chunk))
            if len(calls) == 3:
                raise OSError("disk full (simulated)")
            yield chunk

    real = W._byte_chunks
    monkeypatch.setattr(W, "_byte_chunks", failing)
    big = {f"w{i}": np.ones(1 << 20, np.float32) for i in range(3)}
    with pytest.raises(OSError, match="simulated"):
        wick.save(big, target)
    assert target.read_bytes() == old and temp_files(tmp_path) == []


@pytest.mark.parametrize("durable", [True, False])
def test_save_replaces_and_keeps_the_permission_bits(tmp_path, durable):
    target = tmp_path / "t.wick"
    wick.save({"a": 1}, target, durable=durable)
    os.chmod(target, 0o640)
    wick.save({"a": 2}, target, durable=durable)
    assert wick.load(target) == {"a": 2}
    assert target.stat().st_mode & 0o7777 == 0o640
    assert temp_files(tmp_path) == []


def test_a_new_target_gets_the_umask_mode(tmp_path):
    old = os.umask(0o027)
    try:
        wick.save({}, tmp_path / "n.wick")
    finally:
        os.umask(old)
    assert (tmp_path / "n.wick").stat().st_mode & 0o777 == 0o640


def test_stale_temp_files_are_removed_and_live_ones_kept(tmp_path):
    target = tmp_path / "t.wick"
    stale = tmp_path / ".t.wick.wick-tmp-0123456789ab"
    stale.write_bytes(b"dead save")
    live = tmp_path / ".t.wick.wick-tmp-zzzzzzzzzzzz"
    live.write_bytes(b"live save")
    other = tmp_path / ".u.wick.wick-tmp-0123456789ab"  # another target's
    other.write_bytes(b"x")
    lookalike = tmp_path / ".t.wick.wick-tmp-0123456789AB"  # not [0-9a-z]
    lookalike.write_bytes(b"x")
    link = tmp_path / ".t.wick.wick-tmp-aaaaaaaaaaaa"
    os.symlink(other, link)
    holder = subprocess.Popen(
        [sys.executable, "-c", "import fcntl,sys,time; f=open(sys.argv[1],'rb'); "
         "fcntl.flock(f, fcntl.LOCK_EX); print('locked', flush=True); time.sleep(60)", str(live)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        wick.save({"a": 1}, target)
        assert not stale.exists()
        assert live.read_bytes() == b"live save"
        assert other.exists() and lookalike.exists() and link.is_symlink()
    finally:
        holder.kill()
        holder.wait()
    wick.save({"a": 2}, target)  # the holder died: its file is stale now
    assert not live.exists()


def test_the_temp_file_of_a_killed_save_is_removed_by_the_next_save(tmp_path):
    target = tmp_path / "t.wick"
    script = ("import os, signal, sys; sys.path.insert(0, sys.argv[2]); from wick import writer; "
              "import numpy as np\n"
              "def die(a):\n"
              "    yield memoryview(b'x' * 100)\n"
              "    os.kill(os.getpid(), signal.SIGKILL)\n"
              "writer._byte_chunks = die\n"
              "writer.save({'w': np.ones(10)}, sys.argv[1])")
    python_dir = str(pathlib.Path(wick.__file__).resolve().parents[1])
    done = subprocess.run([sys.executable, "-c", script, str(target), python_dir])
    assert done.returncode == -9
    left = temp_files(tmp_path)
    assert len(left) == 1 and not target.exists()
    wick.save({"a": 1}, target)
    assert temp_files(tmp_path) == [] and wick.load(target) == {"a": 1}


def test_the_temp_file_is_named_and_locked_while_it_is_written(tmp_path, monkeypatch):
    target = tmp_path / "t.wick"
    seen = []
    real = W._write_file

    def spy(f, *args):
        names = temp_files(tmp_path)
        seen.extend(names)
        fd = os.open(tmp_path / names[0], os.O_RDONLY)
        with pytest.raises(BlockingIOError):
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.close(fd)
        real(f, *args)

    monkeypatch.setattr(W, "_write_file", spy)
    wick.save({"a": 1}, target)
    assert len(seen) == 1 and W._is_temp_of(seen[0], ".t.wick.wick-tmp-")
    assert temp_files(tmp_path) == []


def test_saving_to_a_directory_is_refused(tmp_path):
    with pytest.raises(IsADirectoryError):
        wick.save({}, tmp_path)


def test_save_to_a_pipe_streams_without_seeking():
    r, w = os.pipe()
    tree = {"w": np.arange(3 << 20, dtype=np.float32), "n": [1, "x"]}
    got = []
    reader = threading.Thread(target=lambda: got.append(os.fdopen(r, "rb").read()))
    reader.start()
    with os.fdopen(w, "wb") as f:
        wick.save(tree, f)
    reader.join()
    assert got[0] == save_bytes(tree)
    assert_same_tree(tree, wick.load(io.BytesIO(got[0])))


def test_non_contiguous_arrays_larger_than_a_chunk_are_written_in_order():
    big = np.arange(3 * W.CHUNK, dtype=np.float32).reshape(-1, 768)
    tree = {"t": big.T, "s": big[::3, ::2], "row": big[:, 5]}
    assert_same_tree(tree, wick.load(io.BytesIO(save_bytes(tree))))
    chunks = list(W._byte_chunks(big.T))
    assert max(len(c) for c in chunks) <= W.CHUNK and sum(len(c) for c in chunks) == big.nbytes


def random_view(rng, base):
    """A chain of slices, steps, transposes, selects, new axes, reshapes and expansions."""
    a = base
    for _ in range(rng.integers(0, 4)):
        if a.ndim == 0:
            break
        op, ax = rng.integers(0, 6), int(rng.integers(0, a.ndim))
        n = a.shape[ax]
        if op == 0 and n:
            s = int(rng.integers(0, n))
            idx = [slice(None)] * a.ndim
            idx[ax] = slice(s, int(rng.integers(s, n + 1)), int(rng.integers(1, 3)))
            a = a[tuple(idx)]
        elif op == 1:
            a = a.T
        elif op == 2 and n:
            a = a[(slice(None),) * ax + (int(rng.integers(0, n)), Ellipsis)]  # 0-d stays a view
        elif op == 3:
            a = a[None]
        elif op == 4 and a.flags.c_contiguous and a.size % 2 == 0 and a.size:
            a = a.reshape(2, -1)
        elif op == 5 and n and rng.random() < 0.3:
            a = np.broadcast_to(a, (2,) + a.shape)
    return a


def random_view_tree(seed):
    rng = np.random.default_rng(seed)
    dtype = [np.float32, np.int8, np.float64, np.int16][rng.integers(0, 4)]
    bases = [np.arange(int(rng.integers(1, 40))).astype(dtype) for _ in range(rng.integers(1, 3))]
    bases = [b.reshape(2, -1) if b.size % 2 == 0 and rng.random() < 0.5 else b for b in bases]
    items = [bases[rng.integers(0, len(bases))] for _ in range(rng.integers(1, 7))]
    items = [b if rng.random() < 0.2 else random_view(rng, b) for b in items]
    if rng.random() < 0.5:
        return {f"k{i}": v for i, v in enumerate(items)}
    return [items, tuple(items[:2])]


def test_random_view_trees_are_what_the_cpp_writer_writes(tmp_path):
    """Seeded random sharing (1,300 such trees matched when this was written; 60 run here)."""
    wick_cli = cli()
    a, b = tmp_path / "a.wick", tmp_path / "b.wick"
    for seed in range(60):
        tree = random_view_tree(seed)
        wick.save(tree, a, durable=False)
        assert subprocess.run([wick_cli, "verify", str(a)], capture_output=True).returncode == 0
        assert subprocess.run([wick_cli, "convert", str(a), str(b)]).returncode == 0
        assert b.read_bytes() == a.read_bytes(), seed
        assert_same_tree(tree, wick.load(a))


def test_concurrent_saves_to_one_path_all_succeed(tmp_path):
    target = tmp_path / "t.wick"
    errors = []

    def saver(i):
        try:
            for j in range(10):
                wick.save({"i": i, "j": j, "w": np.full(1000, i, np.int32)}, target,
                          durable=False)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=saver, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    value = wick.load(target)
    assert value["j"] == 9 and (value["w"] == value["i"]).all()
    assert temp_files(tmp_path) == []


def test_a_version_asked_for_is_written_for_any_value_it_holds(tmp_path):
    """save(version=...) is the C++ SaveOptions::format_major/format_minor: 2.0 or 2.1 for a
    value that needs neither; a forced 2.0 stores a view as a copy; 1.0 refuses a tuple."""
    base = np.arange(6, dtype=np.float32)
    for asked in [(1, 0), (2, 0), (2, 1)]:
        out = io.BytesIO()
        wick.save({"w": base}, out, version=asked)
        _, _, got = wick.load_with_metadata(io.BytesIO(out.getvalue()))
        assert got == asked
    shared = {"all": base, "odd": base[1::2]}
    out = io.BytesIO()
    wick.save(shared, out, version=(2, 0))
    back = wick.load(io.BytesIO(out.getvalue()))
    assert not np.shares_memory(back["all"], back["odd"])
    np.testing.assert_array_equal(back["odd"], base[1::2])
    with pytest.raises(wick.ArgumentError, match="tuple or an int dict key"):
        wick.save({"t": (1, 2)}, tmp_path / "t.wick", version=(1, 0))
    assert not (tmp_path / "t.wick").exists()
    for bad in [(2, 2), (3, 0), (0, 1)]:
        with pytest.raises(wick.ArgumentError, match="cannot write format version"):
            wick.save({}, io.BytesIO(), version=bad)
