"""Every golden file in tests/data loads to the values it is documented to hold."""

import pathlib

import numpy as np

import wick
import builder as B

DATA = pathlib.Path(__file__).resolve().parents[2] / "tests" / "data"


def load(name, **kw):
    return wick.load_with_metadata(DATA / name, **kw)


def test_every_golden_file_loads_verified_and_unverified():
    names = sorted(p.name for p in DATA.glob("*.wick"))
    assert names == ["all_types.wick", "checkpoint_2_0.wick", "tied.wick",
                     "tutorial_list.wick", "views_2_1.wick"]
    for name in names:
        value, meta, _ = load(name)
        again, meta_again, _ = load(name, verify=False)
        assert repr(value) == repr(again) and meta == meta_again


def test_load_accepts_a_binary_file_object():
    with open(DATA / "tied.wick", "rb") as f:
        assert set(wick.load(f)) == {"encoder.weight", "decoder.weight"}


def test_tied_weights_are_one_object():
    value, meta, version = load("tied.wick")
    assert version == (1, 0) and meta == {}
    assert list(value) == ["encoder.weight", "decoder.weight"]
    enc = value["encoder.weight"]
    assert enc is value["decoder.weight"]
    assert enc.dtype == np.float32 and enc.shape == (3, 4)
    np.testing.assert_array_equal(enc, np.arange(12, dtype=np.float32).reshape(3, 4))


def test_tutorial_list():
    value, _, version = load("tutorial_list.wick")
    assert version == (1, 0) and isinstance(value, list) and len(value) == 2
    assert value[0].dtype == np.int64
    np.testing.assert_array_equal(value[0], np.arange(4))
    assert value[1].dtype == np.float32
    np.testing.assert_array_equal(value[1], np.zeros(4, np.float32))


def test_all_types_holds_every_dtype_and_the_metadata():
    value, meta, version = load("all_types.wick")
    assert version == (1, 0)
    assert meta == {"epoch": 3, "lr": 0.001, "name": "golden", "ok": True, "none": None}
    assert list(meta) == ["epoch", "lr", "name", "ok", "none"]
    ramp = np.array([[-3, -2, -1], [0, 1, 2]])
    for name in ["int8", "int16", "int32", "int64"]:
        assert value[name].dtype == np.dtype(name)
        np.testing.assert_array_equal(value[name], ramp)
    np.testing.assert_array_equal(value["uint8"], [[0, 0, 0], [0, 1, 2]])
    assert value["uint8"].dtype == np.uint8
    np.testing.assert_array_equal(value["bool"], ramp != 0)
    assert value["bool"].dtype == np.bool_
    floats = np.array([[-3.75, -2.5, -1.25], [0, 1.25, 2.5]])
    for name in ["float16", "float32", "float64"]:
        assert value[name].dtype == np.dtype(name)
        np.testing.assert_array_equal(value[name], floats)


def test_all_types_bfloat16_is_the_raw_bits_and_the_rest():
    value, _, _ = load("all_types.wick")
    bf16 = value["bfloat16"]
    assert bf16.dtype == np.uint16 and bf16.shape == (2, 3)
    # bfloat16 is the upper half of a float32: widen the bits to read the numbers.
    as_f32 = (bf16.astype(np.uint32) << 16).view(np.float32)
    np.testing.assert_array_equal(as_f32, [[-3.75, -2.5, -1.25], [0, 1.25, 2.5]])
    assert value["zero_d"].shape == () and value["zero_d"].dtype == np.int32
    assert int(value["zero_d"]) == 42
    assert value["empty"].shape == (0, 3) and value["empty"].dtype == np.float16
    np.testing.assert_array_equal(value["transposed"], np.arange(6.0).reshape(2, 3).T)
    assert value["nested"] == [1, -2.5, "text", True, False, None, [], {"k": [7]}]


def test_checkpoint_2_0_has_int_keys_and_tuples():
    value, meta, version = load("checkpoint_2_0.wick")
    assert version == (2, 0) and meta == {}
    assert value["epoch"] == 5
    state = value["optimizer_state_dict"]["state"]
    assert list(state) == [0, 1]
    np.testing.assert_array_equal(state[0]["exp_avg"], np.arange(6.0).reshape(3, 2) / 2)
    group = value["optimizer_state_dict"]["param_groups"][0]
    assert group["betas"] == (0.9, 0.999) and type(group["betas"]) is tuple
    assert group["params"] == [0, 1] and group["amsgrad"] is False
    empty, one, nested = value["tuples"]
    assert empty == () and len(one) == 1 and nested == (1, "a", (None,))
    np.testing.assert_array_equal(one[0], value["model_state_dict"]["fc.weight"])
    keys = value["keys"]
    assert list(keys) == ["07", 7, -(2**40)] and keys["07"] == "str" and keys[7] == "int"


def _root(array):
    """The buffer an array's memory finally belongs to."""
    while getattr(array, "base", None) is not None:
        array = array.base
    return array


def test_views_2_1_share_memory_with_their_records():
    value, _, version = load("views_2_1.wick")
    assert version == (2, 1)
    numbers, evens = value["numbers"], value["evens"]
    np.testing.assert_array_equal(numbers, np.arange(10))
    np.testing.assert_array_equal(evens, numbers[::2])
    assert np.shares_memory(evens, numbers)
    assert value["evens_again"] is evens
    evens[1] = 100  # writing through a view changes its record
    assert numbers[2] == 100
    m = value["m"]
    np.testing.assert_array_equal(value["m_t"], m.T)
    np.testing.assert_array_equal(value["row"], m[1])
    assert float(value["corner"]) == m[2, 3] == 11
    for name in ["m_t", "row", "corner"]:
        assert np.shares_memory(value[name], m)
    inner = value["tuple"][0]
    np.testing.assert_array_equal(inner, [1, 4, 7])
    assert np.shares_memory(inner, numbers) and value["tuple"][1] == 7


def test_views_2_1_a_run_no_member_covers_and_a_copied_expansion():
    value, _, _ = load("views_2_1.wick")
    a, b = value["a"], value["b"]
    np.testing.assert_array_equal(a, np.arange(10.0, 20.0))
    np.testing.assert_array_equal(b, [30.0, 35.0])
    assert _root(a) is _root(b)  # one record, though the two reach no common element
    expanded = value["expanded"]
    np.testing.assert_array_equal(expanded, np.tile(np.arange(4.0), (2, 1)))
    assert expanded.strides == (16, 4)  # written as a copy, not a stride-0 view
    assert not np.shares_memory(expanded, value["m"])


def test_the_test_builder_writes_tied_wick_byte_for_byte():
    """The hostile tests' builder follows the spec: it reproduces a golden file's bytes
    except the producer and the header checksum (24..63)."""
    payload = np.arange(12, dtype="<f4").tobytes()
    tree = B.DICT(("encoder.weight", B.TENSOR(0)), ("decoder.weight", B.TENSOR(0)))
    built = B.build(tree, tensors=[(8, (3, 4), payload)])
    golden = (DATA / "tied.wick").read_bytes()
    assert built[:24] == golden[:24] and built[64:] == golden[64:]
