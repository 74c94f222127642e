"""Writers never write what readers refuse: seeded random trees through wick.save and back.

Each tree mixes every dtype (random bits, so NaN payloads, signed zeros and bfloat16 bits),
ranks 0 to 6 with empty dimensions, views and slices of shared bases, tuples, dicts with int
keys, unicode keys and metadata. It must load back bit for bit through every decode path,
keep its sharing, list one Reader entry per array, and (with WICK_CLI) pass `wick verify`.
test_writer.py holds the fixed trees and the byte-for-byte comparison with the C++ writer.
"""

import os
import subprocess

import numpy as np

import wick
from wick import format as F
from decode_paths import canonical
from test_writer import random_view

TREES = 150
KEY_CHARS = "ab.~/ é日\U0001f642\u0301\t"


def random_array(rng):
    code = int(rng.integers(0, 10))
    _, dtype, size = F.DTYPES[code]
    rank = int(rng.integers(0, 7))
    shape = tuple(int(s) for s in rng.integers(0, 4, size=rank))
    if rng.random() < 0.8:
        shape = tuple(max(s, 1) for s in shape)  # most arrays hold elements
    raw = rng.integers(0, 256, size=int(np.prod(shape)) * size, dtype=np.uint8)
    if code == F.BOOL_CODE:
        return (raw & 1).astype(bool).reshape(shape)
    if code == F.BFLOAT16_CODE:
        return wick.bfloat16_bits(raw.view("<u2").reshape(shape))
    return raw.view(dtype).reshape(shape)


def random_key(rng):
    return "".join(rng.choice(list(KEY_CHARS), size=int(rng.integers(0, 5))))


def random_scalar(rng):
    kind = int(rng.integers(0, 6))
    if kind == 0:
        return None
    if kind == 1:
        return bool(rng.integers(0, 2))
    if kind == 2:
        return int(rng.integers(-2**63, 2**63 - 1, dtype=np.int64))
    if kind == 3:  # any bits: NaN payloads and infinities included
        return float(rng.integers(0, 2**63, dtype=np.uint64).view(np.float64))
    return random_key(rng)


def random_tree(rng, bases, depth=0):
    kind = int(rng.integers(0, 8 if depth < 4 else 3))
    if kind == 0:
        return random_scalar(rng)
    if kind in (1, 2):
        base = bases[int(rng.integers(0, len(bases)))]
        return base if rng.random() < 0.3 else random_view(rng, base)
    if kind == 3:
        return random_array(rng)
    items = [random_tree(rng, bases, depth + 1) for _ in range(int(rng.integers(0, 4)))]
    if kind == 4:
        return items
    if kind == 5:
        return tuple(items)
    if kind == 6:
        return {random_key(rng): v for v in items}
    keys = [int(k) for k in rng.integers(-5, 5, size=len(items) + 1)]
    out = {k: v for k, v in zip(keys, items + [None])}  # at least one int key
    for v in items:
        key = "s" + random_key(rng)  # never the digits of an int key
        out.setdefault(key, v)
    return out


def random_value(seed):
    rng = np.random.default_rng(seed)
    bases = [random_array(rng) for _ in range(int(rng.integers(1, 3)))]
    tree = {random_key(rng) + str(i): random_tree(rng, bases) for i in range(3)}
    meta = {"k" + random_key(rng): random_scalar(rng) for _ in range(int(rng.integers(0, 3)))}
    return tree, meta


def arrays(value, path=()):
    """(steps, array) for every array in tree order."""
    if isinstance(value, np.ndarray):
        yield path, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from arrays(v, path + (k,))
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            yield from arrays(v, path + (i,))


def shareable(a):
    """Part 4's rule: elements, non-negative strides, no element reached twice."""
    if a.size == 0 or any(k < 0 for k in a.strides):
        return False
    reach = 0
    for n, k in sorted(zip(a.shape, a.strides), key=lambda d: d[1]):
        if n > 1 and k <= reach:
            return False
        reach += (n - 1) * k
    return True


def layout(a):
    """Where an array lies (FORMAT.md "Writers"): two arrays that lie alike, size-1 strides
    aside, form no view group by themselves and are stored as copies."""
    return (a.__array_interface__["data"][0], a.shape,
            tuple(k if n > 1 else 0 for n, k in zip(a.shape, a.strides)))


def assert_sharing_kept(before, after):
    """Arrays that did not share memory do not; arrays that did and can be views (lying
    differently) still do."""
    for i, (_, a) in enumerate(before):
        for j in range(i):
            b, la, lb = before[j][1], after[i][1], after[j][1]
            if not np.shares_memory(a, b):
                assert not np.shares_memory(la, lb), (before[i][0], before[j][0])
            elif (shareable(a) and shareable(b) and a.dtype == b.dtype
                  and layout(a) != layout(b)):
                assert np.shares_memory(la, lb), (before[i][0], before[j][0])


def cli():
    return os.environ.get("WICK_CLI")


def test_random_trees_save_and_load_back_on_every_path(tmp_path):
    path = tmp_path / "random.wick"
    checked_by_cli = 0
    for seed in range(TREES):
        tree, meta = random_value(seed)
        wick.save(tree, path, metadata=meta, durable=False)
        value, meta_back, _ = wick.load_with_metadata(path)
        assert canonical(value) == canonical(tree), seed
        assert canonical(meta_back) == canonical(meta), seed
        assert canonical(wick.load(path, mmap=True)) == canonical(tree), seed
        assert canonical(wick.load(path, verify=False)) == canonical(tree), seed
        before, after = list(arrays(tree)), list(arrays(value))
        assert [p for p, _ in before] == [p for p, _ in after]
        assert_sharing_kept(before, after)
        with wick.Reader(path) as r:
            assert canonical(r.value()) == canonical(tree), seed
            entries = r.entries()
            assert [tuple(e.steps) for e in entries] == [p for p, _ in before], seed
            for e, (_, a) in zip(entries, before):
                assert canonical(r.tensor(e.path)) == canonical(a), (seed, e.path)
                assert e.shape == a.shape and e.nbytes == a.nbytes
        if cli() and seed % 5 == 0:
            done = subprocess.run([cli(), "verify", str(path)], capture_output=True, text=True)
            assert done.returncode == 0, (seed, done.stdout, done.stderr)
            checked_by_cli += 1
    assert checked_by_cli in (0, TREES // 5)
