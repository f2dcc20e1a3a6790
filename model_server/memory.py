"""Give memory freed by an unloaded version back to the OS.

A TF session's graph, variables and kernels are freed into glibc's heaps
when the session closes, but glibc keeps the freed pages (one arena per
thread that allocated, and the load, batch and run threads all do), so a
server swapping versions grew ~20 MiB per swap and never shrank.
`malloc_trim` returns the free pages of every arena; measured on the MiniLM
export, eight load/run/close cycles then stay at the first one's RSS
(255-260 MiB) instead of creeping to ~385 MiB. Large request bodies leave
the same kind of freed pages: the server pins glibc's mmap threshold and
trims after them (`pin_mmap_threshold`, `Trimmer`).
"""

import ctypes
import ctypes.util
import gc
import logging
import threading
import time

log = logging.getLogger(__name__)


def _libc_function(name):
    """A glibc function (malloc_trim, mallopt), or None off glibc (musl, macOS)."""
    library = ctypes.util.find_library("c")
    try:
        return getattr(ctypes.CDLL(library), name) if library else None
    except (OSError, AttributeError):
        return None


_TRIM = _libc_function("malloc_trim")
_MALLOPT = _libc_function("mallopt")
_M_MMAP_THRESHOLD = -3  # malloc.h
MMAP_THRESHOLD_BYTES = 1024 * 1024
TRIM_AFTER_BODY_BYTES = 4 * 1024 * 1024  # a request body this large leaves heap pages to give back
_MIN_TRIM_INTERVAL_SECONDS = 1.0


def release_freed_memory():
    """Collect Python cycles holding TF objects, then return free heap pages to the OS."""
    gc.collect()
    if _TRIM is not None:
        _TRIM(0)


def pin_mmap_threshold(size=MMAP_THRESHOLD_BYTES):
    """Serve every allocation of `size` bytes or more by a mapping of its own, unmapped when freed.

    glibc's threshold starts at 128 KiB but rises to the largest mapped block
    freed (up to 32 MiB): after one hostile 40 MB body, the next bodies' lists,
    bytes and arrays of up to 32 MiB come from the heaps, whose pages stay
    mapped after they are freed (RSS 433 -> 646 MiB after a hostile phase, and
    it stayed). Pinning it (which also stops glibc moving the trim threshold)
    returns them at once.
    """
    if _MALLOPT is not None:
        _MALLOPT(_M_MMAP_THRESHOLD, size)


class Trimmer(object):
    """Returns free heap pages to the OS after large requests: at most once a second, off the caller's thread."""

    def __init__(self):
        self._lock = threading.Lock()
        self._pending = False
        self._last = 0.0

    def after_large_request(self, executor):
        """Schedule one malloc_trim on `executor` unless one is pending or ran within the last second."""
        if _TRIM is None:
            return
        with self._lock:
            if self._pending or time.monotonic() - self._last < _MIN_TRIM_INTERVAL_SECONDS:
                return
            self._pending = True
        executor.submit(self._trim)

    def _trim(self):
        try:
            _TRIM(0)
        finally:
            with self._lock:
                self._pending, self._last = False, time.monotonic()
