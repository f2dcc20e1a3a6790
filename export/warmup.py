"""`assets.extra/tf_serving_warmup_requests`: requests a server replays before serving.

Built with the shared featurizer, so warm-up exercises the same shapes real
clients send (TF Serving contract §6: a TFRecord of `PredictionLog`).
"""

from typing import Sequence

import tensorflow.compat.v1 as tf
from tensorflow_serving.apis import predict_pb2, prediction_log_pb2

from bert_contract import DEFAULT_SIGNATURE, INPUT_IDS, LABEL_IDS, MAX_WARMUP_RECORDS
from bert_runner.label_spec import PER_EXAMPLE, LabelSpec
from featurizer import Featurizer, pad_batch


def warmup_requests(
    featurizer: Featurizer,
    texts: Sequence[str],
    batch_sizes: Sequence[int] = (1, 8),
    dynamic_seq_length: bool = False,
    signature_name: str = DEFAULT_SIGNATURE,
    label_spec: LabelSpec = PER_EXAMPLE,
    num_labels: int = 0,
):
    """One PredictRequest per batch size, featurized from `texts` (cycled as needed), `label_ids` zeros."""
    if not texts:
        texts = ["warm up"]
    requests = []
    for batch_size in batch_sizes:
        batch_texts = [texts[i % len(texts)] for i in range(batch_size)]
        encoded = featurizer.encode_batch(batch_texts)
        padded = pad_batch(encoded, None if dynamic_seq_length else featurizer.max_seq_length)
        request = predict_pb2.PredictRequest()
        request.model_spec.signature_name = signature_name
        length = len(padded[INPUT_IDS][0])
        label_ids = label_spec.zeros(batch_size, length, num_labels)
        request.inputs[LABEL_IDS].CopyFrom(tf.make_tensor_proto(label_ids, dtype=tf.as_dtype(label_spec.dtype)))
        for name, values in padded.items():
            request.inputs[name].CopyFrom(tf.make_tensor_proto(values, dtype=tf.int32))
        requests.append(request)
    return requests


def write_warmup_file(path: str, requests) -> str:
    if len(requests) > MAX_WARMUP_RECORDS:
        raise ValueError("%d warm-up requests; TF Serving accepts at most %d" % (len(requests), MAX_WARMUP_RECORDS))
    with tf.io.TFRecordWriter(path) as writer:
        for request in requests:
            log = prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))
            writer.write(log.SerializeToString())
    return path
