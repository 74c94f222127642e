"""The sharded conformance corpus (tests/conformance/sharded/, README in tests/conformance/):
checkpoint directories the C++ writer wrote, read by wick.ShardedReader.

A valid directory loads (verified and not) to exactly the plain form beside it and verifies; an
invalid one is refused by each way of reading it (opening, a verified load, an unverified load,
verify()) with the exception kind, structure and file the C++ reader reports
(tests/io/test_conformance_sharded.cpp holds that side to the same files)."""

import json
import os

import numpy as np
import pytest

import plain
import wick

SHARDED = plain.CORPUS / "sharded"


class Case:
    """One corpus directory: its name, JSON document and path."""

    def __init__(self, json_path):
        self.name = json_path.stem
        self.doc = json.loads(json_path.read_text(encoding="utf-8"))
        self.dir = json_path.parent / self.name
        bin_name = self.doc.get("bin")
        self.bin = (json_path.parent / bin_name).read_bytes() if bin_name else b""

    def __repr__(self):
        return self.name


def cases(sub):
    return [Case(p) for p in sorted((SHARDED / sub).glob("*.json"))]


VALID = cases("valid")
INVALID = cases("invalid")


def test_the_corpus_is_there():
    assert len(VALID) >= 6 and len(INVALID) >= 30
    assert all(c.dir.is_dir() for c in VALID + INVALID)
    assert {c.doc["world_size"] for c in VALID} >= {1, 2, 3}


def same(got, want, where="root"):
    """Equal value trees: types, key order, dtypes (the bfloat16 marker too), shapes, bits."""
    assert type(got) is type(want), where
    if isinstance(want, dict):
        assert list(got) == list(want), where
        for k in want:
            same(got[k], want[k], f"{where}/{k}")
    elif isinstance(want, (list, tuple)):
        assert len(got) == len(want), where
        for i, (g, w) in enumerate(zip(got, want)):
            same(g, w, f"{where}/{i}")
    elif isinstance(want, np.ndarray):
        assert got.dtype == want.dtype and got.dtype.metadata == want.dtype.metadata, where
        assert got.shape == want.shape and got.tobytes() == want.tobytes(), where
    elif isinstance(want, float):
        assert plain.float_bits(got) == plain.float_bits(want), where
    else:
        assert got == want, where


def expected_value(case):
    """The plain form's value and metadata (each tensor its own array)."""
    tensors = plain.numpy_tensors(case.doc, case.bin)
    value = plain.node_value(case.doc["value"], tensors)
    meta = {k: plain.node_value(v, tensors) for k, v in case.doc["metadata"]}
    return value, meta


@pytest.mark.parametrize("case", VALID, ids=repr)
def test_valid_checkpoint_loads_to_its_plain_form(case):
    value, meta = expected_value(case)
    for verify in (True, False):
        same(wick.load_sharded(case.dir, verify=verify), value)
        with wick.ShardedReader(case.dir, verify=verify) as r:
            assert r.world_size == case.doc["world_size"]
            # Python keeps wick.sharded in the metadata; the plain form (C++) leaves it out.
            assert {k: v for k, v in r.metadata.items() if k != "wick.sharded"} == meta
            same(r.value(), value)
            r.verify()


def outcome(fn):
    """None when fn() reads; else (kind, structure, file base name), as the corpus pins."""
    try:
        fn()
    except wick.FormatError as err:
        return ("format", err.structure, getattr(err, "file", None))
    except OSError as err:
        return ("io", None, os.path.basename(err.filename or ""))
    return None


def pinned(o):
    return None if o is None else (o["kind"], o["structure"], o["file"])


def _open(case, verify=True):
    with wick.ShardedReader(case.dir, verify=verify):
        pass


def _verify(case, verify):
    with wick.ShardedReader(case.dir, verify=verify) as r:
        r.verify()


WAYS = {
    "open": [lambda c: _open(c), lambda c: _open(c, verify=False)],
    "load": [lambda c: wick.load_sharded(c.dir)],
    "load_unverified": [lambda c: wick.load_sharded(c.dir, verify=False)],
    # verify() reads every piece verified whatever the reader's default.
    "verify": [lambda c: _verify(c, True), lambda c: _verify(c, False)],
}


@pytest.mark.parametrize("way", list(WAYS))
@pytest.mark.parametrize("case", INVALID, ids=repr)
def test_invalid_checkpoint_is_refused_where_the_corpus_says(case, way):
    want = case.doc[way]
    for fn in WAYS[way]:
        got = outcome(lambda: fn(case))
        assert got == pinned(want), \
            f"{way}: {got} (C++: {pinned(want)}: {want and want['detail']})"


def test_every_invalid_case_is_refused_somewhere():
    for case in INVALID:
        assert any(case.doc[w] is not None for w in WAYS), case


def test_the_runner_notices_a_wrong_structure(tmp_path):
    """A case whose pinned structure is changed fails the comparison (the check is real)."""
    case = next(c for c in INVALID if c.name == "piece_gap")
    got = outcome(lambda: wick.load_sharded(case.dir))
    assert got == ("format", "pieces[2]", "index.wick")
    assert got != ("format", "pieces[1]", "index.wick")
