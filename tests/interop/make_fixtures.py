#!/usr/bin/env python3
"""Writes the files wick's interop tests load, each with <file>.manifest: what wick must read.

    make_fixtures.py torch|numpy|safetensors|mlp|malicious OUT_DIR

Run by tests/io/test_interop_python.cpp with Debian's python3-torch and python3-numpy.
"""

import collections
import os
import pickle
import struct
import sys
import zipfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import wick_manifest as wm  # noqa: E402

# The exit status that tells the C++ tests a module is missing (they skip, or fail in CI).
MISSING_MODULE = 77


def torch_fixtures(out):
    import torch

    def special(dtype):
        # Zero, signed zero, infinities, a NaN, subnormal and extreme values where they exist.
        if dtype.is_floating_point:
            info = torch.finfo(dtype)
            vals = [0.0, -0.0, 1.5, -2.25, float("inf"), float("-inf"), float("nan"),
                    info.max, info.min, info.tiny, info.tiny / 4, 1.0 / 3.0]
            return torch.tensor(vals, dtype=dtype)
        if dtype == torch.bool:
            return torch.tensor([True, False, True, True])
        info = torch.iinfo(dtype)
        return torch.tensor([0, 1, -1 if info.min < 0 else 2, info.min, info.max], dtype=dtype)

    dtypes = [torch.bool, torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64,
              torch.float16, torch.bfloat16, torch.float32, torch.float64]
    gen = torch.Generator().manual_seed(1234)
    every = collections.OrderedDict()
    for dt in dtypes:
        name = str(dt).replace("torch.", "")
        every[name] = special(dt)
        if dt.is_floating_point:
            every[name + "_random"] = torch.randn(3, 4, 5, generator=gen).to(dt)
        elif dt != torch.bool:
            every[name + "_random"] = torch.randint(-100 if dt != torch.uint8 else 0, 100,
                                                    (2, 3, 2), generator=gen, dtype=dt)
    every["scalar"] = torch.tensor(2.5)
    every["empty"] = torch.zeros(0, 3)
    # A NaN with a payload must survive bit for bit.
    every["nan_payload"] = torch.tensor([0x7FC00001, 0x7F800001, -0x00000001],
                                        dtype=torch.int32).view(torch.float32)
    torch.save(every, os.path.join(out, "torch_dtypes.pt"))
    wm.write_manifest(os.path.join(out, "torch_dtypes.pt.manifest"), every)

    base = torch.arange(12, dtype=torch.float32).reshape(3, 4)
    other = torch.arange(100, 110, dtype=torch.int64)
    tied = torch.randn(2, 2, generator=gen)
    views = {
        "base": base,
        "t": base.t(),
        "row": base[1],
        "col": base[:, 2],
        "strided": base[1:, ::2],
        "flat": base.view(-1)[3:9],
        "expanded": base[0:1].expand(3, 4),
        "tail": other[7:],  # a storage whose first elements nothing else uses
        "tied_a": tied,
        "tied_b": tied,
    }
    torch.save(views, os.path.join(out, "torch_views.pt"))
    wm.write_manifest(os.path.join(out, "torch_views.pt.manifest"), views)

    net = torch.nn.Sequential(collections.OrderedDict(
        hidden=torch.nn.Linear(3, 4), relu=torch.nn.ReLU(), output=torch.nn.Linear(4, 2)))
    nested = {
        "model": net.state_dict(),  # an OrderedDict with a _metadata attribute
        "epoch": 7,
        "lr": 0.001,
        "name": "adam \u00e9\u4e2d",
        "flags": [True, False, None],
        "shape": torch.Size([2, 3]),
        "pair": (1, "two", 3.0),
        "ints": [0, 255, 256, 65535, 65536, -1, -129, 2**31 - 1, -2**31, 2**31, -2**31 - 1,
                 2**40, -2**40, 2**63 - 1, -2**63],
        "deep": [[torch.ones(2), {"k": torch.zeros(1, dtype=torch.int8)}], [], {}],
    }
    torch.save(nested, os.path.join(out, "torch_nested.pt"))
    wm.write_manifest(os.path.join(out, "torch_nested.pt.manifest"), nested)

    param = torch.nn.Parameter(torch.randn(3, generator=gen))
    torch.save(param, os.path.join(out, "torch_parameter.pt"))
    wm.write_manifest(os.path.join(out, "torch_parameter.pt.manifest"), param)

    proto4 = {"w": torch.randn(2, 3, generator=gen).t(), "n": 5, "s": "text"}
    torch.save(proto4, os.path.join(out, "torch_proto4.pt"), pickle_protocol=4)
    wm.write_manifest(os.path.join(out, "torch_proto4.pt.manifest"), proto4)

    torch.save({"w": torch.ones(2)}, os.path.join(out, "torch_legacy.pt"),
               _use_new_zipfile_serialization=False)

    # The tutorial's checkpoint after a few steps of training: Adam's state keyed by parameter
    # index (ints), its betas a tuple, its foreach None; SGD's momentum buffers beside it.
    model = torch.nn.Linear(3, 2)
    adam = torch.optim.Adam(model.parameters(), lr=0.01)
    sgd = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    for _ in range(3):
        for opt in (adam, sgd):
            opt.zero_grad()
            model(torch.randn(4, 3, generator=gen)).pow(2).sum().backward()
            opt.step()
    checkpoint = {"model_state_dict": model.state_dict(),
                  "optimizer_state_dict": adam.state_dict(),
                  "sgd_state_dict": sgd.state_dict(),
                  "epoch": 5, "loss": 0.25}
    torch.save(checkpoint, os.path.join(out, "torch_checkpoint.pt"))
    wm.write_manifest(os.path.join(out, "torch_checkpoint.pt.manifest"), checkpoint)
    return 7


