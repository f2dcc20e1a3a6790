"""Warm-up replay of `assets.extra/tf_serving_warmup_requests` (contract section 6).

Records are PredictionLog protos in a TFRecord file; each is replayed through
the version's runner (so through the batcher too) before it becomes AVAILABLE.
Any bad record or failing request fails the load, as in TFS.
"""

import logging
import os
import time
from concurrent import futures

from tensorflow_serving.apis import prediction_log_pb2

from bert_contract import MAX_WARMUP_RECORDS
from bert_contract import WARMUP_FILE as _WARMUP_NAME
from model_server import examples
from model_server.errors import ServingError, from_exception
from model_server.runner import start_predict

log = logging.getLogger(__name__)

WARMUP_FILE = os.path.join("assets.extra", _WARMUP_NAME)


def read_records(version_dir):
    """The warm-up PredictionLogs of a version dir ([] when it has no file)."""
    import tensorflow.compat.v1 as tf
    path = os.path.join(version_dir, WARMUP_FILE)
    if not os.path.isfile(path):
        return []
    try:
        raw = list(tf.io.tf_record_iterator(path))
    except tf.errors.OpError as exc:
        raise ServingError("DATA_LOSS", "Failed to read warmup file %s: %s" % (path, exc.message)) from None
    if len(raw) > MAX_WARMUP_RECORDS:
        raise ServingError("INVALID_ARGUMENT", "Number of warmup records exceeds the maximum (%d) at %s"
                           % (MAX_WARMUP_RECORDS, path))
    logs = []
    for index, record in enumerate(raw):
        entry = prediction_log_pb2.PredictionLog()
        try:
            entry.ParseFromString(record)
        except Exception:
            raise ServingError("DATA_LOSS", "Failed to parse PredictionLog from warmup record %d of %s"
                               % (index, path)) from None
        logs.append(entry)
    return logs


def replay(version_dir, runner, iterations, timeout_seconds=None):
    """Run every warm-up record `iterations` times; returns how many requests ran.

    The whole replay must end within `timeout_seconds` (None: no limit): its
    runs get that deadline (TF cancels them), so a hung warm-up fails its load
    instead of holding one of the two load threads for good.
    """
    deadline = None if timeout_seconds is None else time.monotonic() + timeout_seconds
    count = 0
    try:
        for entry in read_records(version_dir):
            for _ in range(max(1, iterations)):
                for future, finish in _start(entry, runner, deadline):
                    finish(future.result(timeout=None if deadline is None else max(0, deadline - time.monotonic())))
                count += 1
    except Exception as exc:  # noqa: BLE001  only a missed deadline is turned into the timeout's text
        if deadline is None or not (isinstance(exc, futures.TimeoutError) or
                                    from_exception(exc).code == "DEADLINE_EXCEEDED"):
            raise
        raise ServingError("DEADLINE_EXCEEDED", "Warm-up of %s did not finish within %d s "
                           "(--model_warmup_timeout_seconds)" % (version_dir, timeout_seconds)) from None
    return count


def _start(entry, runner, deadline=None):
    """Submit the request(s) of one PredictionLog: [(future, finish)]."""
    import tensorflow.compat.v1 as tf
    kind = entry.WhichOneof("log_type")
    if kind == "predict_log":
        request = entry.predict_log.request
        inputs = {alias: tf.make_ndarray(proto) for alias, proto in request.inputs.items()}
        _, future = start_predict(runner, request.model_spec.signature_name, inputs, tuple(request.output_filter),
                                  deadline)
        return [(future, lambda outputs: outputs)]
    if kind in ("classify_log", "regress_log"):
        request = getattr(entry, kind).request
        start = examples.start_classify if kind == "classify_log" else examples.start_regress
        _, future, finish = start(runner, request.model_spec.signature_name, request.input, deadline)
        return [(future, finish)]
    if kind == "multi_inference_log":
        request = entry.multi_inference_log.request
        examples.check_multi_inference(request)
        started = []
        for task in request.tasks:
            start = examples.start_classify if task.method_name == examples.CLASSIFY else examples.start_regress
            _, future, finish = start(runner, task.model_spec.signature_name, request.input, deadline)
            started.append((future, finish))
        return started
    raise ServingError("INVALID_ARGUMENT", "Unsupported log_type for warmup: %s" % kind)
