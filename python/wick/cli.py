"""`python3 -m wick info|verify|cat`: the basics of the C++ `wick` tool, same exit codes.

Exit codes (as `wick --help` prints them):
  0  success (verify: every file intact)
  2  usage error, or no such path inside the file
  3  a file is missing or cannot be read
  4  a file is not a wick file
  5  a wick file is corrupt (checksum or structural error)
  6  any other error (out of memory, internal error)
"""

import argparse
import os
import stat
import sys

import numpy as np

from . import format as F
from .random_access import Entry, Reader, pointer
from .reader import FormatError

OK, USAGE, UNREADABLE, NOT_WICK, CORRUPT, OTHER = 0, 2, 3, 4, 5, 6
MAX_SHOWN = 1024  # longer texts show their first and last 480 bytes (FORMAT.md "Tree paths")


class Failure(Exception):
    """Ends a command on one file with an exit code; str() is the message."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def _escaped(text):
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in text)


def _cut(length, head, tail):
    """A text of `length` escaped bytes, of which `head` and `tail` are the first and last."""
    if length <= MAX_SHOWN:
        return head.decode("utf-8", "backslashreplace")
    head, tail = head[:480].decode("utf-8", "ignore"), tail[-480:].decode("utf-8", "ignore")
    return f"{head}...[{length - 960} bytes]...{tail}"


def shown(text):
    """`text` safe for a terminal: control characters escaped, long texts cut in the middle."""
    safe = _escaped(text)
    raw = safe.encode("utf-8", "backslashreplace")
    if len(raw) <= MAX_SHOWN:
        return safe
    return _cut(len(raw), raw, raw)


class PathTexts:
    """shown(entry.path) for the entries of one Reader, escaping each path node once.

    A path is a chain of parent nodes (FORMAT.md "Tree paths"): one 64 KiB key above 16,384
    references would cost 1 GiB to spell path by path. Each node keeps its escaped length and
    its first and last MAX_SHOWN bytes, computed from its parent's, so the cost is linear.
    """

    def __init__(self):
        self._cache = {}  # id(path node) -> (length, head, tail); the entries keep nodes alive

    def __call__(self, node):
        """The shown text of the TreePath `node` (None: the root)."""
        if node is None:
            return "(root)"
        # Only containers are cached: a leaf's texts (2 KiB) kept per reference would not be.
        return _cut(*_extend(self._state(node.parent), node.step))

    def _state(self, node):
        chain = []
        while node is not None and id(node) not in self._cache:
            chain.append(node)
            node = node.parent
        state = self._cache[id(node)] if node is not None else (0, b"", b"")
        for n in reversed(chain):
            state = self._cache[id(n)] = _extend(state, n.step)
        return state


def _extend(state, step):
    """(length, head, tail) of a path's escaped text after one more step."""
    piece = _escaped(pointer([step])).encode("utf-8", "backslashreplace")
    length, head, tail = state
    return (length + len(piece), (head + piece[:MAX_SHOWN])[:MAX_SHOWN],
            (tail + piece[-MAX_SHOWN:])[-MAX_SHOWN:])


def human_bytes(n):
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n} B" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def has_wick_magic(path):
    """True when `path` starts with the wick magic: a FormatError then means corrupt."""
    try:
        with open(path, "rb") as f:
            return f.read(len(F.MAGIC)) == F.MAGIC
    except OSError:
        return False


def open_reader(path):
    """A Reader on `path`, or the Failure the C++ tool would report for it."""
    try:
        mode = os.stat(path).st_mode
    except OSError as err:
        raise Failure(UNREADABLE, f"cannot read {path}: {err.strerror}") from None
    if not stat.S_ISREG(mode):
        kind = "a directory" if stat.S_ISDIR(mode) else "not a regular file"
        raise Failure(UNREADABLE, f"cannot read {path}: not a regular file ({kind})")
    try:
        return Reader(path)
    except OSError as err:
        raise Failure(UNREADABLE, f"cannot read {path}: {err.strerror or err}") from None
    except FormatError as err:
        raise Failure(CORRUPT if has_wick_magic(path) else NOT_WICK, str(err)) from None


def widened(arr, dtype):
    """bfloat16 bits widened to float32 for printing; other dtypes as they are."""
    if dtype == "bfloat16":
        return (arr.astype(np.uint32) << 16).view(np.float32)
    return arr


def _width(cell):
    """A cell's width as the C++ tool counts it: UTF-8 bytes."""
    return len(cell.encode("utf-8", "backslashreplace"))


def table(rows, out):
    """Rows as aligned columns, indented by two; the fourth (bytes) right-aligned. `rows()`
    gives the rows afresh: one pass finds the widths, a second writes, so no row is kept."""
    widths = None
    for r in rows():
        widths = [max(_width(c), w) for c, w in zip(r, widths or [0] * len(r))]
    for r in rows():
        pads = [" " * (w - _width(c)) for c, w in zip(r, widths)]
        cells = [p + c if k == 3 else c + p for k, (c, p) in enumerate(zip(r, pads))]
        out.write("  " + "  ".join(cells).rstrip() + "\n")


# The kind names of the C++ tool (core's kind_name) for leaves that are not tensors.
KINDS = ((bool, "bool"), (int, "int"), (float, "float"), (str, "string"), (dict, "dict"),
         (list, "list"), (tuple, "tuple"))


def kind_name(value):
    if value is None:
        return "none"
    return next(name for t, name in KINDS if isinstance(value, t))


