"""Sharded checkpoints: a directory of wick files, one shard per writer and `index.wick`
(io/FORMAT.md "Sharded checkpoints (a directory of wick files)").

Opening loads `index.wick` with the ordinary reader and checks its tables in one pass; a shard
is opened (relative to the directory, so a save renaming a new checkpoint into place cannot mix
two) the first time a read needs it, and then costs its 64-byte header and trailer. Pieces are
read with pread in chunks, hashed as they arrive, straight into the caller's array. Refusals
raise ShardedFormatError, the package's FormatError with a `file` (the base name of the file at
fault: `index.wick` or a shard) beside its `structure`, named as the C++ reader names them and
as tests/conformance/sharded pins them: `sharded index`, `world_size`, `shards`, `tensors`,
`pieces`, `shard R`, `state`, `tensors[i]`, `pieces[i]` in `index.wick`; `shard R`, the wick
structure at fault (`file header`, `trailer`, `tensor record header`, ...) or
`piece of '<path>' at offset <offset>` in a shard. A missing or unreadable index or shard raises
the OSError the operating system gives (FileNotFoundError for a missing one).
"""

import collections
import mmap as _mmap
import os
import re
import stat

import numpy as np
import xxhash

from . import format as F
from . import random_access as RA
from . import reader as R
from .reader import FormatError
from .tree_path import TreePath

INDEX_NAME = "index.wick"
# The sharded layout version this reader knows (FORMAT.md: `kShardedLayout`).
LAYOUT_VERSION = 1
ROOT_KEYS = ("world_size", "shards", "state", "tensors", "pieces")
MAX_WORLD = 65536
# The smallest wick file (header, index record header, trailer): the least a shard can be.
MIN_SHARD = 192
# Columns of `pieces`.
P_TENSOR, P_SHARD, P_START, P_COUNT, P_OFFSET, P_CHECKSUM = range(6)
# A piece's record: a rank-1 tensor header; after it, the shard's index header and trailer.
PIECE_HEADER = F.tensor_header_size(1)
SHARD_TAIL = F.HEADER_SIZE + F.TRAILER_SIZE
# Bytes read (and hashed) per pread: large enough for throughput, small enough for cache.
CHUNK = 8 << 20
_U64 = (1 << 64) - 1
# One RFC 6901 reference token: "~" only as "~0" or "~1".
_TOKEN = re.compile(r"(?:[^~]|~[01])*")

Tensor = collections.namedtuple("Tensor", "path dtype shape")
Tensor.__doc__ = "A tensor of a sharded checkpoint: JSON Pointer, dtype name, shape."


def shard_name(rank, world_size):
    """`shard-RRRRR-of-NNNNN.wick`: decimal, zero-padded to at least five digits."""
    return f"shard-{rank:05d}-of-{world_size:05d}.wick"


class ShardedFormatError(FormatError):
    """A refusal of a sharded checkpoint: `structure` at fault in `file` (the base name of
    `index.wick` or of a shard); offset, when given, is in that file."""

    def __init__(self, message, offset=None, structure="", file=INDEX_NAME):
        super().__init__(message, offset, structure)
        self.file = file
        self.args = (f"{file}: {self.args[0]}",)


def _refuse(structure, message, offset=None, file=INDEX_NAME):
    """A refusal of the checkpoint naming `structure` in `file`."""
    return ShardedFormatError(message, offset, structure, file)


def _named(err, file):
    """A wick file's own refusal (its structure and offset kept), naming the file."""
    return ShardedFormatError(err.reason, err.offset, err.structure, file)


def _is_int(v):
    # Tags 1 and 2 load as bool, a subclass of int: the spec's ints are tag 3.
    return type(v) is int


def _elements(shape):
    n = 1
    for s in shape:
        n *= s
    return n