def numpy_fixtures(out):
    import numpy as np
    rng = np.random.default_rng(7)
    count = 0
    arrays = {
        "bool": np.array([True, False, True]),
        "uint8": np.array([0, 1, 255], dtype=np.uint8),
        "int8": np.array([-128, 0, 127], dtype=np.int8),
        "int16": np.array([-32768, 1, 32767], dtype=np.int16),
        "int32": rng.integers(-2**31, 2**31 - 1, size=(2, 3), dtype=np.int32),
        "int64": np.array([[-2**63, 2**63 - 1], [0, -1]], dtype=np.int64),
        "float16": np.array([0.0, -0.0, np.inf, np.nan, 65504, 6e-8], dtype=np.float16),
        "float32": rng.standard_normal((3, 4, 2)).astype(np.float32),
        "float64": rng.standard_normal((5,)),
        "scalar": np.array(3.25),
        "empty": np.zeros((0, 4), dtype=np.float32),
        "fortran": np.asfortranarray(rng.standard_normal((3, 4)).astype(np.float32)),
        "fortran3d": np.asfortranarray(np.arange(24, dtype=np.int16).reshape(2, 3, 4)),
        "big_endian": np.arange(6, dtype=">i4").reshape(2, 3),
        "big_endian_f8": rng.standard_normal((4,)).astype(">f8"),
    }
    for name, a in arrays.items():
        path = os.path.join(out, f"np_{name}.npy")
        np.save(path, a)
        wm.write_manifest(path + ".manifest", a)
        count += 1
    flat = {k: v for k, v in arrays.items() if k in ("float32", "int64", "bool", "scalar",
                                                       "empty", "fortran")}
    np.savez(os.path.join(out, "np_stored.npz"), **flat)
    wm.write_manifest(os.path.join(out, "np_stored.npz.manifest"), flat)
    np.savez_compressed(os.path.join(out, "np_deflated.npz"), **flat)
    wm.write_manifest(os.path.join(out, "np_deflated.npz.manifest"), flat)
    np.savez(os.path.join(out, "np_empty.npz"))
    wm.write_manifest(os.path.join(out, "np_empty.npz.manifest"), {})
    # An object array needs pickle to load: wick must refuse it.
    np.save(os.path.join(out, "np_object.npy"), np.array([{"a": 1}], dtype=object),
            allow_pickle=True)
    return count + 4


def safetensors_fixtures(out):
    import numpy as np
    rng = np.random.default_rng(11)

    def raw(dtype, a):
        return wm.RawTensor(dtype, a.shape, np.ascontiguousarray(a).astype(
            a.dtype.newbyteorder("<")).tobytes())

    f32 = rng.standard_normal((4, 3)).astype(np.float32)
    bf16 = (f32.view(np.uint32) >> 16).astype(np.uint16)  # truncated float32: valid bfloat16
    tensors = {
        "embed.weight": raw("float32", f32),
        "embed.bf16": wm.RawTensor("bfloat16", bf16.shape, bf16.astype("<u2").tobytes()),
        "h.0.f16": raw("float16", rng.standard_normal((2, 2)).astype(np.float16)),
        "h.0.f64": raw("float64", rng.standard_normal((3,))),
        "ids": raw("int64", np.array([1, -2, 2**62], dtype=np.int64)),
        "i32": raw("int32", np.array([[7]], dtype=np.int32)),
        "i16": raw("int16", np.array([-5, 5], dtype=np.int16)),
        "i8": raw("int8", np.array([-128, 127], dtype=np.int8)),
        "u8": raw("uint8", np.array([0, 200, 255], dtype=np.uint8)),
        "mask": raw("bool", np.array([True, False], dtype=np.bool_)),
        "scalar": raw("float32", np.array(1.5, dtype=np.float32)),
        "empty": raw("float32", np.zeros((0, 2), dtype=np.float32)),
    }
    metadata = {"format": "pt", "note": "written per the spec by make_fixtures.py"}
    # The header lists names sorted; the data follows another order, so wick must sort by offset.
    path = os.path.join(out, "spec.safetensors")
    wm.write_safetensors(path, tensors, metadata)
    wm.read_safetensors(path)  # the spec reader agrees with the spec writer
    with open(path + ".manifest", "w", encoding="utf-8") as f:
        f.write("\n".join(wm.describe_raw(tensors)) + "\n")
    with open(path + ".metadata", "w", encoding="utf-8") as f:
        f.write("".join(f"{k}\t{v}\n" for k, v in metadata.items()))

    empty = os.path.join(out, "empty.safetensors")
    wm.write_safetensors(empty, {})
    with open(empty + ".manifest", "w", encoding="utf-8") as f:
        f.write("\tdict\t0\n")
    return 2


