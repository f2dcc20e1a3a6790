"""The offline-limit helpers of bench/serving.py: (d@N)'s runs and whole-pass timing (no model)."""

import collections
import threading

import pytest

import bench_modules  # tests/helpers
from model_server.batcher import length_runs

serving = bench_modules.load("serving")

Encoded = collections.namedtuple("Encoded", "input_ids")


def texts(lengths):
    return [Encoded(list(range(n))) for n in lengths]


def test_window_runs_cut_each_window_as_the_server_cuts_its_queue():
    encoded = texts([3, 40, 7, 7, 12, 90, 5, 33, 8, 21, 64, 9, 2, 18])
    runs = serving.window_runs(encoded, window=5, max_batch_size=3, run_cost_tokens=8)
    flat = [text for run in runs for text in run]
    assert sorted(map(id, flat)) == sorted(map(id, encoded))  # every text once
    assert all(len(run) <= 3 for run in runs)
    assert runs == serving.window_runs(encoded, window=5, max_batch_size=3, run_cost_tokens=8)  # fixed order
    # Runs never mix windows, and within a window they are the server's own cut.
    windows, seen = [], 0
    for run in runs:
        if seen % 5 == 0:
            windows.append([])
        windows[-1].append(run)
        seen += len(run)
    for cut in windows:
        queued = [serving._Queued(text) for run in cut for text in run]
        assert [[q.encoded for q in run] for run in length_runs(queued, 3, 8)] == cut


def test_a_whole_window_is_one_run_when_padding_is_free():
    encoded = texts([5, 9, 30, 2])
    runs = serving.window_runs(encoded, window=4, max_batch_size=32, run_cost_tokens=10 ** 6)
    assert len(runs) == 1 and sorted(len(t.input_ids) for t in runs[0]) == [2, 5, 9, 30]


def test_rate_runs_whole_passes_over_the_batches():
    batches = [{"label_ids": [0] * rows} for rows in (3, 1, 2)]
    calls, lock = [], threading.Lock()

    def run(batch):
        with lock:
            calls.append(batch)

    rate = serving._rate(run, batches, callers=2, seconds=0)
    assert len(calls) == 3 and all(any(b is c for c in calls) for b in batches)  # one pass, each batch once
    assert rate > 0
    calls.clear()
    serving._rate(run, batches, callers=1, seconds=0.05)
    assert len(calls) % 3 == 0 and len(calls) >= 3  # stops only between passes


def test_cpu_seconds_of_a_live_process_and_its_main_thread():
    import os
    import sys

    if not sys.platform.startswith("linux"):
        pytest.skip("/proc is Linux's")
    total, main = serving.cpu_seconds(os.getpid())
    sum(i * i for i in range(200000))  # burn some CPU on this (main) thread
    total_after, main_after = serving.cpu_seconds(os.getpid())
    assert 0 <= main <= total and main_after >= main and total_after >= total
    assert serving.cpu_seconds(2 ** 22 + 12345) is None  # no such process
