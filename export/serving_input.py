"""The serving inputs of an exported classifier.

Four int32 placeholders named like the training features. `label_ids` is there
because the reference `model_fn` reads it in every mode; clients send 0.

A dynamic-length export may be batched by TF Serving with
`pad_variable_length_inputs`, which pads each request with the *first element*
of its tensors ([CLS] ids with mask 1), not zeros. So that export derives the
attention mask from the ids themselves: every position up to the row's last
[SEP] (the featurizer always ends a row with one). Whatever the padding, the
padded positions are masked and the probabilities do not change.
"""

import tensorflow.compat.v1 as tf

INPUT_NAMES = ("label_ids", "input_ids", "input_mask", "segment_ids")


def mask_through_last_sep(input_ids, sep_id: int):
    """1 for every position up to and including the last [SEP] of each row, else 0."""
    is_sep = tf.cast(tf.equal(input_ids, sep_id), tf.int32)
    # Reverse cumulative sum: positions with a [SEP] at or after them.
    return tf.cast(tf.cumsum(is_sep, axis=1, reverse=True) > 0, tf.int32)


def serving_input_fn_builder(max_seq_length: int, dynamic_seq_length: bool = False, sep_id: int = None):
    """`label_ids` [-1] and `input_ids`/`input_mask`/`segment_ids` [-1, L] (L = -1 if dynamic)."""
    seq_length = None if dynamic_seq_length else max_seq_length
    if dynamic_seq_length and sep_id is None:
        raise ValueError("a dynamic-length export needs the [SEP] id to derive its mask")

    def serving_input_fn():
        tensors = {"label_ids": tf.placeholder(tf.int32, [None], name="label_ids")}
        for name in INPUT_NAMES[1:]:
            tensors[name] = tf.placeholder(tf.int32, [None, seq_length], name=name)
        features = dict(tensors)
        if dynamic_seq_length:
            features["input_mask"] = mask_through_last_sep(tensors["input_ids"], sep_id)
        return tf.estimator.export.ServingInputReceiver(features=features, receiver_tensors=tensors)

    return serving_input_fn
