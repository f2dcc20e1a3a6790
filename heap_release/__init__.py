"""Give the heap memory of large requests back to the OS once they end (glibc; a no-op elsewhere).

glibc keeps what a process frees in its heaps: a heap's free top goes back to
the OS only when it is larger than the trim threshold, free chunks below the
top only through `malloc_trim`, and both thresholds climb by themselves (up to
32 and 64 MiB) the first time a large mmapped block is freed. A process that
parsed a few large bodies therefore keeps their peak as RSS with every object
freed. This module pins the thresholds (`set_thresholds`), maps large blocks
on their own while large requests are in flight (`LargeBodies`) and trims
after them (`Trimmer`). Dependency-free: the local model server
(`model_server/memory.py`) and the text gateway (`text_gateway/app.py`) share it.
"""

import ctypes
import ctypes.util
import threading
import time

MiB = 1024 * 1024
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # malloc.h
_MIN_TRIM_INTERVAL_SECONDS = 1.0


def _libc_function(name):
    """A glibc function (malloc_trim, mallopt), or None off glibc (musl, macOS)."""
    library = ctypes.util.find_library("c")
    try:
        return getattr(ctypes.CDLL(library), name) if library else None
    except (OSError, AttributeError):
        return None


_TRIM = _libc_function("malloc_trim")
_MALLOPT = _libc_function("mallopt")


def trim():
    """Return the free pages of every heap to the OS now (`malloc_trim(0)`)."""
    if _TRIM is not None:
        _TRIM(0)


def _mallopt(option, value):
    if _MALLOPT is not None:
        _MALLOPT(option, value)


def set_thresholds(mmap_bytes, trim_bytes):
    """Fix glibc's mmap threshold (blocks this large get mappings of their own, unmapped when freed) and
    trim threshold (a heap's free top larger than this goes back to the OS at once). Fixing either stops
    glibc from raising both: a thread's heap, which `malloc_trim` does not shrink, then stays small too."""
    _mallopt(_M_MMAP_THRESHOLD, mmap_bytes)
    _mallopt(_M_TRIM_THRESHOLD, trim_bytes)


class LargeBodies(object):
    """Memory of requests with large bodies goes back to the OS when they end.

    While such a request is in flight the mmap threshold is `burst_mmap_threshold`,
    so its big blocks are unmapped when freed; after the last one it is back at
    `steady_mmap_threshold`, and the heaps are trimmed. (The model server keeps a
    high steady value: pinning a low one for good made TF runs slower, every large
    tensor a fresh, page-faulted mapping.)
    """

    def __init__(self, burst_mmap_threshold, steady_mmap_threshold):
        self._lock = threading.Lock()
        self._in_flight = 0
        self._burst = burst_mmap_threshold
        self._steady = steady_mmap_threshold
        self.trimmer = Trimmer()

    def started(self):
        with self._lock:
            self._in_flight += 1
            if self._in_flight == 1:
                _mallopt(_M_MMAP_THRESHOLD, self._burst)

    def ended(self):
        with self._lock:
            self._in_flight -= 1
            if self._in_flight == 0:
                _mallopt(_M_MMAP_THRESHOLD, self._steady)
        self.trimmer.after_large_request()


class Trimmer(object):
    """Returns free heap pages to the OS after large requests, on a thread of its own.

    At most one `malloc_trim` a second, and always one after the last large
    request of a burst (a request ending within a second of a trim gets a
    later one, not none).
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._dirty = False  # a large request ended since the last trim started
        self._running = False
        self._last = 0.0
        self.trims = 0

    def after_large_request(self):
        if _TRIM is None:
            return
        with self._lock:
            self._dirty = True
            if self._running:
                return
            self._running = True
        threading.Thread(target=self._run, name="malloc-trim", daemon=True).start()

    def _run(self):
        while True:
            wait = self._last + _MIN_TRIM_INTERVAL_SECONDS - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            with self._lock:
                if not self._dirty:
                    self._running = False
                    return
                self._dirty = False
            trim()
            self._last = time.monotonic()
            self.trims += 1
