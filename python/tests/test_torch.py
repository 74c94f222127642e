"""wick.torch: torch trees round-trip bit-exact, sharing kept, refusals; checked by the C++ CLI."""

import io
import os
import pathlib
import subprocess

import numpy as np
import pytest

import wick
from test_writer import cli, peers_required

try:
    import torch
    import wick.torch as wt
except ImportError:  # torch is optional for the package
    if peers_required():
        raise
    pytest.skip("torch is not installed", allow_module_level=True)

DATA = pathlib.Path(__file__).resolve().parents[2] / "tests" / "data"


def roundtrip(tree, **kw):
    out = io.BytesIO()
    wt.save(tree, out, **kw)
    return wt.load(io.BytesIO(out.getvalue())), out.getvalue()


def bits(t):
    """A tensor's bits as integers, so NaN payloads and -0.0 compare exactly."""
    size = t.element_size()
    as_int = {1: torch.uint8, 2: torch.int16, 4: torch.int32, 8: torch.int64}[size]
    return t.contiguous().view(as_int) if t.dtype != torch.bool else t


def assert_bit_equal(want, got):
    if isinstance(want, torch.Tensor):
        assert isinstance(got, torch.Tensor) and got.dtype == want.dtype
        assert got.shape == want.shape and torch.equal(bits(got), bits(want))
    elif isinstance(want, dict):
        assert list(got) == list(want)
        for k in want:
            assert_bit_equal(want[k], got[k])
    elif isinstance(want, (list, tuple)):
        assert type(got) is (tuple if isinstance(want, tuple) else list) and len(got) == len(want)
        for w, g in zip(want, got):
            assert_bit_equal(w, g)
    else:
        assert got == want and type(got) is type(want)


def trained():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.8, 0.99))
    for _ in range(3):
        opt.zero_grad()
        model(torch.randn(5, 8)).square().sum().backward()
        opt.step()
    return model, opt


def test_sequential_state_dict_and_adam_state_round_trip_bit_exact():
    model, opt = trained()
    tree = {"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 3}
    back, data = roundtrip(tree, metadata={"framework": "torch"})
    assert_bit_equal(tree, back)
    assert back["optimizer"]["param_groups"][0]["betas"] == (0.8, 0.99)
    assert sorted(back["optimizer"]["state"]) == [0, 1, 2, 3]
    _, meta, version = wick.load_with_metadata(io.BytesIO(data))
    assert version == (2, 0) and meta == {"framework": "torch"}
    fresh = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4))
    fresh.load_state_dict(back["model"])
    x = torch.randn(2, 8)
    assert torch.equal(fresh(x), model(x))


def test_a_state_dict_is_the_bytes_wick_save_writes_for_its_numpy_arrays():
    model, _ = trained()
    sd = model.state_dict()
    out = io.BytesIO()
    wt.save(sd, out)
    plain = io.BytesIO()
    wick.save({k: v.numpy() for k, v in sd.items()}, plain)
    assert out.getvalue() == plain.getvalue()


def test_bfloat16_and_float16_are_bit_exact():
    g = torch.Generator().manual_seed(1)
    raw = torch.randint(-32768, 32768, (64, 3), dtype=torch.int16, generator=g)
    raw[0, 0], raw[1, 0] = -32768, 0x7FC1  # -0.0 and a NaN with a payload
    tree = {"bf": raw.view(torch.bfloat16), "f16": raw.view(torch.float16),
            "bf_view": raw.view(torch.bfloat16)[::3, 1]}
    back, data = roundtrip(tree)
    assert_bit_equal(tree, back)
    as_numpy = wick.load(io.BytesIO(data))
    assert as_numpy["bf"].dtype.metadata == {"wick_dtype": "bfloat16"}
    np.testing.assert_array_equal(as_numpy["bf"].view(np.int16), raw.numpy())