def entry_rows(leaves):
    """The header and one row per leaf of `info`'s table (`leaves`: Reader._leaves()'s), tensors
    with their sharing notes, other values with their kind and repr, as the C++ tool prints."""
    yield ("path", "dtype", "shape", "bytes", "checksum", "")
    path_text, first_path, first_on_record = PathTexts(), {}, {}
    for path, e in leaves:
        if not isinstance(e, Entry):
            text = "(empty)" if isinstance(e, (dict, list, tuple)) else shown(repr(e))
            yield (path_text(path), kind_name(e), "-", "-", "-", text)
            continue
        note = ""
        if (e.record, e.view) in first_path:
            note = f"same tensor as {path_text(first_path[e.record, e.view])}"
        elif e.record in first_on_record:
            note = f"shares storage with {path_text(first_on_record[e.record])}"
        first_path.setdefault((e.record, e.view), path)
        first_on_record.setdefault(e.record, path)
        yield (path_text(path), e.dtype, "[" + ", ".join(map(str, e.shape)) + "]", str(e.nbytes),
               f"{e.checksum:#018x}", note)


# ---------------------------------------------------------------- commands


def info(path, out):
    """Format version, producer, size, metadata and every entry with dtype and shape."""
    with open_reader(path) as r:
        out.write(f"file:      {shown(str(path))}\n"
                  f"format:    wick {r.version[0]}.{r.version[1]}\n"
                  f"producer:  {shown(r.producer)}\n"
                  f"size:      {r.file_size} bytes ({human_bytes(r.file_size)})\n"
                  f"metadata:{'  (none)' if not r.metadata else ''}\n")
        for key, value in r.metadata.items():
            out.write(f"  {shown(key)}: {shown(repr(value))}\n")
        # Kept in a list: PathTexts caches by node identity, so the nodes must stay alive.
        leaves = list(r._leaves())  # pylint: disable=protected-access
        entries = sum(isinstance(leaf, Entry) for _, leaf in leaves)
        values = len(leaves) - entries
        out.write(f"entries:{'   (none)' if not leaves else ''}\n")
        if leaves:
            table(lambda: entry_rows(leaves), out)
        views = f"{r.view_count} view{'s' if r.view_count != 1 else ''}, " if r.view_count else ""
        others = f"{values} other value{'s' if values != 1 else ''}, " if values else ""
        out.write(f"total:     {entries} entr{'y' if entries == 1 else 'ies'}, "
                  f"{r.tensor_count} tensor{'' if r.tensor_count == 1 else 's'}, {others}{views}"
                  f"{r.payload_bytes} payload bytes ({human_bytes(r.payload_bytes)})\n")
    return OK


def verify(path, out):
    """Every byte checked: `FILE: OK (...)`, or the problem with its offset and structure."""
    try:
        with open_reader(path) as r:
            r.verify()
            n = r.tensor_count
            out.write(f"{shown(str(path))}: OK ({n} tensor{'' if n == 1 else 's'}, "
                      f"{human_bytes(r.file_size)}, every checksum matches)\n")
            return OK
    except FormatError as err:
        failure = Failure(CORRUPT, str(err))
    except Failure as err:
        failure = err
    status = {UNREADABLE: "unreadable", NOT_WICK: "not a wick file"}.get(failure.code,
                                                                          "corrupt")
    out.write(f"{shown(str(path))}: {status}\n  {shown(str(failure))}\n")
    return failure.code


def cat(path, name, out):
    """The whole value, or the tensor or scalar at `name` (JSON Pointer or dotted)."""
    with open_reader(path) as r:
        if name is None:
            value = r.value()
        else:
            try:
                value = r.get(name)
                if isinstance(value, np.ndarray):
                    value = widened(value, r.entry(name).dtype)
            except KeyError as err:
                raise Failure(USAGE, f"{err.args[0]} ") from None
        with np.printoptions(threshold=1000, edgeitems=3):
            out.write(f"{shown(str(value)) if not isinstance(value, np.ndarray) else value}\n")
    return OK


# ---------------------------------------------------------------- entry point


def parser():
    p = argparse.ArgumentParser(
        prog="python3 -m wick", description="Inspect wick files (io/FORMAT.md) from Python.",
        epilog=__doc__.split("\n\n", 1)[1], formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("info", help="format version, producer, metadata and every entry")
    s.add_argument("files", nargs="+", metavar="FILE")
    s = sub.add_parser("verify", help="check every checksum and rule of each file")
    s.add_argument("files", nargs="+", metavar="FILE")
    s = sub.add_parser("cat", help="print the whole value, or the tensor or scalar at PATH")
    s.add_argument("file", metavar="FILE")
    s.add_argument("path", nargs="?", metavar="PATH",
                   help="JSON Pointer (/model/w) or dotted state_dict key (model.w)")
    return p


def run(argv, out, err):
    """Run one command line; returns the exit code."""
    args = parser().parse_args(argv)
    jobs = ([(f, None) for f in args.files] if args.command != "cat"
            else [(args.file, args.path)])
    code = OK
    for file, name in jobs:
        try:
            if args.command == "info":
                result = info(file, out)
            elif args.command == "verify":
                result = verify(file, out)
            else:
                result = cat(file, name, out)
        except Failure as failure:
            err.write(f"wick: {shown(str(failure)).rstrip()}\n")
            result = failure.code
        except FormatError as error:  # a payload read after the index opened
            err.write(f"wick: {shown(str(file))}: {shown(str(error))}\n")
            result = CORRUPT
        except MemoryError:
            err.write(f"wick: {shown(str(file))}: out of memory\n")
            result = OTHER
        if code == OK:
            code = result
    return code


def main(argv=None):
    """Console entry point: exits with the code of the first file that failed."""
    try:
        code = run(sys.argv[1:] if argv is None else argv, sys.stdout, sys.stderr)
    except BrokenPipeError:
        code = OK
    except Exception as e:  # an internal error: exit 6 like the C++ tool
        sys.stderr.write(f"wick: internal error: {e!r}\n")
        code = OTHER
    sys.stdout.flush()
    return code
