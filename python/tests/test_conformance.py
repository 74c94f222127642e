"""The conformance corpus (tests/conformance/): the files the C++ suite reads, read by Python.

Valid files load to exactly their plain form (values, dtypes, bits, sharing), through
wick.load and through wick.Reader (value() and tensor by tensor); invalid files are refused
with the offset and structure the C++ front-to-back loader reports (wick.load), and with those
the C++ io::Reader reports (wick.Reader). Every file a writer wrote is what wick.save and
wick.torch.save write from its plain form, byte for byte.
"""

import io
import os

import numpy as np
import pytest

import wick
import plain

REQUIRE_PEERS = os.environ.get("WICK_REQUIRE_PEERS") == "1"

VALID = plain.cases("valid")
INVALID = plain.cases("invalid")


def test_the_corpus_is_there():
    assert len(VALID) >= 20 and len(INVALID) >= 100
    assert all(c.path.exists() for c in VALID + INVALID)


def _root(a):
    """The object that owns an array's memory (a bytearray, an mmap, ...)."""
    while getattr(a, "base", None) is not None:
        a = a.base
    return a


class _Checker:
    """Walks a loaded value beside its plain node, collecting one array per tensor entry."""

    def __init__(self, case):
        self.doc = case.doc
        self.expected = plain.numpy_tensors(case.doc, case.bin)
        self.seen = {}

    def node(self, got, node, where="root"):
        (kind, x), = node.items()
        if kind == "none":
            assert got is None, where
        elif kind in ("bool", "int", "str"):
            assert type(got) is {"bool": bool, "int": int, "str": str}[kind], where
            assert got == x, where
        elif kind == "float":
            assert type(got) is float and plain.float_bits(got) == x, where
        elif kind == "tensor":
            self.tensor(got, x, where)
        elif kind in ("list", "tuple"):
            assert type(got) is (list if kind == "list" else tuple), where
            assert len(got) == len(x), where
            for i, (g, n) in enumerate(zip(got, x)):
                self.node(g, n, f"{where}/{i}")
        else:
            assert type(got) is dict, where
            assert list(got) == [k for k, _ in x], where
            for k, n in x:
                self.node(got[k], n, f"{where}/{k}")

    def tensor(self, got, i, where):
        want = self.expected[i]
        assert isinstance(got, np.ndarray), where
        assert got.dtype == want.dtype and got.shape == want.shape, where
        assert got.strides == want.strides, where
        assert got.tobytes() == want.tobytes(), where
        # A tensor entry is one object wherever the tree references it (tied weights).
        assert self.seen.setdefault(i, got) is got, f"{where}: tied tensor loaded twice"

    def sharing(self):
        """Entries of one storage share one buffer at their offsets; others share nothing."""
        tensors = self.doc["tensors"]
        items = sorted(self.seen.items())
        for a, (i, x) in enumerate(items):
            for j, y in items[a + 1:]:
                ti, tj = tensors[i], tensors[j]
                if ti["storage"] != tj["storage"]:
                    assert not np.shares_memory(x, y), (i, j)
                    continue
                assert _root(x) is _root(y), (i, j)
                if x.size and y.size:
                    gap = x.__array_interface__["data"][0] - y.__array_interface__["data"][0]
                    assert gap == (ti["offset"] - tj["offset"]) * x.itemsize, (i, j)


@pytest.mark.parametrize("case", VALID, ids=repr)
def test_valid_file_loads_to_its_plain_form(case):
    value, meta, version = wick.load_with_metadata(case.path)
    assert version == plain.version(case.doc)
    check = _Checker(case)
    check.node(value, case.doc["value"])
    check.sharing()
    assert sorted(check.seen) == sorted({i for i in range(len(case.doc["tensors"]))
                                         if _referenced(case.doc["value"], i)})
    want_meta = plain.from_plain(case.doc, case.bin)[1]
    assert list(meta) == list(want_meta)
    for k, n in case.doc["metadata"]:
        _Checker(case).node(meta[k], n, f"metadata {k}")


def _referenced(node, i):
    (kind, x), = node.items()
    if kind == "tensor":
        return x == i
    if kind in ("list", "tuple"):
        return any(_referenced(n, i) for n in x)
    if kind == "dict":
        return any(_referenced(n, i) for _, n in x)
    return False


def test_from_plain_builds_what_the_files_hold():
    """plain.from_plain, the writers' check's input, equals what wick.load gives."""
    for case in VALID:
        value, meta, version = plain.from_plain(case.doc, case.bin)
        got, got_meta, got_version = wick.load_with_metadata(case.path)
        assert version == got_version, case
        assert _same(got, value), case
        assert _same(got_meta, meta), case


