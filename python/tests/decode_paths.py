"""Every Python decode path over one file, for the bounds, corruption and mutation tests.

Each path either loads or raises wick.FormatError; anything else escapes to the test as the
bug it is. `canonical()` turns a loaded tree into plain, comparable data (arrays as dtype,
shape and bytes; floats as their bits, so NaN payloads compare) so paths can be compared.
"""

import io
import struct
import sys

import numpy as np

import wick
from wick import cli


# canonical() recurses, two frames per level: trees nest 512 deep ("Values").
sys.setrecursionlimit(max(sys.getrecursionlimit(), 4 * 512 + 200))


def canonical(value):
    """A hashable, comparable image of a value tree (types kept: tuple vs list, int vs bool)."""
    if isinstance(value, np.ndarray):
        meta = (value.dtype.metadata or {}).get("wick_dtype", "")
        return ("array", value.dtype.str, meta, value.shape,
                np.ascontiguousarray(value).tobytes())
    if isinstance(value, dict):
        return ("dict", tuple((type(k).__name__, k, canonical(v)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(canonical(v) for v in value))
    if isinstance(value, float):
        return ("float", struct.pack("<d", value))
    return (type(value).__name__, value)


def whole_loads(path, verify=True):
    """(name, thunk) for each whole-file load of `path`."""
    def from_file_object():
        with open(path, "rb") as f:
            return wick.load(io.BytesIO(f.read()), verify=verify)
    return [
        ("load", lambda: wick.load(path, verify=verify)),
        ("load(mmap)", lambda: wick.load(path, mmap=True, verify=verify)),
        ("load(file object)", from_file_object),
    ]


def reader_value(path):
    """Reader open, entries(), value(), then tensor(name) for every entry (equal to the node
    of value() at its path), with and without mmap; returns the value or raises FormatError."""
    with wick.Reader(path) as r:
        entries = r.entries()
        value = r.value()
        for e in entries:
            node = value
            for step in e.steps:
                node = node[step]
            assert canonical(r.tensor(e.path)) == canonical(node), e.path
        r.value(verify=False)
    with wick.Reader(path, mmap=False) as r:
        r.value()
    return value


def reader_verify(path):
    """Reader open and verify(); returns the value unverified (verify() returns nothing)."""
    with wick.Reader(path) as r:
        r.verify()
        return r.value(verify=False)


def cli_codes(path):
    """`python3 -m wick info`, `verify` and `cat` in-process: their exit codes."""
    out, err = io.StringIO(), io.StringIO()
    return tuple(cli.run([command, str(path)], out, err) for command in ("info", "verify", "cat"))


def outcome(thunk):
    """("ok", canonical value) or ("refused", the FormatError)."""
    try:
        return "ok", canonical(thunk())
    except wick.FormatError as err:
        assert err.structure, f"a refusal without a structure: {err}"
        return "refused", err


def every_path(path):
    """Outcomes of every verified path, which must agree: {name: outcome}."""
    results = {name: outcome(thunk) for name, thunk in whole_loads(path)}
    results["Reader.value"] = outcome(lambda: reader_value(path))
    results["Reader.verify"] = outcome(lambda: reader_verify(path))
    return results


def unverified_paths(path):
    """Unverified loads may return changed values on a damaged file but never crash."""
    results = {name: outcome(thunk) for name, thunk in whole_loads(path, verify=False)}

    def reader_unverified():
        with wick.Reader(path) as r:
            for e in r.entries():
                r.tensor(e.path, verify=False)
            return r.value(verify=False)
    results["Reader(verify=False)"] = outcome(reader_unverified)
    return results
