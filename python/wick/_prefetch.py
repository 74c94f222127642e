"""Reading a large file into a fresh buffer while hashing its tensor payloads as they arrive.

Where the time goes (256 MiB, page cache warm, bench/python/bench_load.py): the kernel's copy
from the page cache (~30 ms) and the page faults of the fresh buffer, which zero every page
they map (~22 ms, even with the huge pages NumPy asks for) -- together what np.load pays --
and XXH3 of the tensor payloads on top. So this thread hashes each chunk right after reading
it, while the chunk is still in cache. python-xxhash's XXH3 (which calls libxxhash's generic
entry points) measured 5-19 GB/s on a cached MiB here and holds the GIL; the system libxxhash
it links to also exports XXH3_64bits_update_dispatch, which picks AVX2/AVX-512 at run time
(37-45 GB/s on the same MiB; ~6 ms for 256 MiB). It is used, through ctypes, when present and
proven equal to python-xxhash at first use; otherwise python-xxhash hashes the chunks.

Measured and dropped: a second thread hashing while this one reads (it must trade the GIL
with the reader every chunk, up to the 5 ms switch interval when it does not block: 0.67x
np.load against 0.88x for this), and a helper thread pre-faulting the buffer with
madvise(MADV_POPULATE_WRITE) so the zeroing overlaps the copy (it moved 18 ms of CPU off this
thread but cost ~8 ms more in all and no wall time on the 2 shared cores measured: 0.83x
against 0.92x even with the cores 76% idle at the start).

The digests are only hints keyed by (payload offset, size): the decoder still checks every
rule itself and uses a digest only for the exact span it was taken over. A file whose records
do not walk cleanly just stops the hinting; the decoder hashes the rest.
"""

import platform
import struct
import sys

import xxhash

from . import format as F

CHUNK = 1 << 20  # stays in the 2 MiB L2 between the read and the hash

# Only x86-64 builds of libxxhash export the dispatching entry points, and the library names
# tried below are Linux's.
_NATIVE_OK = sys.platform.startswith("linux") and platform.machine() == "x86_64"
_native = {}  # "xxh3": the factory of native hashers, or None; looked up at first use


class _NativeXXH3:
    """Streaming XXH3-64 of memory addresses through libxxhash's run-time dispatch."""

    def __init__(self, lib):
        self._lib, self._state = lib, lib.XXH3_createState()
        if not self._state:
            raise MemoryError("XXH3_createState")
        lib.XXH3_64bits_reset(self._state)

    def update(self, address, size):
        self._lib.XXH3_64bits_update_dispatch(self._state, address, size)

    def intdigest(self):
        return self._lib.XXH3_64bits_digest(self._state)

    def __del__(self):
        if getattr(self, "_state", None):
            self._lib.XXH3_freeState(self._state)


def _load_libxxhash():
    """The ctypes handle of libxxhash with its dispatching update, or None."""
    import ctypes
    for name in ("libxxhash.so.0", "libxxhash.so"):
        try:
            lib = ctypes.CDLL(name)
            lib.XXH3_64bits_update_dispatch  # noqa: B018  (AttributeError when absent)
        except (OSError, AttributeError):
            continue
        lib.XXH3_createState.restype = ctypes.c_void_p
        lib.XXH3_freeState.argtypes = [ctypes.c_void_p]
        lib.XXH3_64bits_reset.argtypes = [ctypes.c_void_p]
        lib.XXH3_64bits_update_dispatch.argtypes = [ctypes.c_void_p, ctypes.c_void_p,
                                                    ctypes.c_size_t]
        lib.XXH3_64bits_digest.argtypes = [ctypes.c_void_p]
        lib.XXH3_64bits_digest.restype = ctypes.c_uint64
        return lib
    return None


def _proven(lib):
    """lib's streaming XXH3 agrees with python-xxhash over lengths that take every path."""
    import ctypes
    data = bytes((i * 131 + 7) % 251 for i in range(5000))
    buf = ctypes.create_string_buffer(data, len(data))
    for cut in (0, 1, 17, 240, 241, 1024, 4999):
        h = _NativeXXH3(lib)
        h.update(ctypes.addressof(buf), cut)
        h.update(ctypes.addressof(buf) + cut, len(data) - cut)
        if h.intdigest() != xxhash.xxh3_64_intdigest(data):
            return False
    return True


def _native_xxh3():
    """A factory of _NativeXXH3 hashers, or None to use python-xxhash."""
    if "xxh3" not in _native:
        _native["xxh3"] = None
        if _NATIVE_OK:
            try:
                lib = _load_libxxhash()
                if lib is not None and _proven(lib):
                    _native["xxh3"] = lambda: _NativeXXH3(lib)
            except (OSError, AttributeError, MemoryError):
                pass
    return _native["xxh3"]


class _Hasher:
    """XXH3-64 of spans of one buffer, natively when it can."""

    def __init__(self, view, address):
        self.view, self.address, self.native = view, address, _native_xxh3()

    def new(self):
        return self.native() if self.native else xxhash.xxh3_64()

    def update(self, h, start, stop):
        # The native call reads raw memory: callers pass only spans inside the view
        # (_hash_records refuses a payload size that reaches past the trailer).
        if self.native:
            h.update(self.address + start, stop - start)
        else:
            h.update(self.view[start:stop])


def _hash_span(hasher, start, end):
    """XXH3-64 of the span; yields before each piece the byte count it needs."""
    h = hasher.new()
    at = start
    while at < end:
        stop = min(end, at + CHUNK)
        yield stop
        hasher.update(h, at, stop)
        at = stop
    return h.intdigest()


def _hash_records(view, hasher, digests):
    """Walk tensor records from offset 64, hashing each payload into `digests`; a generator
    that yields the byte count it needs before reading further (it stops when the walk
    does not go on cleanly)."""
    at, end = F.HEADER_SIZE, len(view) - F.TRAILER_SIZE
    while at + F.RECORD_PREFIX <= end:
        yield at + F.RECORD_PREFIX
        kind, _, h, p = struct.unpack_from("<IHHQ", view, at)
        if h < 64 or h % F.ALIGN or h > F.MAX_RECORD_HEADER or p > end - at - h:
            return
        if kind == F.KIND_INDEX:
            return
        if kind == F.KIND_TENSOR:
            digests[(at + h, p)] = yield from _hash_span(hasher, at + h, at + h + p)
        at += h + p + F.pad64(p)


def read_and_hash(f, view, address):
    """Fill `view` (the memory at `address`) from `f`; return (bytes read, payload digests)."""
    digests, got, size = {}, 0, len(view)
    walk = _hash_records(view, _Hasher(view, address), digests)
    need = next(walk, None)
    while got < size:
        n = f.readinto(view[got:min(size, got + CHUNK)])
        if not n:
            break
        got += n
        while need is not None and need <= got:
            need = next(walk, None)
    return got, digests
