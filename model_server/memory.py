"""Give memory freed by an unloaded version or a large request back to the OS: the server's settings.

A TF session's graph, variables and kernels are freed into glibc's heaps
when the session closes, but glibc keeps the freed pages (one arena per
thread that allocated, and the load, batch and run threads all do), so a
server swapping versions grew ~20 MiB per swap and never shrank.
`malloc_trim` returns the free pages of every arena; measured on the MiniLM
export, eight load/run/close cycles then stay at the first one's RSS
(255-260 MiB) instead of creeping to ~385 MiB. Large request bodies leave
the same kind of freed pages (`large_bodies`). The glibc side is
`heap_release`'s, which the text gateway shares.
"""

import gc

import heap_release

MiB = heap_release.MiB
LARGE_BODY_BYTES = 4 * MiB  # a request body this large is parsed into far more, and leaves heap pages behind
# Where glibc's dynamic thresholds settle once a process has freed large blocks (mmap: the largest
# freed, up to 32 MiB; trim: twice that). Fixed there, TF's tensors are served from the heaps as
# before; while a large body is in flight, blocks of 1 MiB or more get mappings of their own.
STEADY_MMAP_THRESHOLD, STEADY_TRIM_THRESHOLD, BURST_MMAP_THRESHOLD = 32 * MiB, 64 * MiB, 1 * MiB


def release_freed_memory():
    """Collect Python cycles holding TF objects, then return free heap pages to the OS."""
    gc.collect()
    heap_release.trim()


def steady_thresholds():
    """Fix glibc's mmap and trim thresholds where its dynamic ones settle (see large_bodies)."""
    heap_release.set_thresholds(STEADY_MMAP_THRESHOLD, STEADY_TRIM_THRESHOLD)


def large_bodies():
    """The server's `heap_release.LargeBodies`.

    A 40 MB JSON body parses into ~1.2 GiB of lists and arrays, most of it in
    blocks of 1-32 MiB that glibc serves from its heaps, whose pages stay
    mapped after they are freed (RSS 256 -> 300 MiB after a hostile phase,
    with every object freed). While such a request is in flight blocks of
    1 MiB or more are mapped on their own; after the last one the threshold
    is back at its steady value (pinning 1 MiB for good made TF runs with
    12 MB activations 16-60 % slower) and the heaps are trimmed.
    """
    return heap_release.LargeBodies(BURST_MMAP_THRESHOLD, STEADY_MMAP_THRESHOLD)
