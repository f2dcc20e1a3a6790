"""The serving inputs of an exported classifier.

Four int32 placeholders named like the training features. `label_ids` is there
because the reference `model_fn` reads it in every mode; clients send 0.
"""

import tensorflow.compat.v1 as tf

INPUT_NAMES = ("label_ids", "input_ids", "input_mask", "segment_ids")


def serving_input_fn_builder(max_seq_length: int, dynamic_seq_length: bool = False):
    """`label_ids` [-1] and `input_ids`/`input_mask`/`segment_ids` [-1, L] (L = -1 if dynamic)."""
    seq_length = None if dynamic_seq_length else max_seq_length

    def serving_input_fn():
        tensors = {"label_ids": tf.placeholder(tf.int32, [None], name="label_ids")}
        for name in INPUT_NAMES[1:]:
            tensors[name] = tf.placeholder(tf.int32, [None, seq_length], name=name)
        return tf.estimator.export.ServingInputReceiver(features=tensors, receiver_tensors=tensors)

    return serving_input_fn
