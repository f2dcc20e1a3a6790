"""Give memory freed by an unloaded version back to the OS.

A TF session's graph, variables and kernels are freed into glibc's heaps
when the session closes, but glibc keeps the freed pages (one arena per
thread that allocated, and the load, batch and run threads all do), so a
server swapping versions grew ~20 MiB per swap and never shrank.
`malloc_trim` returns the free pages of every arena; measured on the MiniLM
export, eight load/run/close cycles then stay at the first one's RSS
(255-260 MiB) instead of creeping to ~385 MiB. Large request bodies leave
the same kind of freed pages (`LargeBodies`).
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
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # malloc.h
MiB = 1024 * 1024
LARGE_BODY_BYTES = 4 * MiB  # a request body this large is parsed into far more, and leaves heap pages behind
# Where glibc's dynamic thresholds settle once a process has freed large blocks (mmap: the largest
# freed, up to 32 MiB; trim: twice that). Fixed there, TF's tensors are served from the heaps as
# before; while a large body is in flight, blocks of 1 MiB or more get mappings of their own.
STEADY_MMAP_THRESHOLD, STEADY_TRIM_THRESHOLD, BURST_MMAP_THRESHOLD = 32 * MiB, 64 * MiB, 1 * MiB
_MIN_TRIM_INTERVAL_SECONDS = 1.0


def release_freed_memory():
    """Collect Python cycles holding TF objects, then return free heap pages to the OS."""
    gc.collect()
    if _TRIM is not None:
        _TRIM(0)


def _mallopt(option, value):
    if _MALLOPT is not None:
        _MALLOPT(option, value)


def steady_thresholds():
    """Fix glibc's mmap and trim thresholds where its dynamic ones settle (see LargeBodies)."""
    _mallopt(_M_MMAP_THRESHOLD, STEADY_MMAP_THRESHOLD)
    _mallopt(_M_TRIM_THRESHOLD, STEADY_TRIM_THRESHOLD)


class LargeBodies(object):
    """Memory of requests with large bodies goes back to the OS when they end.

    A 40 MB JSON body parses into ~1.2 GiB of lists and arrays, most of it in
    blocks of 1-32 MiB that glibc serves from its heaps, whose pages stay
    mapped after they are freed (RSS 256 -> 300 MiB after a hostile phase,
    with every object freed). While such a request is in flight the mmap
    threshold is 1 MiB, so those blocks are unmapped when freed; after the
    last one it is back at its steady value (pinning 1 MiB for good made TF
    runs with 12 MB activations 16-60 % slower: every such tensor a fresh,
    page-faulted mapping), and the heaps are trimmed.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._in_flight = 0
        self.trimmer = Trimmer()

    def started(self):
        with self._lock:
            self._in_flight += 1
            if self._in_flight == 1:
                _mallopt(_M_MMAP_THRESHOLD, BURST_MMAP_THRESHOLD)

    def ended(self):
        with self._lock:
            self._in_flight -= 1
            if self._in_flight == 0:
                _mallopt(_M_MMAP_THRESHOLD, STEADY_MMAP_THRESHOLD)
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
            _TRIM(0)
            self._last = time.monotonic()
            self.trims += 1
