"""A verifying load detects every corruption (FORMAT.md "Guarantees"), on every Python path.

Like the C++ `Corruption.*`: every single-bit flip and every truncation of tied.wick and of a
small file with views is refused with a FormatError naming a structure, by the whole loads
(read, mapped, from a file object) and by the Reader (open, entries, value, verify, tensor by
name). Then a seeded mutation loop over the golden files (flips, inserts, deletes, splices,
with the checksums often recomputed so the damage reaches the structure checks) asserts that
every path either loads or refuses, that they agree, and that unverified loads never crash.
"""

import io
import pathlib
import random
import struct

import numpy as np
import pytest

import wick
import builder as B
from decode_paths import cli_codes, every_path, unverified_paths
from hostile_corpus import deep_long_keys, nested, one_tensor

DATA = pathlib.Path(__file__).resolve().parents[2] / "tests" / "data"
GOLDEN = [(DATA / name).read_bytes() for name in sorted(p.name for p in DATA.glob("*.wick"))]


def small_views_file():
    """A 2.1 file of 512 bytes: a record, a strided view, a view inside a tuple."""
    n = np.arange(6, dtype=np.int16)
    out = io.BytesIO()
    wick.save({"n": n, "e": n[::2], "t": (n[1:3],)}, out)
    return out.getvalue()


def with_optional_record():
    """tied.wick's value with an optional record (kind 77) before the index."""
    optional = B.record(77, B.u64(B.xxh3(b"hello")), b"hello", flags=1)
    return B.build(B.DICT(("w", B.TENSOR(0)), ("again", B.TENSOR(0))),
                   tensors=[(8, (3, 4), np.arange(12, dtype="<f4").tobytes())], extra=optional)


FILES = {"tied.wick": (DATA / "tied.wick").read_bytes(), "small views": small_views_file()}
# The mutation loop's seeds: the golden files, the small views file, an optional record.
SEEDS = GOLDEN + [FILES["small views"], with_optional_record()]


def assert_refused_everywhere(path, what):
    for name, (kind, result) in every_path(path).items():
        assert kind == "refused", f"{what}: {name} loaded it"
        assert result.structure, f"{what}: {name}: {result}"


@pytest.mark.parametrize("name", sorted(FILES))
def test_every_bit_flip_is_refused_by_every_path(name, tmp_path):
    data, path = FILES[name], tmp_path / "flipped.wick"
    assert all(kind == "ok" for kind, _ in every_path_of(data, path).values())
    for at in range(len(data)):
        for bit in range(8):
            damaged = bytearray(data)
            damaged[at] ^= 1 << bit
            path.write_bytes(damaged)
            assert_refused_everywhere(path, f"bit {bit} of byte {at}")


@pytest.mark.parametrize("name", sorted(FILES))
def test_every_truncation_is_refused_by_every_path(name, tmp_path):
    data, path = FILES[name], tmp_path / "short.wick"
    for size in range(len(data)):
        path.write_bytes(data[:size])
        assert_refused_everywhere(path, f"the first {size} bytes")


def every_path_of(data, path):
    path.write_bytes(data)
    return every_path(path)


def test_nesting_512_deep_loads_alike_on_every_path(tmp_path):
    """The deepest tree (and one under 1 KiB keys) through every path and the tools."""
    path = tmp_path / "deep.wick"
    for data in (one_tensor(nested(511, B.LIST(B.TENSOR(0)))), deep_long_keys()):
        path.write_bytes(data)
        results = every_path(path)
        assert {kind for kind, _ in results.values()} == {"ok"}
        assert len({value for _, value in results.values()}) == 1
        unverified_paths(path)
        assert cli_codes(path) == (0, 0, 0)


# ---------------------------------------------------------------- seeded mutations


def rehash(data):
    """Recompute the header, record header, index and trailer checksums where the record
    prefixes still parse, so a mutant fails on its structure, not on a checksum."""
    d = bytearray(data)
    if len(d) < 128:
        return d
    d[56:64] = B.u64(B.xxh3(d[:56]))
    end, at, index_at = len(d) - 64, 64, None
    while at + 16 <= end:
        kind, _, h, p = struct.unpack_from("<IHHQ", d, at)
        if h < 64 or h % 64 or h > 512 or at + h > end:
            break
        if kind == 2 and at + h + p <= end:
            d[at + 16:at + 24] = B.u64(B.xxh3(d[at + h:at + h + p]))
            index_at = at
        d[at + h - 8:at + h] = B.u64(B.xxh3(d[at:at + h - 8]))
        if kind == 2:
            break
        at += h + p + (-p % 64)
    if index_at is not None:
        d[end + 16:end + 24] = d[index_at + 16:index_at + 24]
    d[end + 48:end + 56] = B.u64(B.xxh3(d[end:end + 48]))
    return d


def mutate(rng, data):
    """One to four flips, byte sets, inserts, deletes or splices from another golden file;
    most of them in the index payload (the last bytes before the trailer), where the
    structure is."""
    d = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        at = rng.randrange(len(d)) if d else 0
        if rng.random() < 0.6 and len(d) > 200:
            at = rng.randrange(len(d) - 200, len(d) - 64)
        op = rng.randrange(5)
        if op == 0 and d:
            d[at] ^= 1 << rng.randrange(8)
        elif op == 1 and d:
            d[at] = rng.choice([0, 1, 0x7F, 0x80, 0xFF, rng.randrange(256)])
        elif op == 2:
            d[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 8)))
        elif op == 3:
            del d[at:at + rng.randint(1, 16)]
        else:
            other = rng.choice(SEEDS)
            start, n = rng.randrange(len(other)), rng.randint(1, 64)
            d[at:at + n] = other[start:start + n]
    return rehash(d) if rng.random() < 0.7 else d


MUTANTS = 2500  # about 10 s; 20,000 more (seed 2) and 3,000 (seed 1) passed when written


def test_seeded_mutants_load_or_are_refused_alike_on_every_path(tmp_path):
    rng, path, counts = random.Random(19), tmp_path / "mutant.wick", {"ok": 0, "refused": 0}
    for i in range(MUTANTS):
        data = mutate(rng, rng.choice(SEEDS))
        path.write_bytes(data)
        results = every_path(path)
        kinds = {name: kind for name, (kind, _) in results.items()}
        assert len(set(kinds.values())) == 1, f"mutant {i}: {kinds} {list(results.values())}"
        values = [value for kind, value in results.values() if kind == "ok"]
        assert all(v == values[0] for v in values), f"mutant {i}: the paths' values differ"
        unverified_paths(path)
        kind = next(iter(kinds.values()))
        if i % 10 == 0:  # `verify` and `cat` succeed exactly when the loads do
            info, verify, cat = cli_codes(path)
            assert {info, verify, cat} <= {0, 4, 5}, f"mutant {i}"
            expect = {0} if kind == "ok" else {4, 5}
            assert verify in expect and cat in expect, f"mutant {i}: {kind}, {verify}, {cat}"
        counts[kind] += 1
    # The loop must reach both outcomes, or it tests less than it claims.
    assert counts["ok"] > 20 and counts["refused"] > MUTANTS // 2, counts
