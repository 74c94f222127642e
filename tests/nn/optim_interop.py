"""Helper of Optimizer.StateDictCrossesToPyTorchAndBack (tests/nn/test_optimizer.cpp).

    optim_interop.py DIR NAME...

For each NAME, DIR/NAME.pt is a checkpoint wick wrote: {'init': initial params, 'steps': the
grads of each step taken (None: no grad), 'params': the params after them, 'grads': the grads of
one more step, 'optimizer': opt.state_dict()}. This script
- takes the same steps with the torch.optim optimizer NAME names, and checks that its own
  state_dict() has the file's structure, key order and Python types, and tensors and params
  equal to float32 rounding (wick and torch round differently in places);
- loads the file's state into a torch optimizer over copies of the params and checks that its
  state_dict() then equals the file's exactly;
- takes one more step with it and writes DIR/NAME.torch.pt = {'params': [...], 'optimizer':
  opt.state_dict()} with torch.save for wick to load. Prints `OK NAME` per name; exit status 77 when torch is missing.
"""
import sys
from pathlib import Path

try:
    import torch
except ImportError:
    sys.exit(77)

# The example's loader: torch.load(weights_only=True), with the one fallback torch 1.13 needs.
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
from train_resume import load_checkpoint  # noqa: E402

# The optimizers of the C++ test, with the same options.
CONFIGS = {
    "sgd": lambda p: torch.optim.SGD(p, lr=0.1),
    "sgd_momentum": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.25,
                                              weight_decay=0.01, maximize=True),
    "adam": lambda p: torch.optim.Adam(p, lr=0.01),
    "adam_amsgrad": lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.8, 0.99), weight_decay=0.1,
                                               amsgrad=True),
    "adamw": lambda p: torch.optim.AdamW(p, lr=0.01),
}


def same(a, b, path, exact=True):
    """Raises AssertionError naming `path` where a and b differ in type, order or value
    (tensor values to float32 rounding unless `exact`)."""
    assert type(a) is type(b), f"{path}: {type(a).__name__} != {type(b).__name__}"
    if isinstance(a, dict):
        ka = [(type(k).__name__, k) for k in a]
        kb = [(type(k).__name__, k) for k in b]
        assert ka == kb, f"{path}: keys {ka} != {kb}"
        for k in a:
            same(a[k], b[k], f"{path}[{k!r}]", exact)
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), f"{path}: length {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            same(x, y, f"{path}[{i}]", exact)
    elif isinstance(a, torch.Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape, f"{path}: {a.dtype}{list(a.shape)} != " \
                                                          f"{b.dtype}{list(b.shape)}"
        close = torch.equal(a, b) if exact else torch.allclose(a, b, rtol=1e-5, atol=1e-6)
        assert close, f"{path}: values differ: {a} != {b}"
    else:
        assert a == b, f"{path}: {a!r} != {b!r}"


def train_natively(name, ckpt):
    params = [p.clone().requires_grad_() for p in ckpt["init"]]
    opt = CONFIGS[name](params)
    for grads in ckpt["steps"]:
        for p, g in zip(params, grads):
            p.grad = None if g is None else g.clone()
        opt.step()
    same(opt.state_dict(), ckpt["optimizer"], "native state_dict", exact=False)
    same([p.detach() for p in params], ckpt["params"], "native params", exact=False)


def cross(directory, name):
    ckpt = load_checkpoint(f"{directory}/{name}.pt")
    train_natively(name, ckpt)
    params = [p.clone().requires_grad_() for p in ckpt["params"]]
    opt = CONFIGS[name](params)
    opt.load_state_dict(ckpt["optimizer"])
    same(opt.state_dict(), ckpt["optimizer"], "state_dict")
    for p, g in zip(params, ckpt["grads"]):
        p.grad = g.clone()
    opt.step()
    torch.save({"params": [p.detach() for p in params], "optimizer": opt.state_dict()},
               f"{directory}/{name}.torch.pt")
    print("OK", name)


def main():
    directory, names = sys.argv[1], sys.argv[2:]
    for name in names:
        cross(directory, name)


if __name__ == "__main__":
    main()