def mlp_fixtures(out):
    """The tutorial's MLP (20 -> 256 -> ReLU -> 10) built and saved in PyTorch."""
    import torch

    class MLP(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden = torch.nn.Linear(20, 256)
            self.output = torch.nn.Linear(256, 10)

        def forward(self, x):
            return self.output(torch.relu(self.hidden(x)))

    torch.manual_seed(0)
    net = MLP()
    x = torch.randn(16, 20)
    with torch.no_grad():
        y = net(x)
    torch.save(net.state_dict(), os.path.join(out, "mlp.pt"))
    torch.save({"x": x, "y": y}, os.path.join(out, "mlp_io.pt"))
    return 2


class _Evil:
    """Unpickling an instance runs os.system(command)."""

    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


class _EvalEvil:
    def __init__(self, code):
        self.code = code

    def __reduce__(self):
        import builtins
        return (builtins.eval, (self.code,))


def _write_pt(path, pickle_bytes):
    """A torch.save-shaped archive around any pickle."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", pickle_bytes)
        z.writestr("archive/version", "3\n")


def malicious_fixtures(out):
    import torch
    marker = os.path.join(out, "PWNED")
    payloads = {
        "evil_system.pt": pickle.dumps(_Evil(f"touch '{marker}'"), protocol=2),
        "evil_eval.pt": pickle.dumps(
            _EvalEvil(f"open({marker!r}, 'w').close()"), protocol=2),
        # The payload hidden inside an ordinary-looking state dict, after a real tensor.
        "evil_nested.pt": None,
        # An unknown class built with NEWOBJ.
        "evil_class.pt": pickle.dumps(collections.Counter(a=1), protocol=2),
    }
    # Make evil_nested.pt with torch's own pickler so its tensor is a real storage reference.
    nested = os.path.join(out, "evil_nested.pt")
    torch.save({"weight": torch.ones(2), "z": _Evil(f"touch '{marker}'")}, nested)
    for name, data in payloads.items():
        if data is not None:
            _write_pt(os.path.join(out, name), data)
    # Prove the files are truly malicious: Python's own unpickler runs the payload...
    for name in ("evil_system.pt", "evil_eval.pt"):
        with zipfile.ZipFile(os.path.join(out, name)) as z:
            pickle.loads(z.read("archive/data.pkl"))
        if not os.path.exists(marker):
            sys.exit(f"{name} did not create the marker under pickle.loads")
        os.remove(marker)
    # ...and torch's weights-only loader refuses them, as wick must.
    for name in payloads:
        try:
            torch.load(os.path.join(out, name), weights_only=True)
            sys.exit(f"torch.load(weights_only=True) accepted {name}")
        except Exception:  # noqa: BLE001 - any refusal will do
            pass
    if os.path.exists(marker):
        sys.exit("the marker exists before wick runs")
    return len(payloads)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    what, out = sys.argv[1], sys.argv[2]
    makers = {"torch": torch_fixtures, "numpy": numpy_fixtures,
              "safetensors": safetensors_fixtures, "mlp": mlp_fixtures,
              "malicious": malicious_fixtures}
    if what not in makers:
        sys.exit(f"unknown fixture set {what!r}; one of {', '.join(makers)}")
    needs = {"torch": ["torch", "numpy"], "mlp": ["torch", "numpy"],
             "malicious": ["torch", "numpy"]}.get(what, ["numpy"])
    for module in needs:
        try:
            __import__(module)
        except ImportError:
            print(f"missing python module {module!r} for the {what} fixtures")
            sys.exit(MISSING_MODULE)
    os.makedirs(out, exist_ok=True)
    n = makers[what](out)
    print(f"OK {what}: {n} files in {out}")


if __name__ == "__main__":
    main()
