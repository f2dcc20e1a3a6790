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

How the groups are built depends on the run's length (`runs_in_loop`). A short run builds
them as one `tf.while_loop` over one copy of the encoder and its gradient: building and
optimising N copies cost a 25-step fine-tune more than the padding saved (~16 s). A long
run builds N copies side by side: each step is ~15 % faster than the loop's (its executor
and the loop gradient's stacks cost time on every step), which repays the larger graph after
about 85 steps with 4 groups, and after fewer with fewer groups, which save fewer copies
(all-MiniLM-L6-v2, 2 CPU cores; bench/README.md, "Micro-batches in one loop").

Exact because BERT's attention masks keep padded positions out of every real token's
output: a row's outputs do not depend on how far it is padded (up to float rounding).
Dropout draws its masks per group, which changes no expectation. Training only:
evaluation, prediction and the export build the unsplit graph.
"""

from typing import Callable, Dict, Sequence

import tensorflow.compat.v1 as tf

from bert_contract import INPUT_MASK
from bert_runner.family import Head

LOOP_NAME = "micro_batches"
# The loop saves building one encoder copy per group beyond the first (~5 s each) and costs
# every step; it pays for runs of up to this many steps per copy saved (4 groups: 80 steps).
LOOP_STEPS_PER_COPY_SAVED = 27


def runs_in_loop(num_train_steps: int, num_micro_batches: int) -> bool:
    """Whether a run builds its micro-batches as one loop (else as copies): short runs with many groups."""
    return num_train_steps <= LOOP_STEPS_PER_COPY_SAVED * (num_micro_batches - 1)


def micro_batch(features: Dict, index, num_micro_batches: int, sequence_keys: Sequence[str]) -> Dict:
    """Group `index` (a Python or tensor int) of `features` split into `num_micro_batches` groups by length.

    The rows are sorted by length (stably) and cut into consecutive groups whose sizes
    differ by at most one, so every row lands in exactly one group; a batch smaller than
    `num_micro_batches` leaves some groups empty. `sequence_keys` are the per-token
    features (`[batch, length]`), sliced to the group's longest `input_mask`.
    """
    lengths = tf.reduce_sum(tf.cast(features[INPUT_MASK], tf.int32), axis=1)
    order = tf.argsort(lengths, stable=True)
    batch = tf.size(order)
    rows = order[(batch * index) // num_micro_batches : (batch * (index + 1)) // num_micro_batches]
    # At least one position, so an empty group still has a valid shape.
    width = tf.maximum(tf.reduce_max(tf.gather(lengths, rows)), 1)
    group = {}
    for key, value in features.items():
        value = tf.gather(value, rows)
        if key in sequence_keys:
            value = value[:, :width]
        group[key] = value
    return group


def micro_batched_loss(build_head: Callable[[Dict], Head], features: Dict, num_micro_batches: int,
                       sequence_keys: Sequence[str], in_loop: bool = True):
    """The training loss of `features` run as `num_micro_batches` length-sorted groups.

    `in_loop`: the groups run one at a time in a `tf.while_loop` whose body calls
    `build_head(group_features)` once; else `build_head` is called for each group, the first
    call creating the variables (as the caller's variable scope says) and the others reusing
    them. Both give the same loss and gradients.

    A head's loss is a mean over `Head.loss_weight` (rows, or label-weighted tokens) with
    the denominator clamped to at least 1, so `loss * loss_weight` is the group's loss sum
    whenever the weights are whole numbers; the sums of the groups' sums and weights give
    the batch's mean with the same clamp. An empty group (a batch smaller than the group
    count) has weight 0 and a NaN mean, and adds nothing.
    """

    def add_group(index, total, weight):
        head = build_head(micro_batch(features, index, num_micro_batches, sequence_keys))
        if head.loss_weight is None:
            raise ValueError("micro-batches need the head's loss_weight (what its loss is a mean over)")
        loss_weight = tf.cast(head.loss_weight, tf.float32)
        return index + 1, total + tf.math.multiply_no_nan(head.loss, loss_weight), weight + loss_weight

    if not in_loop:
        total, weight = tf.constant(0.0), tf.constant(0.0)
        for index in range(num_micro_batches):
            with tf.variable_scope(tf.get_variable_scope(), reuse=True if index else None):
                with tf.name_scope("micro_batch_%d" % index):
                    _, total, weight = add_group(index, total, weight)
        return total / tf.maximum(weight, 1.0)

    # One group at a time: the groups exist to bound the step's padding, and running them
    # side by side would only hold more activations in memory at once.
    _, total, weight = tf.while_loop(
        lambda index, total, weight: index < num_micro_batches, add_group,
        (tf.constant(0), tf.constant(0.0), tf.constant(0.0)), parallel_iterations=1, name=LOOP_NAME)
    return total / tf.maximum(weight, 1.0)