class ShardedReader:
    """A sharded checkpoint directory: `with wick.ShardedReader("ckpt") as r: r.tensor("/w")`.

    Opening loads `index.wick` verified, whatever `verify` says, and checks it against every
    rule of FORMAT.md "Sharded checkpoints" in the spec's order; shards are opened when a read
    first needs them. `verify` is the default for reads: it hashes every piece read (whole
    pieces, even for a slice) against the index and checks bool payloads. Refusals raise
    ShardedFormatError (a FormatError naming the file and the structure); a missing index or
    shard raises FileNotFoundError (any OSError when unreadable); a path the checkpoint does
    not hold raises KeyError.
    """

    def __init__(self, directory, verify=True):
        self.directory = os.fspath(directory)
        self._verify = verify
        self._shards = {}
        # The directory is opened once and every file relative to it: a save that renames a
        # new checkpoint over this path mid-load cannot make us read files of both.
        self._dir_fd = os.open(self.directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            self._open_index()
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------ the index

    def _open_index(self):
        # The index is small and every later check trusts it: always verified, read as the C++
        # reader reads it (random access: trailer and index first), through the directory.
        try:
            with RA.Reader(f"/proc/self/fd/{self._dir_fd}/{INDEX_NAME}", mmap=False) as r:
                root, self.metadata = r.value(verify=True), dict(r.metadata)
        except FileNotFoundError as err:
            err.filename = INDEX_NAME
            raise
        except FormatError as err:
            raise _named(err, INDEX_NAME) from None
        # "Rules a reader enforces", in their order.
        _check_layout_version(self.metadata)
        _check_root_keys(root)
        self.world_size = _check_world_size(root["world_size"])
        _int64_table(root["shards"], (self.world_size, 2), "shards")
        # Sizes stay signed; checksums are u64 bits.
        self._sizes = [(a, b & _U64) for a, b in root["shards"].tolist()]
        _check_shard_sizes(self._sizes)
        self._state = root["state"]
        _check_state(self._state)
        if not isinstance(root["tensors"], list):
            raise _refuse("tensors", f"is a {type(root['tensors']).__name__}, expected a list")
        self._entries = _check_tensors(root["tensors"], self._state)
        self._by_path = {path: t for t, (path, _, _) in enumerate(self._entries)}
        _int64_table(root["pieces"], (None, 6), "pieces")
        self._pieces = root["pieces"]
        self._first, self._count = _check_pieces(self._pieces, self._entries, self._sizes)

    # ------------------------------------------------------------ listing

    def tensors(self):
        """Every tensor of the state in index order: (path, dtype name, shape) tuples."""
        return [Tensor(path, F.DTYPES[code][0], shape) for path, code, shape in self._entries]

    def _tensor_index(self, path):
        try:
            return self._by_path[path]
        except KeyError:
            raise KeyError(f"no tensor {path!r} in the sharded checkpoint "
                           f"{self.directory}") from None

    # ------------------------------------------------------------ reads

    def tensor(self, path, *, verify=None):
        """The whole tensor at JSON Pointer `path` as a NumPy array (bfloat16 as marked uint16
        bits), read from every piece of it. `verify` (default: the reader's) hashes each
        piece against the index."""
        t = self._tensor_index(path)
        _, _, shape = self._entries[t]
        return self._read(t, 0, _elements(shape), verify).reshape(shape)

    def slice(self, path, start, count, *, verify=None):
        """Flat (row-major) elements [start, start + count) of the tensor at `path`, as a 1-D
        array, reading only the pieces that overlap them (verifying reads each whole)."""
        t = self._tensor_index(path)
        n = _elements(self._entries[t][2])
        if start < 0 or count < 0 or start + count > n:
            raise IndexError(f"slice [{start}, {start + count}) of {path!r}, which has {n} "
                             "elements")
        return self._read(t, start, count, verify)

    def value(self, *, verify=None):
        """The whole state as wick.load returns a value tree: the index's `state` with each
        tensor read into the place its path names."""
        tree = _thaw(self._state)
        holder = [tree]
        for t, (path, _, _) in enumerate(self._entries):
            node, key = holder, 0
            for step in RA._pointer_steps(path):
                node, key = node[key], RA._key_of(node[key], step)
            node[key] = self.tensor(path, verify=verify)
        return _freeze(holder[0])

    def _read(self, t, start, count, verify):
        """Elements [start, start + count) of tensor t, from the pieces overlapping them."""
        verify = self._verify if verify is None else verify
        code = self._entries[t][1]
        rows = self._overlapping(t, start, count)
        # Each shard is checked (its real size against the index) before the allocation, so
        # the bytes asked for exist: a tiny index cannot make us allocate what it claims.
        for i in rows:
            self._shard(int(self._pieces[i, P_SHARD]))
        out = np.empty(count, F.DTYPES[code][1])
        dest = memoryview(out.view(np.uint8))
        item = out.itemsize
        for i in rows:
            piece_start = int(self._pieces[i, P_START])
            lo = max(start, piece_start)
            hi = min(start + count, piece_start + int(self._pieces[i, P_COUNT]))
            self._read_piece(i, (lo - piece_start) * item,
                             dest[(lo - start) * item:(hi - start) * item], verify)
        return out

    def _overlapping(self, t, start, count):
        """Rows of the pieces of tensor t that hold any of elements [start, start + count)."""
        lo = self._first[t]
        hi = lo + self._count[t]
        if count == 0 or hi == lo:
            return range(0)
        starts = self._pieces[lo:hi, P_START]
        first = lo + int(np.searchsorted(starts, start, side="right")) - 1
        last = lo + int(np.searchsorted(starts, start + count, side="left"))
        return range(first, last)

    def _read_piece(self, i, a, dest, verify):
        """Bytes [a, a + len(dest)) of piece i's payload into `dest`; verifying, the whole payload is read
        and hashed against the row's checksum."""
        shard = self._shard(int(self._pieces[i, P_SHARD]))
        payload_at = self._piece_header(i, shard)
        code = self._entries[self._tensor_of(i)][1]
        if not verify:
            shard.read_into(dest, payload_at + a, i)
            if code == F.BOOL_CODE:  # unverified too, as every reader of a single file
                try:
                    R._check_bool_bytes(dest, payload_at + a, lambda: self._piece_name(i))
                except FormatError as err:
                    raise _refuse(self._piece_name(i), err.reason, err.offset,
                                  shard.name) from None
            return
        size = int(self._pieces[i, P_COUNT]) * F.DTYPES[code][2]
        digest = _read_hashed(shard, i, payload_at, size, a, dest,
                              self._piece_name(i) if code == F.BOOL_CODE else None)
        expected = int(self._pieces[i, P_CHECKSUM]) & _U64
        if digest != expected:
            raise _refuse(self._piece_name(i), f"payload checksum {digest:#018x}, the index "
                          f"says {expected:#018x} (pieces[{i}])", file=shard.name)

    def _piece_name(self, i):
        """The structure a fault of piece i's record names: its tensor and record offset."""
        return f"piece of '{self._entries[self._tensor_of(i)][0]}' at offset " \
            f"{int(self._pieces[i, P_OFFSET])}"

    def _tensor_of(self, i):
        return int(self._pieces[i, P_TENSOR])

    def _piece_header(self, i, shard):
        """Piece i's record header: a tensor record (checksum verified) of the tensor's dtype
        and shape [count]. Returns the payload's offset in the shard."""
        at = int(self._pieces[i, P_OFFSET])
        code = self._entries[self._tensor_of(i)][1]
        count = int(self._pieces[i, P_COUNT])
        try:
            found = shard.tensor_header(at)
        except FormatError as err:
            raise _named(err, shard.name) from None
        if found != (code, (count,)):
            raise _refuse(self._piece_name(i), f"the record holds {F.DTYPES[found[0]][0]} "
                          f"{list(found[1])}; the index says {F.DTYPES[code][0]} [{count}] "
                          f"(pieces[{i}])", file=shard.name)
        return at + PIECE_HEADER

    # ------------------------------------------------------------ shards

    def _shard(self, rank):
        """Shard `rank`, opened and checked (size, header, trailer, index checksum) once."""
        shard = self._shards.get(rank)
        if shard is None:
            shard = _Shard(self._dir_fd, rank, self.world_size, self._sizes[rank])
            self._shards[rank] = shard
        return shard

    def verify(self):
        """Check the whole checkpoint, as `io::ShardedReader::verify()` does: every shard as a
        wick file (random access, every byte) whose metadata `wick.shard` and
        `wick.world_size` name it, then every piece in index order, read verified (its record
        header, dtype, shape [count], payload checksum, bool bytes). A shard's root and any
        record no piece lists are not checked. ShardedFormatError on the first problem."""
        for rank in range(self.world_size):
            self._shard(rank).verify_whole()
        nothing = memoryview(bytearray(0))
        for i in range(len(self._pieces)):
            self._read_piece(i, 0, nothing, True)

    # ------------------------------------------------------------ lifetime

    def close(self):
        """Close the shards and the directory; arrays already returned stay valid."""
        for shard in self._shards.values():
            shard.close()
        self._shards = {}
        if self._dir_fd is not None:
            os.close(self._dir_fd)
            self._dir_fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __repr__(self):
        return f"wick.ShardedReader({self.directory!r}, world_size {self.world_size})"


class _Shard:
    """One shard file, open relative to the checkpoint directory and checked as the index
    describes it. Its header and trailer are read through a private map (only those pages are
    touched); payloads through pread."""

    def __init__(self, dir_fd, rank, world_size, expected):
        self.rank, self.world_size = rank, world_size
        self.name = shard_name(rank, world_size)
        self.fd = os.open(self.name, os.O_RDONLY | os.O_CLOEXEC, dir_fd=dir_fd)
        self.map = None
        try:
            self._check(*expected)
        except BaseException:
            self.close()
            raise

    def fail(self, message, offset=None):
        return _refuse(f"shard {self.rank}", message, offset, self.name)

    def _wrap(self, err):
        return _named(err, self.name)

    def _check(self, size, checksum):
        """Its size is the index's; its header and trailer verify; the trailer's index checksum
        is the index's (else it belongs to another checkpoint)."""
        st = os.fstat(self.fd)
        if not stat.S_ISREG(st.st_mode):
            raise self.fail("not a regular file")
        if st.st_size != size:
            raise self.fail(f"is {st.st_size} bytes, {INDEX_NAME} says {size}")
        if size < RA.MIN_FILE:
            buf = memoryview(os.pread(self.fd, size, 0))
        else:
            self.map = _mmap.mmap(self.fd, 0, access=_mmap.ACCESS_COPY)
            buf = memoryview(self.map)
        with buf:
            try:
                RA._refuse_a_short_file(buf)
                version = R._read_header(buf, True)
                RA._trailer_at_the_end(buf, version)
            except FormatError as err:
                raise self._wrap(err) from None
            found = int.from_bytes(buf[size - F.TRAILER_SIZE + 16:size - F.TRAILER_SIZE + 24],
                                   "little")
        if found != checksum:
            raise self.fail(f"its index checksum is {found:#018x}, {INDEX_NAME} says "
                            f"{checksum:#018x}: a shard of another checkpoint", size - 64 + 16)

    def tensor_header(self, at):
        """The tensor record header at `at`, in the C++ reader's order: its first 64 bytes (a
        rank-1 header's) and their checksum, the prefix, kind 1, the tensor rules. Returns
        (dtype code, sizes)."""
        s = "tensor record header"
        with memoryview(self.map) as buf:
            R._read_exact(buf, at, PIECE_HEADER, s)
            R._check_header_checksum(buf, at, PIECE_HEADER, s)
            kind, flags, h, p = R._decode_prefix(buf, at)
            if kind != F.KIND_TENSOR:
                raise FormatError(f"record kind {kind}, expected {F.KIND_TENSOR}", at, s)
            _, code, sizes = R._tensor_header(buf, at, flags, h, p, False)
        return code, sizes

    def read_into(self, dest, at, piece):
        """Fill `dest` with the shard's bytes from `at` (pread until full)."""
        got = 0
        while got < len(dest):
            n = os.preadv(self.fd, [dest[got:]], at + got)
            if n == 0:
                raise _refuse(f"shard {self.rank}", f"truncated: the shard ends before byte "
                              f"{at + len(dest)} (pieces[{piece}])", at + got, self.name)
            got += n

    def verify_whole(self):
        """The whole shard as wick.Reader(...).verify() checks it (as io::Reader::verify()
        does), through the descriptor already checked; then its metadata names it."""
        try:
            with RA.Reader(f"/proc/self/fd/{self.fd}") as r:
                r.verify()
                meta = r.metadata
        except FormatError as err:
            raise self._wrap(err) from None
        want = {"wick.shard": self.rank, "wick.world_size": self.world_size}
        for key, value in want.items():
            if not _is_int(meta.get(key)) or meta[key] != value:
                raise self.fail(f"its metadata {key} is {meta.get(key)!r}, expected {value}")

    def close(self):
        if self.map is not None:
            try:
                self.map.close()
            except BufferError:
                pass  # arrays of a verified shard view it: unmapped when they go
            self.map = None
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def _read_hashed(shard, i, payload_at, size, a, dest, bools=None):
    """Read piece i's whole payload (`size` bytes at `payload_at`) in chunks, hashing each as
    it arrives: bytes [a, a + len(dest)) land in `dest`, the rest pass through one scratch
    chunk, so a slice never needs a buffer of the whole piece. With `bools` (the piece's
    structure name) each chunk must hold only 0 and 1. Returns the XXH3-64."""
    digest, scratch, pos, b = xxhash.xxh3_64(), None, 0, a + len(dest)
    while pos < size:
        if a <= pos < b:
            n = min(b - pos, CHUNK)
            target = dest[pos - a:pos - a + n]
        else:
            n = min(CHUNK, (a if pos < a else size) - pos)
            scratch = scratch if scratch is not None else bytearray(min(CHUNK, size))
            target = memoryview(scratch)[:n]
        shard.read_into(target, payload_at + pos, i)
        digest.update(target)
        if bools is not None:
            try:
                R._check_bool_bytes(target, payload_at + pos, lambda: bools)
            except FormatError as err:
                raise _refuse(bools, err.reason, err.offset, shard.name) from None
        pos += n
    return digest.intdigest()


# ---------------------------------------------------------------- index checks


def _check_layout_version(meta):
    """`wick.sharded`: an int, 1 (a newer one is refused naming both versions)."""
    version = meta.get("wick.sharded")
    if version is None:
        raise _refuse("sharded index", "no wick.sharded in its metadata: not the index of a "
                      "sharded checkpoint")
    if not _is_int(version):
        raise _refuse("sharded index", f"wick.sharded is {version!r}, expected an int")
    if version > LAYOUT_VERSION:
        raise _refuse("sharded index", f"sharded layout version {version} is newer than this "
                      f"reader's {LAYOUT_VERSION}; upgrade wick to read it")
    if version < 1:
        raise _refuse("sharded index", f"invalid sharded layout version {version}")


def _int64_table(value, rows, name):
    """`value` is an int64 tensor [rows, columns] (rows None: any); else refused as `name`."""
    if not isinstance(value, np.ndarray) or value.dtype != np.int64 or value.ndim != 2 \
            or value.shape[1] != rows[1] or (rows[0] is not None and value.shape[0] != rows[0]):
        what = (f"{value.dtype} tensor {list(value.shape)}" if isinstance(value, np.ndarray)
                else type(value).__name__)
        want = "P" if rows[0] is None else rows[0]
        raise _refuse(name, f"{name} is a {what}, expected an int64 tensor [{want}, {rows[1]}]")


def _check_root_keys(root):
    """A dict of exactly the five keys, in order."""
    if not isinstance(root, dict) or tuple(root) != ROOT_KEYS:
        keys = list(root) if isinstance(root, dict) else type(root).__name__
        raise _refuse("sharded index", f"root is {keys}, expected a dict of "
                      f"{list(ROOT_KEYS)} in that order")


def _check_world_size(n):
    """`world_size`: an int (not a bool) from 1 to 65,536."""
    if not _is_int(n) or not 1 <= n <= MAX_WORLD:
        raise _refuse("world_size", f"world_size is {n!r}, expected an int from 1 to "
                      f"{MAX_WORLD}")
    return n


def _check_shard_sizes(sizes):
    """Every shard's size could be a wick file's: a multiple of 64, at least 192."""
    for rank, (size, _) in enumerate(sizes):
        if size < MIN_SHARD or size % F.ALIGN:
            raise _refuse(f"shard {rank}", f"size {size} cannot be a wick file's (a multiple "
                          f"of 64, at least {MIN_SHARD})")


def _check_state(state):
    """`state` holds no tensor (its tensors are nones)."""
    path = _first_array(state)
    if path is not None:
        raise _refuse("state", f"state holds a tensor at {path!r}; its tensors are nones")


def _first_array(state):
    """The JSON Pointer of the first array in `state`, or None (explicit stack: nesting
    reaches 512; paths as parent chains, spelled only for the refusal)."""
    stack = [(state, None)]
    while stack:
        node, path = stack.pop()
        if isinstance(node, np.ndarray):
            return RA.pointer(path.steps() if path else [])
        stack.extend((child, TreePath(path, key)) for key, child in RA._items(node)
                     if isinstance(child, (np.ndarray, dict, list, tuple)))
    return None


def _check_tensors(tensors, state):
    """Each entry [path, dtype, shape] names a distinct none of `state`, with a known dtype
    and a shape the tensor rules allow. Returns [(path, code, shape tuple)]."""
    entries, seen = [], set()
    for i, entry in enumerate(tensors):
        s = f"tensors[{i}]"
        if not isinstance(entry, list) or len(entry) != 3:
            raise _refuse(s, f"is {type(entry).__name__}, expected a list [path, dtype, shape]")
        path, code, shape = entry
        if not isinstance(path, str):
            raise _refuse(s, f"path is a {type(path).__name__}, expected a string")
        seen_key = _resolve_none(path, state, s)
        if seen_key in seen:
            raise _refuse(s, f"{path!r} names the same node as an earlier entry")
        seen.add(seen_key)
        if not _is_int(code) or code not in F.DTYPES:
            raise _refuse(s, f"dtype code {code!r} is unknown")
        entries.append((path, code, _check_shape(shape, code, s)))
    return entries


def _resolve_none(path, state, s):
    """The node a tree path names, which must be a none: returns (id of its container, key),
    one per node."""
    if path and not path.startswith("/") or \
            not all(_TOKEN.fullmatch(t) for t in path.split("/")[1:]):
        raise _refuse(s, f"path {path!r} is not a tree path (a JSON Pointer)")
    holder = [state]
    node, key = holder, 0
    try:
        for step in RA._pointer_steps(path):
            node, key = node[key], RA._key_of(node[key], step)
    except KeyError:
        raise _refuse(s, f"path {path!r} names no node of state") from None
    if node[key] is not None:
        raise _refuse(s, f"path {path!r} names a {type(node[key]).__name__} of state, "
                      "expected a none")
    return id(node), key


def _check_shape(shape, code, s):
    """A list of ints: rank at most 32, sizes 0 to 2^63-1, the 2^62 rule."""
    if not isinstance(shape, list) or not all(_is_int(x) for x in shape):
        raise _refuse(s, f"shape {shape!r} is not a list of ints")
    if len(shape) > F.MAX_RANK:
        raise _refuse(s, f"rank {len(shape)} exceeds {F.MAX_RANK}")
    if any(x < 0 or x > F.MAX_U63 for x in shape):
        raise _refuse(s, f"shape {shape} has a size outside 0 to 2^63-1")
    if R._bytes_within_rule(shape, F.DTYPES[code][2]) is None:
        raise _refuse(s, f"shape {shape} of {F.DTYPES[code][0]} overflows 2^62 bytes")
    return tuple(shape)


def _check_pieces(pieces, entries, shard_sizes):
    """In the C++ reader's order: each row (tensor, shard, sorted by tensor then start, tiling,
    count, record offset), then that every tensor is covered, then that the records of one
    shard are disjoint. Returns (first, count): tensor t's pieces are rows first[t] to
    first[t] + count[t]."""
    rows = pieces.tolist()
    first, count = [0] * len(entries), [0] * len(entries)
    end = 0  # where the next piece of the tensor being tiled must start
    for i, row in enumerate(rows):
        tensor, shard, start, n, _, _ = row
        s = f"pieces[{i}]"
        if not 0 <= tensor < len(entries):
            raise _refuse(s, f"tensor {tensor} is not an index into tensors ({len(entries)})")
        if not 0 <= shard < len(shard_sizes):
            raise _refuse(s, f"shard {shard} is not below world_size {len(shard_sizes)}")
        if count[tensor]:
            if i != first[tensor] + count[tensor]:
                raise _refuse(s, f"tensor {tensor} again after another: pieces are sorted by "
                              "tensor, then start")
        else:
            if i and rows[i - 1][0] > tensor:
                raise _refuse(s, f"tensor {tensor} after tensor {rows[i - 1][0]}: pieces are "
                              "sorted by tensor, then start")
            first[tensor], end = i, 0
        _check_row(s, row, end, entries[tensor], shard_sizes)
        count[tensor] += 1
        end = start + n
    for t, (_, _, shape) in enumerate(entries):
        last = rows[first[t] + count[t] - 1] if count[t] else None
        covered = last[P_START] + last[P_COUNT] if last else 0
        if covered != _elements(shape):
            raise _refuse(f"tensors[{t}]", f"its pieces cover elements [0, {covered}) of its "
                          f"{_elements(shape)}")
    _check_disjoint(rows, entries)
    return first, count


def _check_disjoint(rows, entries):
    """The records of one shard's pieces are disjoint: sorted by (shard, offset, row), each
    starts at or after the previous one's end (64 header bytes and its payload). The later in
    that order is named."""
    order = sorted(range(len(rows)), key=lambda i: (rows[i][P_SHARD], rows[i][P_OFFSET], i))
    for a, b in zip(order, order[1:]):
        ra, rb = rows[a], rows[b]
        end = ra[P_OFFSET] + PIECE_HEADER + ra[P_COUNT] * F.DTYPES[entries[ra[P_TENSOR]][1]][2]
        if ra[P_SHARD] == rb[P_SHARD] and rb[P_OFFSET] < end:
            raise _refuse(f"pieces[{b}]", f"its record at offset {rb[P_OFFSET]} of shard "
                          f"{rb[P_SHARD]} overlaps the record of pieces[{a}] (ending at {end})")


def _check_row(s, row, end, entry, shard_sizes):
    """One piece: it starts where the previous ends, holds elements, ends inside its tensor,
    and its record (64 header bytes, count elements) ends 128 bytes before its shard's end."""
    _, shard, start, count, offset, _ = row
    n = _elements(entry[2])
    if start != end:
        what = "a gap" if start > end else "an overlap, or pieces out of order"
        raise _refuse(s, f"starts at element {start}, expected {end} ({what})")
    if count < 1:
        raise _refuse(s, f"count {count}: a piece holds at least one element")
    if count > n - start:
        raise _refuse(s, f"elements [{start}, {start + count}) run past the {n} of its tensor")
    if offset < F.HEADER_SIZE or offset % F.ALIGN:
        raise _refuse(s, f"record offset {offset} is not a multiple of 64 from 64 on")
    record_end = offset + PIECE_HEADER + count * F.DTYPES[entry[1]][2]
    if record_end + SHARD_TAIL > shard_sizes[shard][0]:
        raise _refuse(s, f"record at {offset} ends at {record_end}, past shard {shard}'s "
                      f"{shard_sizes[shard][0]} bytes less its index and trailer (128)")


# ---------------------------------------------------------------- value assembly


class _TupleItems(list):
    """A tuple of the state as a list while tensors are put in it."""


def _thaw(state):
    """A copy of `state`'s containers, tuples as _TupleItems (explicit stack: no recursion)."""
    def copy(node):
        if isinstance(node, dict):
            return dict(node)
        if isinstance(node, tuple):
            return _TupleItems(node)
        return list(node) if isinstance(node, list) else node
    top = copy(state)
    stack = [top]
    while stack:
        node = stack.pop()
        for key, child in list(RA._items(node)):
            if isinstance(child, (dict, list, tuple)):
                node[key] = copy(child)
                stack.append(node[key])
    return top


def _freeze(tree):
    """_TupleItems back to tuples, innermost first (reverse pre-order)."""
    order, stack = [], [tree]
    while stack:
        node = stack.pop()
        order.append(node)
        stack.extend(c for _, c in RA._items(node) if isinstance(c, (dict, list)))
    for node in reversed(order):
        for key, child in list(RA._items(node)):
            if isinstance(child, _TupleItems):
                node[key] = tuple(child)
    return tuple(tree) if isinstance(tree, _TupleItems) else tree


# ---------------------------------------------------------------- functions


def load_sharded(directory, verify=True):
    """Load a sharded checkpoint directory whole: the value tree `wick.load` would give for the
    state that was saved (each tensor its own array). The index is verified whatever `verify`
    says; `verify` is for the pieces. ShardedFormatError (a wick.FormatError) names the file
    and the structure at fault; a missing index or shard raises FileNotFoundError (an OSError;
    C++ throws IoError)."""
    with ShardedReader(directory, verify=verify) as r:
        return r.value()


def is_sharded_checkpoint(directory):
    """True when `directory` is a directory holding an `index.wick` regular file (its contents
    are checked only when it is opened)."""
    try:
        return os.path.isdir(directory) and \
            stat.S_ISREG(os.stat(os.path.join(directory, INDEX_NAME)).st_mode)
    except OSError:
        return False
