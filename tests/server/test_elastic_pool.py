"""ElasticThreadPool: runs work like ThreadPoolExecutor, and a burst's threads exit once idle."""

import threading
import time

import pytest

from model_server.elastic_pool import ElasticThreadPool


def wait_until(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_results_exceptions_and_cancel():
    pool = ElasticThreadPool(2, idle_seconds=5)
    try:
        assert pool.submit(lambda a, b=0: a + b, 2, b=3).result(timeout=5) == 5
        with pytest.raises(ZeroDivisionError):
            pool.submit(lambda: 1 / 0).result(timeout=5)
        release = threading.Event()
        busy = [pool.submit(release.wait, 5) for _ in range(2)]
        queued = pool.submit(lambda: "ran")
        assert queued.cancel()  # both workers busy: it waits in the queue and can be cancelled
        release.set()
        assert [f.result(timeout=5) for f in busy] == [True, True]
    finally:
        pool.shutdown()
    with pytest.raises(RuntimeError):
        pool.submit(print)


def test_burst_threads_exit_when_idle_and_come_back():
    pool = ElasticThreadPool(64, thread_name_prefix="burst", idle_seconds=0.3)
    try:
        before = threading.active_count()
        release = threading.Event()
        started = threading.Semaphore(0)

        def hold():
            started.release()
            release.wait(10)

        for _ in range(2):  # two bursts: threads are started again after they exited
            futures = [pool.submit(hold) for _ in range(64)]
            for _ in range(64):
                assert started.acquire(timeout=10)  # all 64 run at once
            assert pool.thread_count == 64
            release.set()
            for future in futures:
                future.result(timeout=10)
            wait_until(lambda: pool.thread_count == 0)
            wait_until(lambda: threading.active_count() <= before)
            release.clear()
    finally:
        pool.shutdown()


def test_shutdown_waits_for_running_work():
    pool = ElasticThreadPool(4, idle_seconds=60)
    done = []
    pool.submit(lambda: (time.sleep(0.2), done.append(1)))
    pool.shutdown(wait=True)
    assert done == [1] and pool.thread_count == 0
