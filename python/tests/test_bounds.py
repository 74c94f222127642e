"""Every Python decode path loads or refuses a hostile file in memory and time linear in it.

io/FORMAT.md "Bounds", the Python row: peak Python heap (tracemalloc, which sees NumPy's
buffers too; a private map of the file is not heap) within A + B * file size, time within
C + D * file size per MB, whatever the file repeats or claims (hostile_corpus.py). Time is
taken on a separate run without tracemalloc, which slows allocation several times.
"""

import os
import time
import tracemalloc

import numpy as np
import pytest

import wick
from wick import cli
from wick import torch as wick_torch
from hostile_corpus import hostile_files

MIB = 1 << 20
# FORMAT.md "Bounds": (A bytes, B bytes per file byte, C seconds, D seconds per MB).
WHOLE_LOAD = (16 * MIB, 96, 1.0, 8.0)
READER = (16 * MIB, 192, 1.0, 20.0)
TOOLS = READER
# tensor(name) is looked up for the first and last LOOKUPS entries: each lookup costs the
# length of its name (the caller's input, not the file's), so looking up every entry of a
# file whose paths repeat a long key costs the sum of the paths, which no reader can avoid.
LOOKUPS = 500

# WICK_BOUNDS_SCALE multiplies the repeat counts (FORMAT.md's figures were taken at 5).
CASES = hostile_files(float(os.environ.get("WICK_BOUNDS_SCALE", "1")))
# The summary's per-byte figures come from files of at least this size: below it the
# constant part (the interpreter's own allocations, a few KiB) dominates.
SUMMARY_MIN_SIZE = 16 << 10
WORST = {}  # path family -> (bytes per file byte, seconds per MB, case)


class _Sink:
    """An output stream that keeps nothing, so the tools' output is not charged as heap."""

    def __init__(self):
        self.written = 0

    def write(self, text):
        self.written += len(text)


def _whole(path, **kw):
    return lambda: wick.load(path, **kw)


def _reader(path):
    def run():
        with wick.Reader(path) as r:
            entries = r.entries()
            r.value()
            r.verify()
            chosen = entries if len(entries) <= 2 * LOOKUPS else (entries[:LOOKUPS] +
                                                                  entries[-LOOKUPS:])
            for e in chosen:
                r.tensor(e.path)
    return run


def _tools(path):
    def run():
        sink = _Sink()
        codes = (cli.run(["info", str(path)], sink, sink), cli.run(["verify", str(path)], sink,
                                                                    sink))
        if codes not in ((0, 0), (5, 5)):
            raise AssertionError(f"exit codes {codes}")
        if codes == (5, 5):
            raise wick.FormatError("refused by the tools", None, "cli")
    return run


PATHS = [
    ("load", WHOLE_LOAD, lambda p: _whole(p)),
    ("load(verify=False)", WHOLE_LOAD, lambda p: _whole(p, verify=False)),
    ("load(mmap=True)", WHOLE_LOAD, lambda p: _whole(p, mmap=True)),
    ("wick.torch.load", WHOLE_LOAD, lambda p: lambda: wick_torch.load(p)),
    ("Reader", READER, _reader),
    ("python3 -m wick info, verify", TOOLS, _tools),
]


def _run(fn):
    """'ok' or 'refused' (a FormatError); anything else propagates."""
    try:
        fn()
        return "ok"
    except wick.FormatError:
        return "refused"


def _measure(fn):
    """(outcome, peak traced bytes, seconds)."""
    start = time.perf_counter()
    outcome = _run(fn)
    seconds = time.perf_counter() - start
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
        again = _run(fn)
        peak = tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()
    assert again == outcome
    return outcome, peak, seconds


@pytest.mark.parametrize("name, data, loads", CASES, ids=[c[0] for c in CASES])
def test_every_path_is_bounded(name, data, loads, tmp_path):
    path = tmp_path / "hostile.wick"
    path.write_bytes(data)
    size = len(data)
    for family, (a, b, c, d), make in PATHS:
        outcome, peak, seconds = _measure(make(path))
        assert outcome == ("ok" if loads else "refused"), (family, outcome)
        assert peak <= a + b * size, f"{family}: {peak} bytes for a {size}-byte file"
        assert seconds <= c + d * size / 1e6, f"{family}: {seconds:.3f} s for {size} bytes"
        if size < SUMMARY_MIN_SIZE:
            continue
        per_byte, per_mb = peak / size, seconds / (size / 1e6)
        worst = WORST.get(family)
        WORST[family] = (max(per_byte, worst[0] if worst else 0),
                         max(per_mb, worst[1] if worst else 0),
                         name if not worst or per_byte > worst[0] else worst[2])


def test_zz_summary(capsys):
    """Print the worst memory per file byte and time per MB, like the C++ suites."""
    if not WORST:
        pytest.skip("no bounds measured in this run")
    parts = [f"{family}: {b:.1f} B/byte ({case}), {t:.2f} s/MB"
             for family, (b, t, case) in WORST.items()]
    with capsys.disabled():
        print("\npython decode bounds: " + "; ".join(parts))


def test_info_spells_each_path_as_shown_does(tmp_path):
    """`info` builds its path texts node by node (linear); they equal shown(full path)."""
    t = np.zeros(2, np.float32)
    long_key = "k\n日~/" * 400 + "\x1b" + "é" * 300
    tree = {long_key: [t, {"a/b": t, long_key: (t, t)}], "short": {0: t, "x": [t]},
            "mid" * 200: t}
    path = tmp_path / "paths.wick"
    wick.save(tree, path, durable=False)
    texts = cli.PathTexts()
    with wick.Reader(path) as r:
        entries = r.entries()
        assert len(entries) == 7
        for e in entries:
            assert texts(e._path) == cli.shown(e.path), e.path[:40]
    wick.save(t, path, durable=False)
    with wick.Reader(path) as r:
        assert texts(r.entries()[0]._path) == "(root)"
