"""The signatures an export carries beside its predictions: what a client needs to query it.

`metadata` answers the `ModelInfo` JSON and `vocab` the exact bytes of the
vocab.txt training used, one row per input row (batching servers split
outputs along dim 0). Both are constants in the graph, so any server that
runs the SavedModel (stock `tensorflow_model_server` included) hands them out
through its documented predict API, and a client needs no local files.
"""

import tensorflow.compat.v1 as tf

from bert_contract import METADATA_OUTPUT, METADATA_SIGNATURE, VOCAB_OUTPUT, VOCAB_SIGNATURE


def contract_outputs(batch, metadata_json: str, vocab_bytes: bytes = b""):
    """`export_outputs` entries for `metadata` and, given the vocab's bytes, `vocab`."""
    outputs = {
        METADATA_SIGNATURE: tf.estimator.export.PredictOutput(
            {METADATA_OUTPUT: tf.fill([batch], tf.constant(metadata_json))}
        )
    }
    if vocab_bytes:
        outputs[VOCAB_SIGNATURE] = tf.estimator.export.PredictOutput(
            {VOCAB_OUTPUT: tf.fill([batch], tf.constant(vocab_bytes))}
        )
    return outputs
