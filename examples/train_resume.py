"""PyTorch twin of examples/train_resume.cpp: the same MLP (64 -> 128 -> 10), data split,
mini-batches, shuffle, Adam and checkpoint, so that a checkpoint either program writes resumes
in the other (scripts/cross_resume.sh).

    train_resume.py CHECKPOINT [--epochs N] [--stop-after N] [--data digits.npz] [--losses FILE]

Options, output lines and the --losses file are those of the C++ program. CHECKPOINT is written
with torch.save whatever its name; it has the tutorial's keys model_state_dict,
optimizer_state_dict, epoch, loss and rng (wick's generator state: uint8 [56], see
core/src/random.cpp). The shuffle reimplements wick::Generator (xoshiro256++ seeded with
splitmix64) bit for bit. A new run initializes the MLP with PyTorch's own initialization
(torch.manual_seed(0)), not wick's: to train the same model in both, start both from one
checkpoint, as cross_resume.sh does.
"""
import argparse
import os
import pickle
import struct
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

TRAIN = 1437  # the first 1437 samples train, the last 360 test
BATCH = 32
INIT_SEED, SHUFFLE_SEED = 0, 1
MASK = (1 << 64) - 1
STATE_BYTES = 56


class Generator:
    """wick::Generator's stream: xoshiro256++ (https://prng.di.unimi.it/xoshiro256plusplus.c)
    seeded with splitmix64; get_state()'s layout is seven little-endian u64 words: the four
    state words, the seed, the cached-normal flag and the cached normal's bits."""

    def __init__(self, seed):
        self.seed = seed
        x = seed
        self.s = []
        for _ in range(4):
            x = (x + 0x9E3779B97F4A7C15) & MASK
            z = x
            z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
            self.s.append(z ^ (z >> 31))
        self.extra = (0, 0)  # the cached normal: never drawn here, kept for wick

    @staticmethod
    def rotl(x, k):
        return ((x << k) | (x >> (64 - k))) & MASK

    def next_u64(self):
        s = self.s
        result = (self.rotl((s[0] + s[3]) & MASK, 23) + s[0]) & MASK
        t = (s[1] << 17) & MASK
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = self.rotl(s[3], 45)
        return result

    def get_state(self):
        raw = struct.pack("<7Q", *self.s, self.seed, *self.extra)
        return torch.tensor(list(raw), dtype=torch.uint8)

    def set_state(self, state):
        raw = bytes(state.to(torch.uint8).tolist())
        if len(raw) != STATE_BYTES:
            raise ValueError(f"rng: expected {STATE_BYTES} bytes, got {len(raw)}")
        words = struct.unpack("<7Q", raw)
        self.s, self.seed, self.extra = list(words[:4]), words[4], words[5:]


class MLP(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = torch.nn.Linear(64, 128)
        self.output = torch.nn.Linear(128, 10)

    def forward(self, x):
        return self.output(torch.relu(self.hidden(x)))


def load_checkpoint(path):
    try:
        return torch.load(path, weights_only=True)
    except pickle.UnpicklingError as e:
        # torch 1.13's weights_only unpickler lacks BINFLOAT (operand 71), which every optimizer
        # state_dict needs (lr is a float), so it refuses them all; nothing else falls back.
        if "Unsupported operand 71" not in str(e):
            raise
        return torch.load(path)


def save_checkpoint(path, net, opt, epoch, loss, shuffle):
    # Atomic like wick::save: a crash leaves the previous checkpoint or this one.
    tmp = f"{path}.tmp{os.getpid()}"
    torch.save({"model_state_dict": net.state_dict(), "optimizer_state_dict": opt.state_dict(),
                "epoch": epoch, "loss": loss, "rng": shuffle.get_state()}, tmp)
    os.replace(tmp, path)


def train_epoch(net, opt, x, y, shuffle):
    n = x.shape[0]
    order = list(range(n))
    for i in range(n - 1, 0, -1):  # Fisher-Yates, as the C++ program draws it
        j = shuffle.next_u64() % (i + 1)
        order[i], order[j] = order[j], order[i]
    total, batches = 0.0, 0
    for start in range(0, n, BATCH):
        idx = torch.tensor(order[start:start + BATCH])
        opt.zero_grad()
        loss = F.cross_entropy(net(x[idx]), y[idx])
        loss.backward()
        opt.step()
        total += loss.item()
        batches += 1
    return total / batches


def correct_count(net, x, y):
    with torch.no_grad():
        return int((net(x).argmax(1) == y).sum())


def count(text):
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"needs a whole number >= 0, got '{text}'")
    return value


def main():
    here = Path(__file__).resolve().parent
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint")
    ap.add_argument("--epochs", type=count, default=20)
    ap.add_argument("--stop-after", type=count, default=None)
    ap.add_argument("--data", default=str(here / "data" / "digits.npz"))
    ap.add_argument("--losses")
    args = ap.parse_args()

    digits = np.load(args.data)
    x = torch.from_numpy(digits["images"].astype(np.float32) / np.float32(16.0))
    y = torch.from_numpy(digits["labels"].astype(np.int64))
    train_x, train_y, test_x, test_y = x[:TRAIN], y[:TRAIN], x[TRAIN:], y[TRAIN:]

    torch.manual_seed(INIT_SEED)
    net = MLP()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    shuffle = Generator(SHUFFLE_SEED)
    epoch = 0
    if os.path.exists(args.checkpoint):
        ckpt = load_checkpoint(args.checkpoint)
        net.load_state_dict(ckpt["model_state_dict"])
        opt.load_state_dict(ckpt["optimizer_state_dict"])
        shuffle.set_state(ckpt["rng"])
        epoch = ckpt["epoch"]
        print(f"resuming from {args.checkpoint} after epoch {epoch}")

    losses = open(args.losses, "w") if args.losses else None
    run_here = 0
    while epoch < args.epochs:
        if args.stop_after is not None and run_here == args.stop_after:
            if run_here == 0 and not os.path.exists(args.checkpoint):
                save_checkpoint(args.checkpoint, net, opt, epoch, None, shuffle)
            print(f"stopping after {run_here} epoch(s) (--stop-after); run again to resume")
            return 0
        loss = train_epoch(net, opt, train_x, train_y, shuffle)
        epoch += 1
        run_here += 1
        correct = correct_count(net, test_x, test_y)
        print(f"epoch {epoch:3d}  loss {loss:.4f}  test accuracy "
              f"{100.0 * correct / len(test_y):.2f}% ({correct}/{len(test_y)})")
        if losses:
            losses.write(f"{epoch} {loss!r} {correct}\n")
            losses.flush()
        save_checkpoint(args.checkpoint, net, opt, epoch, loss, shuffle)
    correct = correct_count(net, test_x, test_y)
    print(f"final test accuracy: {100.0 * correct / len(test_y):.2f}% ({correct}/{len(test_y)}) "
          f"after {epoch} epochs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
