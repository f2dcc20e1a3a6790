"""Runs a servable's signatures: straight on a thread pool, or through a Batcher.

Also the checks every Predict makes before a run (inputs equal the signature's,
output filter, dtype and shape), shared by REST, gRPC and warm-up, so the three
answer the same faults with the same status.
"""

import threading

from bert_contract import DEFAULT_SIGNATURE
from model_server.batcher import Batcher
from model_server.errors import ServingError, invalid_argument


def predict_outputs(servable, signature_name, signature, inputs, output_filter=()):
    """Validate a Predict's inputs against `signature`; return the output aliases to fetch."""
    expected = set(signature.inputs)
    sent = set(inputs)
    if len(sent) != len(expected):
        raise invalid_argument(
            "input size does not match signature: %d!=%d len({%s}) != len({%s}). Sent extra: {%s}. "
            "Missing but required: {%s}." % (
                len(sent), len(expected), ",".join(sorted(sent)), ",".join(sorted(expected)),
                ",".join(sorted(sent - expected)), ",".join(sorted(expected - sent))))
    for alias in sorted(sent):
        if alias not in expected:
            raise invalid_argument("input tensor alias not found in signature: %s. Inputs expected to be "
                                   "in the set {%s}." % (alias, ",".join(sorted(expected))))
    outputs = []
    for alias in output_filter:
        if alias not in signature.outputs:
            raise invalid_argument("output tensor alias not found in signature: %s Outputs expected to be "
                                   "in the set {%s}." % (alias, ",".join(sorted(signature.outputs))))
        if alias in outputs:
            raise invalid_argument("duplicate output tensor alias: %s" % alias)
        outputs.append(alias)
    servable.check_inputs(signature_name, inputs)
    return tuple(outputs) if outputs else tuple(sorted(signature.outputs))


def start_predict(runner, signature_name, inputs, output_filter=(), deadline=None):
    """Check a Predict and submit it; returns (resolved signature name, Future of outputs)."""
    signature_name = signature_name or DEFAULT_SIGNATURE
    signature = runner.servable.signature(signature_name)
    outputs = predict_outputs(runner.servable, signature_name, signature, inputs, output_filter)
    return signature_name, runner.submit(signature_name, inputs, outputs, deadline)


class Runner(object):
    """One model version's way to run signatures; `close` waits for runs in progress."""

    def __init__(self, servable, pool, batching=None, on_batch=None, name="model"):
        self.servable = servable
        self._pool = pool
        self._batcher = (Batcher(servable.run, batching, on_batch, name="batch-" + name)
                         if batching is not None else None)
        self._active = 0
        self._closed = False
        self._cond = threading.Condition()

    def submit(self, signature_name, inputs, output_aliases, deadline=None):
        """Start a run; returns a concurrent.futures.Future of {alias: ndarray}.

        deadline: time.monotonic() seconds after which the run is cancelled (None = no limit).
        """
        if self._batcher is not None:
            return self._batcher.submit(signature_name, inputs, output_aliases, deadline)
        with self._cond:
            if self._closed:
                raise ServingError("UNAVAILABLE", "The model version is unloading; retry the request")
            self._active += 1
        try:
            future = self._pool.submit(self.servable.run, signature_name, inputs, output_aliases, deadline)
        except BaseException:
            self._done(None)
            raise
        future.add_done_callback(self._done)
        return future

    def _done(self, _future):
        with self._cond:
            self._active -= 1
            self._cond.notify_all()

    def close(self):
        """Let queued and running work finish, then release the session."""
        if self._batcher is not None:
            self._batcher.stop()
        with self._cond:
            self._closed = True
            while self._active:
                self._cond.wait()
        self.servable.close()
