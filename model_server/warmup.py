"""Warm-up replay of `assets.extra/tf_serving_warmup_requests` (contract section 6).

Records are PredictionLog protos in a TFRecord file; each is replayed through
the version's runner (so through the batcher too) before it becomes AVAILABLE.
Any bad record or failing request fails the load, as in TFS.
"""

import logging
import os

from tensorflow_serving.apis import prediction_log_pb2

from model_server.errors import ServingError
from model_server.runner import predict_outputs

log = logging.getLogger(__name__)

WARMUP_FILE = os.path.join("assets.extra", "tf_serving_warmup_requests")
MAX_RECORDS = 1000


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
    if len(raw) > MAX_RECORDS:
        raise ServingError("INVALID_ARGUMENT", "Number of warmup records exceeds the maximum (%d) at %s"
                           % (MAX_RECORDS, path))
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


def replay(version_dir, runner, iterations):
    """Run every warm-up record `iterations` times; returns how many requests ran."""
    import tensorflow.compat.v1 as tf
    count = 0
    for entry in read_records(version_dir):
        kind = entry.WhichOneof("log_type")
        if kind != "predict_log":
            # Classify/regress/multi-inference are not served by the local server (501).
            raise ServingError("UNIMPLEMENTED", "Warmup record of type %s is not supported by the local "
                               "model server (only predict_log)" % kind)
        request = entry.predict_log.request
        inputs = {alias: tf.make_ndarray(proto) for alias, proto in request.inputs.items()}
        servable = runner.servable
        signature_name = request.model_spec.signature_name or "serving_default"
        signature = servable.signature(signature_name)
        outputs = predict_outputs(servable, signature, inputs, tuple(request.output_filter))
        for _ in range(max(1, iterations)):
            runner.submit(signature_name, inputs, outputs).result()
            count += 1
    return count