def _same(a, b):
    """Equal values, NaNs and tensors compared by bits."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (type(a) is type(b) and a.dtype == b.dtype and a.shape == b.shape
                and a.tobytes() == b.tobytes())
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return plain.float_bits(a) == plain.float_bits(b)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    return a == b


def test_from_plain_gives_torch_tensors_with_bfloat16_exact():
    torch = pytest.importorskip("torch")
    case = next(c for c in VALID if c.name == "dtypes")
    value, _, _ = plain.from_plain(case.doc, case.bin, torch=True)
    assert value["bfloat16"].dtype == torch.bfloat16
    np.testing.assert_array_equal(value["bfloat16"].view(torch.int16).numpy().view(np.uint16),
                                  wick.load(case.path)["bfloat16"])
    views = next(c for c in VALID if c.name == "views")
    v, _, _ = plain.from_plain(views.doc, views.bin, torch=True)
    v["numbers"][2] = 100
    assert v["evens"][1] == 100


@pytest.mark.parametrize("case", INVALID, ids=repr)
def test_invalid_file_is_refused_where_the_corpus_says(case):
    want = case.doc["load"]
    with pytest.raises(wick.FormatError) as e:
        wick.load(case.path)
    assert (e.value.offset, e.value.structure) == (want["offset"], want["structure"]), \
        f"{e.value} (C++: {want['structure']} at {want['offset']}: {want['detail']})"


@pytest.mark.parametrize("case", INVALID, ids=repr)
def test_invalid_file_is_refused_by_the_reader_where_the_corpus_says(case):
    """As tests/io/test_conformance.cpp: `Reader(path).value()` and `Reader(path).verify()`
    each refuse with the corpus's "reader" offset and structure (the open, or the call)."""
    want = case.doc["reader"]
    for call in ("value", "verify"):
        with pytest.raises(wick.FormatError) as e:
            with wick.Reader(case.path) as r:
                getattr(r, call)()
        assert (e.value.offset, e.value.structure) == (want["offset"], want["structure"]), \
            f"Reader.{call}: {e.value} (C++: {want['structure']!r} at {want['offset']}: " \
            f"{want['detail']})"


@pytest.mark.parametrize("mmap", [True, False], ids=["mmap", "copy"])
@pytest.mark.parametrize("case", VALID, ids=repr)
def test_valid_file_reads_through_the_reader_to_its_plain_form(case, mmap):
    """Reader.value() is the plain form (sharing included), and so is every tensor by path."""
    with wick.Reader(case.path, mmap=mmap) as r:
        assert r.version == plain.version(case.doc)
        check = _Checker(case)
        check.node(r.value(), case.doc["value"])
        check.sharing()
        want = plain.from_plain(case.doc, case.bin)[0]
        paths = _tensor_paths(case.doc["value"])
        assert [e.path for e in r.entries()] == [p for p, _ in paths]
        expected = plain.numpy_tensors(case.doc, case.bin)
        for path, i in paths:
            got = r.tensor(path)
            assert got.dtype == expected[i].dtype and got.shape == expected[i].shape, path
            assert got.tobytes() == expected[i].tobytes(), path
            assert _same(r.get(path), got), path
        assert _same(r.value(verify=False), want)
        r.verify()


def _tensor_paths(node, steps=()):
    """(JSON Pointer, tensor entry) of every tensor node of a plain tree, in tree order."""
    (kind, x), = node.items()
    if kind == "tensor":
        return [("".join("/" + str(s).replace("~", "~0").replace("/", "~1") for s in steps), x)]
    if kind in ("list", "tuple"):
        items = enumerate(x)
    elif kind == "dict":
        items = x
    else:
        return []
    return [pair for k, n in items for pair in _tensor_paths(n, steps + (k,))]


def test_the_checks_notice_a_wrong_plain_form():
    """The valid-file check fails on a changed bit, a moved view or sharing that is not there."""
    import copy

    case = next(c for c in VALID if c.name == "views")
    value = wick.load(case.path)

    def fails(mutate):
        bad = copy.copy(case)
        bad.doc = copy.deepcopy(case.doc)
        bad.bin = bytearray(case.bin)
        mutate(bad)
        check = _Checker(bad)
        with pytest.raises(AssertionError):
            check.node(value, bad.doc["value"])
            check.sharing()

    fails(lambda c: c.bin.__setitem__(0, c.bin[0] ^ 1))
    fails(lambda c: c.doc["tensors"][1].__setitem__("offset", 1))
    # Tensor 1 (evens) claimed to be on a storage of its own: the loaded one shares.
    fails(lambda c: (c.doc["storages"].append(dict(c.doc["storages"][0])),
                     c.doc["tensors"][1].__setitem__("storage", len(c.doc["storages"]) - 1)))


REWRITTEN = [c for c in VALID if c.doc.get("rewrite")]


def test_the_writers_check_covers_every_file_a_writer_wrote():
    assert len(REWRITTEN) >= 30
    assert {c.name for c in REWRITTEN} >= {f"golden_{n}" for n in
                                           ("all_types", "tied", "tutorial_list",
                                            "checkpoint_2_0", "views_2_1")}


@pytest.mark.parametrize("case", REWRITTEN, ids=repr)
def test_the_python_writer_writes_the_files_bytes_from_the_plain_form(case):
    """Byte-identical writers (issue 19): the plain form's value and metadata, saved in the
    plain form's version, are the file's exact bytes, as the C++ writer makes them
    (Conformance.* checks that side)."""
    value, meta, version = plain.from_plain(case.doc, case.bin)
    out = io.BytesIO()
    wick.save(value, out, metadata=meta, version=version)
    assert out.getvalue() == case.path.read_bytes()


@pytest.mark.parametrize("case", REWRITTEN, ids=repr)
def test_the_torch_writer_writes_the_files_bytes_from_the_plain_form(case):
    if not REQUIRE_PEERS:
        pytest.importorskip("torch")
    import wick.torch  # pylint: disable=import-outside-toplevel  (torch is optional)

    value, meta, version = plain.from_plain(case.doc, case.bin, torch=True)
    out = io.BytesIO()
    wick.torch.save(value, out, metadata=meta, version=version)
    assert out.getvalue() == case.path.read_bytes()
