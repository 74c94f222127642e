"""Reading a large file into a fresh buffer at about the speed of `np.load`, hashing as it arrives.

Where the time goes (256 MiB, page cache warm, bench/python/bench_load.py): the kernel's copy
from the page cache (~30 ms), the page faults of the fresh buffer, which zero every page they
map (~22 ms, even with the huge pages NumPy asks for), and XXH3 of the tensor payloads. So:

- A helper thread pre-faults the buffer with madvise(MADV_POPULATE_WRITE) while this thread
  reads into it. That call maps zeroed pages without writing the buffer's bytes, so it needs
  no synchronisation with the read: whichever thread touches a page first faults it in, and
  the read only ever finds a page mapped sooner. ctypes releases the GIL for the call, so the
  zeroing runs on another core while this one copies. That only pays when a core is idle:
  with every core busy the two threads take turns, and the pair cost ~5 ms (10%) more CPU
  than letting the read fault the pages (measured on 2 busy cores: 0.84x np.load with the
  helper, 0.89x without). So the helper runs only when the 1-minute load average leaves a
  core spare, and never off Linux or on a kernel older than 5.14 (the call fails there and
  the read faults the pages itself).
- This thread hashes each chunk right after reading it, while the chunk is still in cache.
  python-xxhash's XXH3 (which calls libxxhash's generic entry points) measured 5-19 GB/s on
  a cached MiB here and holds the GIL; the system libxxhash it links to also exports
  XXH3_64bits_update_dispatch, which picks AVX2/AVX-512 at run time (37-45 GB/s on the same
  MiB) and, called through ctypes, releases the GIL. It is used when present and proven equal
  to python-xxhash at first use; otherwise python-xxhash hashes the chunks.
  (A separate hashing thread holding the GIL cost more in GIL handoffs with the reading
  thread, up to the 5 ms switch interval each, than the hashing it overlapped.)

The digests are only hints keyed by (payload offset, size): the decoder still checks every
rule itself and uses a digest only for the exact span it was taken over. A file whose records
do not walk cleanly just stops the hinting; the decoder hashes the rest.
"""

import mmap
import os
import platform
import struct
import sys
import threading

import xxhash

from . import format as F

CHUNK = 1 << 20  # stays in the 2 MiB L2 between the read and the hash

# Linux 5.14, the same value on every architecture (asm-generic); not in Python's mmap module.
MADV_POPULATE_WRITE = 23
_LINUX = sys.platform.startswith("linux") and platform.machine() in ("x86_64", "aarch64")
_native = {}  # "madvise", "xxh3": the ctypes functions, or None; looked up at first use


def _ctypes_madvise():
    """libc's madvise through ctypes (which releases the GIL for the call), or None."""
    if "madvise" not in _native:
        _native["madvise"] = None
        if _LINUX:
            try:
                import ctypes
                fn = ctypes.CDLL(None, use_errno=True).madvise
                fn.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
                fn.restype = ctypes.c_int
                _native["madvise"] = fn
            except (OSError, AttributeError):
                pass
    return _native["madvise"]


def _populate(address, size):
    """Fault in the whole pages of [address, address + size); a failure only costs speed."""
    fn = _ctypes_madvise()
    start = -address % mmap.PAGESIZE
    length = (size - start) // mmap.PAGESIZE * mmap.PAGESIZE
    if fn is not None and length > 0:
        fn(address + start, length, MADV_POPULATE_WRITE)


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
        if _LINUX:
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


def _spare_core():
    """Whether some core is likely idle (see the module docstring)."""
    try:
        return os.getloadavg()[0] < len(os.sched_getaffinity(0)) - 0.5
    except (OSError, AttributeError):
        return False


def read_and_hash(f, view, address, verify=True):
    """Fill `view` (the memory at `address`) from `f`; return (bytes read, the payload
    digests when `verify`, else None)."""
    populate = None
    if _LINUX and _spare_core():
        populate = threading.Thread(target=_populate, args=(address, len(view)), daemon=True)
        populate.start()
    digests, got, size = ({} if verify else None), 0, len(view)
    walk = _hash_records(view, _Hasher(view, address), digests) if verify else iter(())
    need = next(walk, None)
    chunk = CHUNK if verify else size  # nothing to hash: one read, as few syscalls as can be
    try:
        while got < size:
            n = f.readinto(view[got:min(size, got + chunk)])
            if not n:
                break
            got += n
            while need is not None and need <= got:
                need = next(walk, None)
    finally:
        if populate is not None:
            populate.join()
    return got, digests
