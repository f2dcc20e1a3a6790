"""Dynamic batching of concurrent runs, after TFS's BasicBatchScheduler + BatchingSession.

Tasks (one request's inputs) join the open batch of their *group*; a batch is
handed to a batch thread when full, or once `batch_timeout_micros` passed since
it opened and a thread is free (timeout 0: as soon as a thread is free, so
batches grow while threads are busy). One session run per batch; outputs are
split back to the tasks in order.

Groups keep incompatible tasks apart instead of failing the whole batch: same
signature/outputs and, without padding, equal non-batch dimensions. With
`pad_variable_length_inputs`, inputs are padded (with each tensor's first
element, as TFS does) to the longest in the batch. Length-aware batching keeps
short requests from being padded to a long one's length: `length_buckets`
groups tasks by the bucket of their longest dimension; `length_runs` (auto)
lets a free thread sort the batch it takes by length and run only the tasks
near its oldest one, leaving the rest queued for the next thread.
"""

import bisect
import collections
import logging
import threading
import time
from concurrent.futures import Future

import numpy as np

from model_server.errors import ServingError, from_exception, invalid_argument

log = logging.getLogger(__name__)

# Codes of a merged run that one request's content can cause: the run is repeated apart.
REQUEST_FAULTS = frozenset(["INVALID_ARGUMENT", "OUT_OF_RANGE"])
# Codes whose text is about the run, not about any request's data: every task gets it as is.
SHARED_FAULTS = frozenset(["DEADLINE_EXCEEDED", "CANCELLED", "UNAVAILABLE", "RESOURCE_EXHAUSTED",
                           "FAILED_PRECONDITION"])


class _Task(object):
    __slots__ = ("signature_name", "inputs", "output_aliases", "size", "length", "future", "enqueued",
                 "deadline")

    def __init__(self, signature_name, inputs, output_aliases, size, deadline):
        self.signature_name = signature_name
        self.inputs = inputs
        self.output_aliases = output_aliases
        self.size = size
        self.length = max([max(a.shape[1:], default=0) for a in inputs.values()])
        self.future = Future()
        self.enqueued = time.monotonic()
        self.deadline = deadline


class _Batch(object):
    __slots__ = ("key", "tasks", "size", "opened", "closed")

    def __init__(self, key, tasks=()):
        self.key = key
        self.tasks = list(tasks)
        self.size = sum(task.size for task in self.tasks)
        self.opened = time.monotonic()
        self.closed = False


def task_size(inputs):
    """The shared 0th dimension of a request's inputs (TFS: ComputeTensorBatchSize)."""
    if not inputs:
        raise invalid_argument("Batching Run() must have at least one input tensor")
    sizes = set()
    for array in inputs.values():
        if array.ndim == 0:
            raise invalid_argument("Batching Run() input tensors must have at least one dimension")
        sizes.add(array.shape[0])
    if len(sizes) != 1:
        raise invalid_argument("Batching Run() input tensors must have equal 0th-dimension size")
    return sizes.pop()


def pad_to(array, dims):
    """Pad every non-batch dimension up to `dims` with the tensor's first element."""
    if array.shape[1:] == tuple(dims):
        return array
    fill = array.flat[0] if array.size else np.zeros((), array.dtype)
    padded = np.full((array.shape[0],) + tuple(dims), fill, dtype=array.dtype)
    padded[tuple(slice(0, n) for n in array.shape)] = array
    return padded


def length_runs(tasks, max_batch_size, run_cost_tokens):
    """Cut tasks, sorted by length, into runs (lists of tasks).

    A task joins the run before it unless that would exceed max_batch_size rows
    or add more padding (the run's rows x the extra length) than
    `run_cost_tokens`, the padding one more session run is worth.
    """
    runs, rows, longest = [], 0, 0
    for task in sorted(tasks, key=lambda t: t.length):
        if runs and rows + task.size <= max_batch_size and rows * (task.length - longest) <= run_cost_tokens:
            runs[-1].append(task)
            rows += task.size
        else:
            runs.append([task])
            rows = task.size
        longest = task.length
    return runs