def test_tensors_sharing_a_storage_stay_shared():
    numbers = torch.arange(10)
    m = torch.arange(24.0).reshape(4, 6)
    tree = {"numbers": numbers, "evens": numbers[::2], "m": m, "t": m.t(), "row": m[2],
            "tied": [m, m], "cols": m[:, 1:4], "exp": m[0].expand(3, 6)}
    back, data = roundtrip(tree)
    assert_bit_equal(tree, back)
    assert wick.load_with_metadata(io.BytesIO(data))[2] == (2, 1)
    assert roundtrip(back)[1] == data  # load -> save keeps sharing and bytes
    back["numbers"][4] = 99
    assert back["evens"][2] == 99
    back["m"][2, 0] = -1
    assert back["row"][0] == -1 and back["t"][0, 2] == -1
    back["m"][0, 1] = -7
    assert back["cols"][0, 0] == -7 and back["exp"][1, 1] == 1  # the expanded one is a copy
    assert back["tied"][0] is back["tied"][1] is back["m"]
    assert back["t"].storage().data_ptr() == back["m"].storage().data_ptr()


def test_torch_size_saves_as_a_tuple():
    back, data = roundtrip({"shape": torch.Size([2, 3])})
    assert back == {"shape": (2, 3)} and type(back["shape"]) is tuple
    assert wick.load_with_metadata(io.BytesIO(data))[2] == (2, 0)


def test_load_with_metadata_and_sparse_tensors_refused():
    out = io.BytesIO()
    wt.save({"x": torch.ones(2)}, out, metadata={"epoch": 4})
    value, meta, version = wt.load_with_metadata(io.BytesIO(out.getvalue()))
    assert meta == {"epoch": 4} and version == (1, 0) and torch.equal(value["x"], torch.ones(2))
    with pytest.raises(TypeError, match="dense"):
        wt.save({"s": torch.eye(3).to_sparse()}, io.BytesIO())


@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128, torch.quint8])
def test_dtypes_wick_lacks_are_refused_before_the_target_changes(dtype, tmp_path):
    target = tmp_path / "t.wick"
    target.write_bytes(b"old")
    t = torch.zeros(2, dtype=dtype) if dtype != torch.quint8 else \
        torch.quantize_per_tensor(torch.zeros(2), 0.1, 0, dtype)
    with pytest.raises(TypeError, match="no dtype"):
        wt.save({"big": torch.ones(1 << 16), "bad": t}, target)
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["t.wick"]


def test_rank_above_32_and_the_2_62_rule_are_refused():
    with pytest.raises(wick.ArgumentError, match="rank 33"):
        wt.save({"x": torch.zeros([1] * 33)}, io.BytesIO())
    with pytest.raises(wick.ArgumentError, match="2\\^62"):
        wt.save({"x": torch.zeros(0).expand(0).as_strided((3, 2**61, 0), (0, 0, 1))}, io.BytesIO())


def test_depth_limit_through_torch():
    v = torch.ones(1)
    for _ in range(512):
        v = [v]
    back, _ = roundtrip(v)
    for _ in range(512):
        back = back[0]
    assert torch.equal(back, torch.ones(1))
    with pytest.raises(wick.ArgumentError, match="deeper than 512"):
        wt.save([v], io.BytesIO())


def test_golden_files_load_as_torch():
    value = wt.load(DATA / "all_types.wick")
    plain = wick.load(DATA / "all_types.wick")
    assert value["bfloat16"].dtype == torch.bfloat16
    np.testing.assert_array_equal(value["bfloat16"].view(torch.int16).numpy(),
                                  plain["bfloat16"].view(np.int16))
    views = wt.load(DATA / "views_2_1.wick")
    _, meta, _ = wick.load_with_metadata(DATA / "views_2_1.wick")
    out = io.BytesIO()
    wt.save(views, out, metadata=meta)
    assert out.getvalue() == (DATA / "views_2_1.wick").read_bytes()


def test_torch_written_files_are_what_the_cpp_writer_writes(tmp_path):
    wick_cli = cli()
    model, opt = trained()
    x = torch.arange(12.0).reshape(3, 4)
    tree = {"model": model.state_dict(), "opt": opt.state_dict(), "bf": x.bfloat16(),
            "bf_t": x.bfloat16().t(), "x": x, "xt": x.t(), "half": x.half()[1]}
    a, b = tmp_path / "a.wick", tmp_path / "b.wick"
    wt.save(tree, a, metadata={"step": 3})
    assert subprocess.run([wick_cli, "verify", str(a)], capture_output=True).returncode == 0
    done = subprocess.run([wick_cli, "convert", str(a), str(b)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert b.read_bytes() == a.read_bytes()
