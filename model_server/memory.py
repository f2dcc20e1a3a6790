"""Give memory freed by an unloaded version back to the OS.

A TF session's graph, variables and kernels are freed into glibc's heaps
when the session closes, but glibc keeps the freed pages (one arena per
thread that allocated, and the load, batch and run threads all do), so a
server swapping versions grew ~20 MiB per swap and never shrank.
`malloc_trim` returns the free pages of every arena; measured on the MiniLM
export, eight load/run/close cycles then stay at the first one's RSS
(255-260 MiB) instead of creeping to ~385 MiB.
"""

import ctypes
import ctypes.util
import gc
import logging

log = logging.getLogger(__name__)


def _malloc_trim():
    """libc's malloc_trim, or None off glibc (musl, macOS): then only gc runs."""
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):
        return None


_TRIM = _malloc_trim()


def release_freed_memory():
    """Collect Python cycles holding TF objects, then return free heap pages to the OS."""
    gc.collect()
    if _TRIM is not None:
        _TRIM(0)
