"""Sharded checkpoint directories for the tests, written as io/FORMAT.md "Sharded checkpoints"
says: shards first (with `wick.save`), then `index.wick`.

`build()` returns a `Checkpoint` whose fields (world size, shard rows, state, tensors, piece
rows, metadata) are plain Python values the tests may change before `write_index()` rewrites
the index, so that any one rule can be broken on its own. The shard rows' sizes and index
checksums and the pieces' record offsets and checksums are taken from the files written, the
checksums hashed here from the piece's bytes.
"""

import os
import struct

import numpy as np
import xxhash

import wick
from wick.random_access import pointer

INDEX = "index.wick"


def shard_name(rank, world):
    return f"shard-{rank:05d}-of-{world:05d}.wick"


def as_int64(u):
    """A u64 (a checksum) as the int64 of the same bits, as the index stores it."""
    return u - (1 << 64) if u >= 1 << 63 else u


def split_state(state):
    """(state with every array replaced by None, [(path, array)] in tree order)."""
    found = []

    def walk(node, steps):
        if isinstance(node, np.ndarray):
            found.append((pointer(steps), node))
            return None
        if isinstance(node, dict):
            return {k: walk(v, steps + [k]) for k, v in node.items()}
        if isinstance(node, (list, tuple)):
            items = [walk(v, steps + [i]) for i, v in enumerate(node)]
            return tuple(items) if isinstance(node, tuple) else items
        return node

    return walk(state, []), found


def spec_cuts(arrays, world):
    """FORMAT.md "Writers and the commit": the tensors laid end to end by bytes, writer R
    taking bytes [R*B/N, (R+1)*B/N), moved (down) to element boundaries. Returns, per tensor,
    [(start, count, shard)]."""
    total = sum(a.nbytes for a in arrays)
    bounds = [r * total // world for r in range(world + 1)]
    cuts, base = [], 0
    for a in arrays:
        rows, n, item = [], a.size, a.itemsize
        for r in range(world):
            lo = min(max((bounds[r] - base) // item, 0), n) if r else 0
            hi = min(max((bounds[r + 1] - base) // item, 0), n) if r < world - 1 else n
            if hi > lo:
                rows.append((lo, hi - lo, r))
        cuts.append(rows)
        base += a.nbytes
    return cuts


def random_cuts(arrays, world, rng, most=4):
    """Each tensor cut at up to `most - 1` random points, each piece on a random shard."""
    cuts = []
    for a in arrays:
        n = a.size
        points = sorted(set(rng.integers(1, n, size=min(most - 1, max(n - 1, 0))).tolist())) \
            if n > 1 else []
        edges = [0] + points + [n] if n else []
        cuts.append([(lo, hi - lo, int(rng.integers(0, world)))
                     for lo, hi in zip(edges, edges[1:])])
    return cuts


class Checkpoint:
    """A written checkpoint and the index fields; change them, then write_index()."""

    def __init__(self, directory, world, state, tensors, pieces, shards):
        self.directory = directory
        self.world = world
        self.state = state
        self.tensors = tensors  # [[path, dtype code, [sizes]]]
        self.pieces = pieces  # [[tensor, shard, start, count, offset, u64 checksum]]
        self.shards = shards  # [[size, u64 index checksum]]
        self.metadata = {"wick.sharded": 1}

    def path(self, name):
        return os.path.join(self.directory, name)

    def shard_path(self, rank):
        return self.path(shard_name(rank, self.world))

    def root(self):
        """The index root as FORMAT.md gives it, from the fields."""
        pieces = np.array([r[:5] + [as_int64(r[5])] for r in self.pieces], np.int64) \
            .reshape(-1, 6)
        shards = np.array([[s, as_int64(c)] for s, c in self.shards], np.int64).reshape(-1, 2)
        return {"world_size": self.world, "shards": shards, "state": self.state,
                "tensors": self.tensors, "pieces": pieces}

    def write_index(self, root=None, metadata=None):
        """(Re)write index.wick from `root` (default: root()) and the metadata."""
        wick.save(self.root() if root is None else root, self.path(INDEX),
                  metadata=self.metadata if metadata is None else metadata, durable=False)

    def shard_trailer_checksum(self, rank):
        with open(self.shard_path(rank), "rb") as f:
            f.seek(-64 + 16, os.SEEK_END)
            return struct.unpack("<Q", f.read(8))[0]


def _write_shard(ck, rank, rows):
    """Shard `rank` holding `rows` [(tensor index, start, count, array of the piece)]; fills
    in each row's record offset and checksum in ck.pieces order later."""
    root = {f"{ck.tensors[t][0]}@{start}": piece for t, start, _, piece in rows}
    path = ck.shard_path(rank)
    wick.save(root, path, metadata={"wick.shard": rank, "wick.world_size": ck.world},
              durable=False)
    with wick.Reader(path) as r:
        offsets = {e.path: e.offset - 64 for e in r.entries()}  # a 1-D header is 64 bytes
    ck.shards.append([os.path.getsize(path), ck.shard_trailer_checksum(rank)])
    return [offsets[pointer([key])] for key in root]


def build(directory, state, world=2, cuts=None, seed=None, most=4):
    """Write `state` as a sharded checkpoint of `world` shards into `directory` (created).

    `cuts`: per tensor in tree order, [(start, count, shard)]; default: spec_cuts(), or
    random_cuts() when `seed` is given."""
    os.makedirs(directory, exist_ok=True)
    skeleton, found = split_state(state)
    arrays = [a for _, a in found]
    if cuts is None:
        cuts = spec_cuts(arrays, world) if seed is None else \
            random_cuts(arrays, world, np.random.default_rng(seed), most)
    tensors = [[p, wick.writer.dtype_code(a.dtype), list(a.shape)] for p, a in found]
    ck = Checkpoint(os.fspath(directory), world, skeleton, tensors, [], [])
    per_shard = [[] for _ in range(world)]
    for t, (a, rows) in enumerate(zip(arrays, cuts)):
        flat = a.reshape(-1)
        for start, count, shard in rows:
            # A copy: slices of one array would share a storage, and the writer would then
            # store them as views of one record.
            piece = flat[start:start + count].copy()
            per_shard[shard].append((t, start, count, piece))
            ck.pieces.append([t, shard, start, count, None,
                              xxhash.xxh3_64_intdigest(np.ascontiguousarray(piece).tobytes())])
    where = {}
    for rank in range(world):
        offsets = _write_shard(ck, rank, per_shard[rank])
        for (t, start, _, _), offset in zip(per_shard[rank], offsets):
            where[(t, start)] = offset
    for row in ck.pieces:
        row[4] = where[(row[0], row[2])]
    ck.pieces.sort(key=lambda r: (r[0], r[2]))
    ck.write_index()
    return ck
