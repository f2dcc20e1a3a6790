"""heap_release: a worker thread's freed heap goes back to the OS once the thresholds are pinned; trims are
rate-limited and never skip the last large request; big blocks are mapped on their own only while large
bodies are in flight. Runs under the server's Python 3.7 and the gateway's 3.11."""

import os
import platform
import subprocess
import sys
import threading
import time

import pytest

import heap_release

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# A process that parsed a large body, then a worker thread's garbage: RSS kept (MiB) after malloc_trim.
WORKER_GARBAGE = r"""
import sys, threading
import heap_release
MiB = heap_release.MiB
def rss_mib():
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:")) / 1024.0
if sys.argv[1] == "pinned":
    heap_release.set_thresholds(128 * 1024, 128 * 1024)
large = bytearray(16 * MiB)  # mapped on its own; freeing it raises glibc's thresholds to 16 (mmap) and 32 MiB (trim)
del large
before = rss_mib()
def parse():  # 24 MiB of 64 KiB blocks in the thread's own heap, all freed
    blocks = [bytearray(64 * 1024) for _ in range(384)]
    del blocks
worker = threading.Thread(target=parse)
worker.start()
worker.join()
heap_release.trim()
print(rss_mib() - before)
"""


def kept_mib(mode):
    result = subprocess.run([sys.executable, "-c", WORKER_GARBAGE, mode], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, universal_newlines=True, timeout=60, cwd=REPO,
                            env=dict(os.environ, PYTHONPATH=REPO))
    assert result.returncode == 0, result.stderr
    return float(result.stdout)


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc" or not sys.platform.startswith("linux"), reason="glibc only")
def test_a_threads_freed_heap_goes_back_only_with_pinned_thresholds():
    # glibc's own behaviour, which the gateway's RSS after 1 MB texts showed: malloc_trim does not shrink
    # a thread's heap, and that heap keeps a free top below the (climbed) trim threshold.
    assert kept_mib("dynamic") > 16
    assert kept_mib("pinned") < 4


def test_trims_after_large_requests_at_most_once_a_second_and_after_the_last(monkeypatch):
    calls = []
    done = threading.Event()
    monkeypatch.setattr(heap_release, "_TRIM", lambda pad: calls.append(time.monotonic()) or done.set())
    trimmer = heap_release.Trimmer()
    for _ in range(5):  # a burst: one trim
        trimmer.after_large_request()
    assert done.wait(10)
    done.clear()
    trimmer.after_large_request()  # within the second after it: trimmed later, not skipped
    assert done.wait(10)
    deadline = time.monotonic() + 10
    while trimmer._running and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(calls) in (2, 3), calls  # 3 when the thread's first trim beat the rest of the burst
    assert all(later - earlier >= 0.95 for earlier, later in zip(calls, calls[1:])), calls


def test_large_bodies_map_big_blocks_on_their_own_only_while_in_flight(monkeypatch):
    calls = []
    monkeypatch.setattr(heap_release, "_mallopt", lambda option, value: calls.append((option, value)))
    large = heap_release.LargeBodies(1 << 20, 32 << 20)
    trims = []
    monkeypatch.setattr(large.trimmer, "after_large_request", lambda: trims.append(1))
    large.started()
    large.started()
    large.ended()
    assert calls == [(heap_release._M_MMAP_THRESHOLD, 1 << 20)]  # one still in flight
    large.ended()
    assert calls[-1] == (heap_release._M_MMAP_THRESHOLD, 32 << 20) and len(calls) == 2
    assert len(trims) == 2
