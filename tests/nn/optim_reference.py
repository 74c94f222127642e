"""Reference for tests/nn/test_optimizer.cpp: five steps of torch.optim.SGD / Adam / AdamW on
fixed float64 inputs. Prints one line per tensor: `<config> <key> <float.hex values...>` where key
is `param.<i>` or the optimizer state_dict key `state.<i>.<name>`.

The inputs are exact binary fractions computed the same way in the C++ test (value()).
Exit status 77 when torch is missing (the tests skip then)."""
import sys

try:
    import torch
except ImportError:
    sys.exit(77)

SHAPES = [(3, 4), (5,)]
STEPS = 5


def value(param, step, i):
    # step -1: the initial parameter values; otherwise the gradient at that step.
    return float(((i * 37 + (step + 2) * 11 + param * 5) % 23) - 11) / 8.0


def tensors(step):
    out = []
    for k, shape in enumerate(SHAPES):
        n = 1
        for s in shape:
            n *= s
        out.append(torch.tensor([value(k, step, i) for i in range(n)],
                                dtype=torch.float64).reshape(shape))
    return out


CONFIGS = {
    "sgd": lambda p: torch.optim.SGD(p, lr=0.1),
    "sgd_momentum": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
    "sgd_dampening": lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.8, dampening=0.3,
                                               weight_decay=0.01),
    "sgd_nesterov": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True,
                                              weight_decay=0.1),
    "adam": lambda p: torch.optim.Adam(p, lr=0.01),
    "adam_decay": lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.8, 0.95), eps=1e-6,
                                             weight_decay=0.1),
    "adam_amsgrad": lambda p: torch.optim.Adam(p, lr=0.01, weight_decay=0.05, amsgrad=True),
    "adamw": lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1),
    "adamw_amsgrad": lambda p: torch.optim.AdamW(p, lr=0.02, betas=(0.5, 0.9), amsgrad=True),
    "sgd_maximize": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=0.1,
                                              maximize=True),
    "adam_maximize": lambda p: torch.optim.Adam(p, lr=0.01, weight_decay=0.05, maximize=True),
    "adamw_maximize": lambda p: torch.optim.AdamW(p, lr=0.01, amsgrad=True, maximize=True),
}


def hexes(t):
    return " ".join(float(x).hex() for x in t.reshape(-1).tolist())


def main():
    for name, make in CONFIGS.items():
        params = [t.requires_grad_() for t in tensors(-1)]
        opt = make(params)
        for step in range(STEPS):
            for k, (p, g) in enumerate(zip(params, tensors(step))):
                # Parameter 1 has no gradient at step 2: the optimizer must skip it.
                p.grad = None if (k == 1 and step == 2) else g
            opt.step()
        for k, p in enumerate(params):
            print(name, f"param.{k}", hexes(p.detach()))
        for k, entry in opt.state_dict()["state"].items():
            for key, t in entry.items():
                if t is None:
                    continue
                print(name, f"state.{k}.{key}", hexes(torch.as_tensor(t, dtype=torch.float64)))


if __name__ == "__main__":
    main()
