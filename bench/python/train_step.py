#!/usr/bin/python3
"""Seconds per training step (forward, cross-entropy, backward, Adam) in PyTorch eager on one
thread, for the two models of bench/bench_train.cpp:

    digits: Linear(64, 128) -> ReLU -> Linear(128, 10), batch 32
    wide:   Linear(784, 1024) -> ReLU -> Linear(1024, 1024) -> ReLU -> Linear(1024, 10), batch 256

Adam (lr 1e-3, default betas and eps) on a fixed random batch; gradients are set to None
between steps, as wick's zero_grad() does. After warm-up steps, the median over --repeats of
the time of a run of steps. Prints JSON {"digits": s_per_step, "wide": s_per_step}.

    /usr/bin/python3 bench/python/train_step.py [--repeats 7]

bench/train.py runs it beside wick_bench_train.
"""
import argparse
import json
import statistics
import sys
import time

import torch

MODELS = {
    # name: (widths, batch, steps per timed run)
    "digits": ([64, 128, 10], 32, 200),
    "wide": ([784, 1024, 1024, 10], 256, 20),
}
WARMUP_RUNS = 2


def build(widths, batch):
    layers = []
    for i in range(len(widths) - 1):
        layers.append(torch.nn.Linear(widths[i], widths[i + 1]))
        if i + 2 < len(widths):
            layers.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*layers)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    x = torch.randn(batch, widths[0])
    target = torch.randint(0, widths[-1], (batch,))
    return net, opt, x, target


def seconds_per_step(widths, batch, steps, repeats):
    net, opt, x, target = build(widths, batch)
    loss_fn = torch.nn.functional.cross_entropy

    def run():
        start = time.perf_counter()
        for _ in range(steps):
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(net(x), target)
            loss.backward()
            opt.step()
        return (time.perf_counter() - start) / steps

    for _ in range(WARMUP_RUNS):
        run()
    return statistics.median(run() for _ in range(repeats))


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(23)
    out = {name: seconds_per_step(widths, batch, steps, args.repeats)
           for name, (widths, batch, steps) in MODELS.items()}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
