"""A thread pool whose idle threads exit, so a burst's threads do not stay for good.

`concurrent.futures.ThreadPoolExecutor` starts a thread per submit up to
max_workers and keeps every one until shutdown: 64 parallel reloads (each holds
a gRPC worker while it waits) left the server with 64 more threads forever.
Here a worker that waited `idle_seconds` for work exits; the next burst starts
threads again. The gRPC server, the REST worker pool, the gunzip threads and
the loader use it.
"""

import collections
import itertools
import threading
from concurrent import futures

IDLE_SECONDS = 10.0


class ElasticThreadPool(futures.Executor):
    def __init__(self, max_workers, thread_name_prefix="pool", idle_seconds=IDLE_SECONDS):
        if max_workers <= 0:
            raise ValueError("max_workers must be greater than 0")
        self._max_workers = max_workers
        self._prefix = thread_name_prefix
        self._idle_seconds = idle_seconds
        self._cond = threading.Condition()
        self._items = collections.deque()
        self._threads = set()
        self._idle = 0  # workers waiting for work
        self._names = itertools.count()
        self._shutdown = False

    def submit(self, fn, *args, **kwargs):
        future = futures.Future()
        with self._cond:
            if self._shutdown:
                raise RuntimeError("cannot schedule new futures after shutdown")
            self._items.append((future, fn, args, kwargs))
            if self._idle < len(self._items) and len(self._threads) < self._max_workers:
                thread = threading.Thread(target=self._work, daemon=True,
                                          name="%s_%d" % (self._prefix, next(self._names)))
                self._threads.add(thread)
                thread.start()
            else:
                self._cond.notify()
        return future

    def _work(self):
        me = threading.current_thread()
        with self._cond:
            while True:
                if not self._items:
                    if self._shutdown:
                        break
                    self._idle += 1
                    self._cond.wait(self._idle_seconds)
                    self._idle -= 1
                    if not self._items and not self._shutdown:
                        break  # nothing came for idle_seconds (or another worker took it): exit
                    continue
                future, fn, args, kwargs = self._items.popleft()
                self._cond.release()
                try:
                    _run(future, fn, args, kwargs)
                finally:
                    del future, fn, args, kwargs  # drop the request before waiting for the next
                    self._cond.acquire()
            self._threads.discard(me)

    @property
    def thread_count(self):
        with self._cond:
            return len(self._threads)

    def shutdown(self, wait=True):
        with self._cond:
            self._shutdown = True
            self._cond.notify_all()
            threads = list(self._threads)
        if wait:
            for thread in threads:
                thread.join()


def _run(future, fn, args, kwargs):
    if not future.set_running_or_notify_cancel():
        return
    try:
        result = fn(*args, **kwargs)
    except BaseException as exc:  # noqa: BLE001  the future carries it, as ThreadPoolExecutor's
        future.set_exception(exc)
        future = None  # exc's traceback holds this frame: no cycle keeping the work's arguments alive
    else:
        future.set_result(result)
