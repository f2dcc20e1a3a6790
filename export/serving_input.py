"""The serving inputs of an exported classifier.

Four placeholders named like the training features (`bert_contract`'s
`SERVING_INPUTS`), int32 `[-1, L]` ids and `label_ids`, there because the
reference `model_fn` reads it in every mode. Its dtype and shape are the task
family's `label_spec.LabelSpec`: `[-1]` per example, `[-1, L]` per token,
`[-1, num_labels]` multi-hot; clients send zeros.

A dynamic-length export may be batched by TF Serving with
`pad_variable_length_inputs`, which pads each request with the *first element*
of its tensors ([CLS] ids with mask 1), not zeros. So that export derives the
attention mask from the ids themselves: every position up to the row's last
[SEP] (the featurizer always ends a row with one). Whatever the padding, the
padded positions are masked and the probabilities do not change.
"""

import tensorflow.compat.v1 as tf

from bert_contract import FEATURE_INPUTS, INPUT_IDS, INPUT_MASK, LABEL_IDS
from bert_runner.label_spec import PER_EXAMPLE, LabelSpec


def mask_through_last_sep(input_ids, sep_id: int):
    """1 for every position up to and including the last [SEP] of each row, else 0."""
    is_sep = tf.cast(tf.equal(input_ids, sep_id), tf.int32)
    # Reverse cumulative sum: positions with a [SEP] at or after them.
    return tf.cast(tf.cumsum(is_sep, axis=1, reverse=True) > 0, tf.int32)


def serving_input_fn_builder(
    max_seq_length: int,
    dynamic_seq_length: bool = False,
    sep_id: int = None,
    label_spec: LabelSpec = PER_EXAMPLE,
    num_labels: int = 0,
):
    """`label_ids` as `label_spec` says and `input_ids`/`input_mask`/`segment_ids` [-1, L] (L = -1 if dynamic)."""
    seq_length = None if dynamic_seq_length else max_seq_length
    if dynamic_seq_length and sep_id is None:
        raise ValueError("a dynamic-length export needs the [SEP] id to derive its mask")

    def serving_input_fn():
        label_shape = label_spec.shape(seq_length, num_labels)
        tensors = {LABEL_IDS: tf.placeholder(tf.as_dtype(label_spec.dtype), label_shape, name=LABEL_IDS)}
        for name in FEATURE_INPUTS:
            tensors[name] = tf.placeholder(tf.int32, [None, seq_length], name=name)
        features = dict(tensors)
        if dynamic_seq_length:
            features[INPUT_MASK] = mask_through_last_sep(tensors[INPUT_IDS], sep_id)
        return tf.estimator.export.ServingInputReceiver(features=features, receiver_tensors=tensors)

    return serving_input_fn
