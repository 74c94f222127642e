"""Reading a file while hashing its tensor payloads, so a verified load costs about a read.

xxhash holds the GIL while it hashes, but `readinto` releases it during the copy from the
page cache: one thread reads the file in chunks while the caller walks the records that have
arrived and hashes each tensor payload in chunk-sized pieces (letting the reader thread run
between pieces). The digests are only hints keyed by (payload offset, size): the decoder
still checks every rule itself and uses a digest only for the exact span it was taken over.
A file whose records do not walk cleanly just stops the hinting; the decoder hashes the rest.
"""

import struct
import threading

import xxhash

from . import format as F

CHUNK = 1 << 20  # small enough to stay in cache between the read and the hash


class _Progress:
    """How many bytes the reader thread has placed in the buffer, and whether it stopped."""

    def __init__(self):
        self.got, self.done, self.error = 0, False, None
        self.cond = threading.Condition()

    def advance(self, got):
        with self.cond:
            self.got = got
            self.cond.notify()

    def finish(self, error=None):
        with self.cond:
            self.done, self.error = True, error
            self.cond.notify()

    def wait_for(self, n):
        """True once n bytes are in, False when the reader stopped short of them."""
        with self.cond:
            while self.got < n and not self.done:
                self.cond.wait()
            return self.got >= n


def _fill(f, view, progress):
    got, size = 0, len(view)
    try:
        while got < size:
            n = f.readinto(view[got:min(size, got + CHUNK)])
            if not n:
                break
            got += n
            progress.advance(got)
        progress.finish()
    except BaseException as err:  # re-raised by the caller's thread
        progress.finish(err)


def _hash_span(view, start, end, progress):
    """XXH3-64 of view[start:end], piece by piece as the bytes arrive; None if they never do."""
    h = xxhash.xxh3_64()
    at = start
    while at < end:
        stop = min(end, at + CHUNK)
        if not progress.wait_for(stop):
            return None
        h.update(view[at:stop])
        at = stop
    return h.intdigest()


def _hash_records(view, progress):
    """Walk tensor records from offset 64 as they arrive; {(payload offset, P): digest}."""
    digests, at, end = {}, F.HEADER_SIZE, len(view) - F.TRAILER_SIZE
    while at + F.RECORD_PREFIX <= end and progress.wait_for(at + F.RECORD_PREFIX):
        kind, _, h, p = struct.unpack_from("<IHHQ", view, at)
        if h < 64 or h % F.ALIGN or h > F.MAX_RECORD_HEADER or p > end - at - h:
            break
        if kind == F.KIND_INDEX:
            break
        if kind == F.KIND_TENSOR:
            digest = _hash_span(view, at + h, at + h + p, progress)
            if digest is None:
                break
            digests[(at + h, p)] = digest
        at += h + p + F.pad64(p)
    return digests


def read_and_hash(f, view):
    """Fill `view` from `f` (returns the bytes read) and hash the tensor payloads meanwhile."""
    progress = _Progress()
    thread = threading.Thread(target=_fill, args=(f, view, progress), daemon=True)
    thread.start()
    try:
        digests = _hash_records(view, progress)
    finally:
        thread.join()
    if progress.error is not None:
        raise progress.error
    return progress.got, digests
