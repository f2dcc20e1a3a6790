"""Training on length-sorted micro-batches: the shuffled batch's gradient for a fraction of its padding.

A shuffled training batch is padded to its longest row (`records.length_aware_batches`),
so a few long rows set the cost of the whole step. Here the model function sorts the
batch's rows by length, cuts them into `num_micro_batches` consecutive groups, slices each
group to its own longest row and runs the encoder and head on each with the same variables.
The optimizer still sees one batch: the groups' losses are combined into the loss the
unsplit batch would have had (each group's mean weighted by what it is a mean over: rows
for classification, label-weighted tokens for token classification), so the gradient and
the batch's label mix are unchanged; only the padding falls (SMS spam at batch 32: ~72
tokens a row padded to the batch's longest, ~35 with 4 micro-batches).

Exact because BERT's attention masks keep padded positions out of every real token's
output: a row's outputs do not depend on how far it is padded (up to float rounding).
Dropout draws its masks per group, which changes no expectation. Training only:
evaluation, prediction and the export build the unsplit graph.
"""

from typing import Callable, Dict, List, Sequence

import tensorflow.compat.v1 as tf

from bert_contract import INPUT_MASK
from bert_runner.family import Head


def split_by_length(features: Dict, num_micro_batches: int, sequence_keys: Sequence[str]) -> List[Dict]:
    """`features` (one batch) as `num_micro_batches` groups of rows sorted by length, each cut to its longest.

    Every row lands in exactly one group; group sizes differ by at most one (a batch
    smaller than `num_micro_batches` leaves some groups empty). `sequence_keys` are the
    per-token features (`[batch, length]`), sliced to the group's longest `input_mask`.
    """
    lengths = tf.reduce_sum(tf.cast(features[INPUT_MASK], tf.int32), axis=1)
    order = tf.argsort(lengths, stable=True)
    batch = tf.size(order)
    groups = []
    for index in range(num_micro_batches):
        rows = order[(batch * index) // num_micro_batches : (batch * (index + 1)) // num_micro_batches]
        # At least one position, so an empty group still has a valid shape.
        width = tf.maximum(tf.reduce_max(tf.gather(lengths, rows)), 1)
        group = {}
        for key, value in features.items():
            value = tf.gather(value, rows)
            if key in sequence_keys:
                value = value[:, :width]
            group[key] = value
        groups.append(group)
    return groups


def combined_loss(heads: Sequence[Head]):
    """The unsplit batch's loss from its groups' heads: their mean losses weighted by `Head.loss_weight`.

    A head's loss is a mean over `loss_weight` (rows, or label-weighted tokens) with the
    denominator clamped to at least 1, so `loss * loss_weight` is the group's loss sum
    whenever the weights are whole numbers; the sums over the groups' sum and weight give
    the batch's mean with the same clamp. An empty group (a batch smaller than the group
    count) has weight 0 and a NaN mean, and adds nothing.
    """
    total = tf.add_n([tf.math.multiply_no_nan(head.loss, head.loss_weight) for head in heads])
    weight = tf.add_n([head.loss_weight for head in heads])
    return total / tf.maximum(weight, 1.0)


def micro_batched_loss(build_head: Callable[[Dict], Head], features: Dict, num_micro_batches: int,
                       sequence_keys: Sequence[str]):
    """The training loss of `features` built as `num_micro_batches` length-sorted groups.

    `build_head(group_features)` builds encoder and head for one group; the first call
    creates the variables, the others reuse them.
    """
    heads = []
    for index, group in enumerate(split_by_length(features, num_micro_batches, sequence_keys)):
        with tf.variable_scope(tf.get_variable_scope(), reuse=True if index else None):
            with tf.name_scope("micro_batch_%d" % index):
                heads.append(build_head(group))
    if any(head.loss_weight is None for head in heads):
        raise ValueError("micro-batches need the head's loss_weight (what its loss is a mean over)")
    return combined_loss(heads)