class Batcher(object):
    """Batches `submit` calls of one servable and runs them with `run_fn`.

    run_fn(signature_name, inputs, output_aliases, deadline) -> {alias: ndarray}
    on_batch(batch_size, padding) is called for every processed batch (metrics).
    """

    def __init__(self, run_fn, options, on_batch=None, name="batch"):
        self._run_fn = run_fn
        self._options = options
        self._on_batch = on_batch or (lambda size, padding: None)
        self._cond = threading.Condition()
        self._queue = collections.deque()  # batches not yet taken by a thread, oldest first
        self._open = {}  # group key -> open batch
        self._stopping = False
        self._threads = [threading.Thread(target=self._work, name="%s-%d" % (name, i), daemon=True)
                         for i in range(options.num_batch_threads)]
        for thread in self._threads:
            thread.start()

    # ------------------------------------------------------------ enqueue side

    def submit(self, signature_name, inputs, output_aliases, deadline=None):
        """Queue one request; returns a Future of {alias: ndarray}."""
        size = task_size(inputs)
        limit = self._options.max_batch_size
        if size > limit:
            raise invalid_argument("Task size %d is larger than maximum input batch size %d" % (size, limit))
        task = _Task(signature_name, inputs, tuple(output_aliases), size, deadline)
        key = self._group_key(task)
        with self._cond:
            if self._stopping:
                raise ServingError("UNAVAILABLE", "The model version is unloading; retry the request")
            batch = self._open.get(key)
            if batch is None or batch.size + size > limit:
                if batch is not None:
                    self._close(batch)
                if len(self._queue) >= self._options.max_enqueued_batches:
                    raise ServingError("UNAVAILABLE",
                                       "The batch scheduling queue to which this task was submitted is full")
                batch = _Batch(key)
                self._queue.append(batch)
                self._open[key] = batch
            batch.tasks.append(task)
            batch.size += size
            if batch.size >= limit:
                self._close(batch)
            self._cond.notify()
        return task.future

    def _close(self, batch):
        batch.closed = True
        if self._open.get(batch.key) is batch:
            del self._open[batch.key]

    def _group_key(self, task):
        inputs = task.inputs
        if self._options.pad_variable_length_inputs:
            shapes = tuple((alias, inputs[alias].ndim, inputs[alias].dtype.str) for alias in sorted(inputs))
            buckets = self._options.length_buckets
            bucket = bisect.bisect_left(buckets, task.length) if buckets else 0
            return (task.signature_name, task.output_aliases, shapes, bucket)
        shapes = tuple((alias, inputs[alias].shape[1:], inputs[alias].dtype.str) for alias in sorted(inputs))
        return (task.signature_name, task.output_aliases, shapes)

    # ------------------------------------------------------------ batch threads

    def _next_batch(self):
        timeout = self._options.batch_timeout_micros / 1e6
        with self._cond:
            while True:
                now = time.monotonic()
                wait = None
                for batch in self._queue:
                    if batch.closed or self._stopping or now - batch.opened >= timeout:
                        if self._options.length_runs and len(batch.tasks) > 1:
                            run = self._cut_run(batch)
                            if run is not None:
                                self._cond.notify()  # the rest is ready for another thread
                                return run
                        self._queue.remove(batch)
                        self._close(batch)
                        return batch
                    left = batch.opened + timeout - now
                    wait = left if wait is None else min(wait, left)
                if self._stopping:
                    return None
                self._cond.wait(wait)

    def _cut_run(self, batch):
        """--batching_length_buckets=auto: the run holding the batch's oldest task, or None for all of it.

        The rest stays queued (and open to new requests) for the next free thread.
        """
        runs = length_runs(batch.tasks, self._options.max_batch_size, self._options.run_cost_tokens)
        if len(runs) == 1:
            return None
        oldest = batch.tasks[0]
        run = next(run for run in runs if oldest in run)
        taken = set(map(id, run))
        batch.tasks = [task for task in batch.tasks if id(task) not in taken]
        batch.size = sum(task.size for task in batch.tasks)
        cut = _Batch(batch.key, run)
        cut.closed = True
        return cut

    def _work(self):
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            self._process(batch)

    def _process(self, batch):
        tasks = [task for task in batch.tasks if task.future.set_running_or_notify_cancel()]
        now = time.monotonic()
        expired = [task for task in tasks if task.deadline is not None and task.deadline <= now]
        for task in expired:
            task.future.set_exception(ServingError(
                "DEADLINE_EXCEEDED", "Run() timeout exceeded while waiting in batching queue"))
        tasks = [task for task in tasks if not task.future.done()]
        if not tasks:
            return
        # The batch runs until the latest deadline of its tasks (none if one has none).
        deadlines = [task.deadline for task in tasks]
        self._run_apart_on_fault(tasks, None if None in deadlines else max(deadlines))

    def _run_apart_on_fault(self, tasks, deadline):
        """Run tasks merged; if the merged run fails with a request fault, run each half apart.

        A merged run's INVALID_ARGUMENT (e.g. one request's token id outside the
        vocab) names a row of the merged batch and its value: giving it to every
        task would fail the guilty request's batch-mates and show them its data.
        Bisecting until a failing run holds one task fails only the guilty ones,
        each with an error about its own rows (TFS fails the whole batch).
        """
        try:
            self._run(tasks, deadline)
        except Exception as exc:  # noqa: BLE001  every task of the run gets an answer
            error = from_exception(exc)
            if len(tasks) > 1 and error.code in REQUEST_FAULTS:
                half = len(tasks) // 2
                self._run_apart_on_fault(tasks[:half], deadline)
                self._run_apart_on_fault(tasks[half:], deadline)
                return
            if len(tasks) > 1 and error.code not in SHARED_FAULTS:
                log.error("Batched run of %d requests failed: %s", len(tasks), error)
                error = ServingError(error.code, "The batched model run failed: %s" % error.code)
            for task in tasks:
                if not task.future.done():
                    task.future.set_exception(error)

    def _run(self, tasks, deadline):
        """One session run of `tasks` merged; sets each task's result, or raises the run's error."""
        sizes = [task.size for task in tasks]
        total = sum(sizes)
        padded_total = self._allowed_size(total)
        merged = self._merge(tasks, padded_total - total)
        first = tasks[0]
        outputs = self._run_fn(first.signature_name, merged, first.output_aliases, deadline)
        self._on_batch(padded_total, padded_total - total)
        bounds = np.cumsum(sizes)[:-1]
        split = {}
        for alias, array in outputs.items():
            if array.ndim == 0 or array.shape[0] != padded_total:
                raise ServingError("FAILED_PRECONDITION",
                                   "Batched output tensor's 0th dimension does not equal the sum of "
                                   "the 0th dimension sizes of the input tensors")
            split[alias] = np.split(array[:total], bounds)
        for index, task in enumerate(tasks):
            task.future.set_result({alias: parts[index] for alias, parts in split.items()})

    def _allowed_size(self, total):
        sizes = self._options.allowed_batch_sizes
        if not sizes:
            return total
        return sizes[bisect.bisect_left(sizes, total)]

    def _merge(self, tasks, padding):
        merged = {}
        for alias in tasks[0].inputs:
            arrays = [task.inputs[alias] for task in tasks]
            if self._options.pad_variable_length_inputs:
                dims = np.max([array.shape[1:] for array in arrays], axis=0) if arrays[0].ndim > 1 else ()
                arrays = [pad_to(array, tuple(int(d) for d in dims)) for array in arrays]
            if padding:
                arrays.append(np.repeat(arrays[-1][:1], padding, axis=0))
            merged[alias] = arrays[0] if len(arrays) == 1 else np.concatenate(arrays)
        return merged

    # ------------------------------------------------------------ shutdown

    def stop(self):
        """Finish every queued batch, then end the batch threads."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join()
