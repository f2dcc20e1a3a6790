"""Length-sorted micro-batches give the unsplit batch's loss and gradients, for both task families."""

import numpy as np
import pytest
import tensorflow.compat.v1 as tf
from bert import modeling

from bert_contract import INPUT_IDS, INPUT_MASK, LABEL_IDS, SEGMENT_IDS
from bert_runner import micro_batches, model
from bert_runner.classification import SequenceClassification
from bert_runner.encoder import build_encoder
from bert_runner.label_spec import MULTI_HOT, PER_TOKEN
from bert_runner.multi_label import MultiLabelClassification
from bert_runner.records import IS_REAL_EXAMPLE
from bert_runner.token_classification import LABEL_WEIGHTS, TokenClassification
from tests.helpers import tiny_bert

MAX_LENGTH = 12


def batch_arrays(lengths, per_token_labels=False, seed=0, multi_hot=False):
    """A batch padded to MAX_LENGTH: random ids, segments and labels; label weights 0 on [CLS] and padding."""
    rng = np.random.RandomState(seed)
    rows = len(lengths)
    mask = (np.arange(MAX_LENGTH)[None, :] < np.array(lengths)[:, None]).astype(np.int32)
    arrays = {
        INPUT_IDS: rng.randint(5, 60, size=(rows, MAX_LENGTH)).astype(np.int32) * mask,
        INPUT_MASK: mask,
        SEGMENT_IDS: (rng.rand(rows, MAX_LENGTH) < 0.3).astype(np.int32) * mask,
        IS_REAL_EXAMPLE: np.ones([rows], np.float32),
    }
    if per_token_labels:
        arrays[LABEL_IDS] = rng.randint(0, 3, size=(rows, MAX_LENGTH)).astype(np.int32) * mask
        weights = mask.copy()
        weights[:, 0] = 0
        weights[rng.rand(rows, MAX_LENGTH) < 0.2] = 0  # sub-word pieces carry no tag
        arrays[LABEL_WEIGHTS] = weights
    elif multi_hot:
        arrays[LABEL_IDS] = (rng.rand(rows, 3) < 0.4).astype(np.int32)
    else:
        arrays[LABEL_IDS] = rng.randint(0, 3, size=[rows]).astype(np.int32)
    return arrays


def test_split_keeps_every_row_once_and_cuts_each_group_to_its_longest():
    lengths = [3, 12, 1, 7, 5, 9, 2, 11, 4, 6]
    arrays = batch_arrays(lengths, per_token_labels=True)
    arrays["row"] = np.arange(len(lengths), dtype=np.int32)
    with tf.Graph().as_default(), tf.Session() as session:
        features = {key: tf.placeholder_with_default(value, [None] * value.ndim) for key, value in arrays.items()}
        sequence_keys = (INPUT_IDS, SEGMENT_IDS, LABEL_IDS, LABEL_WEIGHTS, INPUT_MASK)
        groups = session.run([micro_batches.micro_batch(features, i, 4, sequence_keys) for i in range(4)])
    assert [len(g["row"]) for g in groups] == [2, 3, 2, 3]
    assert sorted(np.concatenate([g["row"] for g in groups]).tolist()) == list(range(len(lengths)))
    seen = []
    for group in groups:
        group_lengths = [lengths[row] for row in group["row"]]
        assert group_lengths == sorted(group_lengths) and all(length >= max(seen, default=0) for length in group_lengths)
        seen += group_lengths
        assert group[INPUT_IDS].shape == (len(group["row"]), max(group_lengths))
        for key in sequence_keys:  # the same values, cut after the group's longest row
            np.testing.assert_array_equal(group[key], arrays[key][group["row"], : max(group_lengths)])
        np.testing.assert_array_equal(group[IS_REAL_EXAMPLE], arrays[IS_REAL_EXAMPLE][group["row"]])


def test_a_batch_smaller_than_the_micro_batch_count_leaves_groups_empty():
    arrays = batch_arrays([4, 2], per_token_labels=False)
    with tf.Graph().as_default(), tf.Session() as session:
        features = {k: tf.constant(v) for k, v in arrays.items()}
        groups = session.run([micro_batches.micro_batch(features, i, 4, (INPUT_IDS, SEGMENT_IDS, INPUT_MASK))
                              for i in range(4)])
    assert [g[INPUT_IDS].shape for g in groups] == [(0, 1), (1, 2), (0, 1), (1, 4)]


def losses_and_gradients(family, arrays, num_micro_batches, num_labels=3, in_loop=True):
    """The family's training loss (no dropout) and its gradients, unsplit and split, on one tiny BERT."""
    config = modeling.BertConfig.from_dict(
        tiny_bert.bert_config(vocab_size=64, num_layers=1, max_position_embeddings=MAX_LENGTH))
    with tf.Graph().as_default():
        features = {key: tf.placeholder_with_default(value, [None] * value.ndim) for key, value in arrays.items()}

        def build_head(batch_features):
            encoder = build_encoder(config, False, batch_features[INPUT_IDS], batch_features[INPUT_MASK],
                                    batch_features[SEGMENT_IDS])
            return family.head(encoder, batch_features, num_labels, False)

        whole = build_head(features).loss
        # The pooler is not part of a token head's loss.
        variables, whole_gradients = zip(*[(v, tf.convert_to_tensor(g)) for v, g in
                                           zip(tf.trainable_variables(), tf.gradients(whole, tf.trainable_variables()))
                                           if g is not None])
        sequence_keys = tuple(family.record_schema.sequences) + (INPUT_MASK,)
        with tf.variable_scope(tf.get_variable_scope(), reuse=True):
            split = micro_batches.micro_batched_loss(build_head, features, num_micro_batches, sequence_keys, in_loop)
        # No second copy of BERT: checkpoints are unchanged.
        assert len(tf.trainable_variables()) == len(tf.trainable_variables("bert/")) + 2
        fetches = [(whole, whole_gradients), (split, [tf.convert_to_tensor(g) for g in tf.gradients(split, variables)])]
        config = tf.ConfigProto()  # grappler would spend seconds on a graph that runs once
        config.graph_options.rewrite_options.disable_meta_optimizer = True
        with tf.Session(config=config) as session:
            session.run(tf.global_variables_initializer())
            return [v.name for v in variables], session.run(fetches)


@pytest.mark.parametrize("in_loop", [True, False], ids=["loop", "copies"])
@pytest.mark.parametrize(
    "family,rows", [(SequenceClassification(), 3), (TokenClassification(), 6), (MultiLabelClassification(), 7)],
    ids=["classification-with-empty-groups", "tokens", "multi-label"])
def test_micro_batches_give_the_unsplit_loss_and_gradients(family, rows, in_loop):
    lengths = np.random.RandomState(rows).randint(1, MAX_LENGTH + 1, size=rows).tolist()
    arrays = batch_arrays(lengths, per_token_labels=family.label == PER_TOKEN, seed=rows,
                          multi_hot=family.label == MULTI_HOT)
    names, [(loss, gradients), (split_loss, split_gradients)] = losses_and_gradients(family, arrays, 4,
                                                                                     in_loop=in_loop)
    np.testing.assert_allclose(split_loss, loss, rtol=1e-5)
    for name, split, whole in zip(names, split_gradients, gradients):
        np.testing.assert_allclose(split, whole, rtol=1e-3, atol=1e-6, err_msg=name)
    assert max(np.abs(g).max() for g in gradients) > 1e-3  # a gradient that says something


def encoder_copies(num_train_steps, mode):
    """The first layer's forward query projections in the graph `mode` builds: one per encoder copy."""
    config = modeling.BertConfig.from_dict(
        tiny_bert.bert_config(vocab_size=64, num_layers=1, max_position_embeddings=MAX_LENGTH))
    model_fn = model.model_fn_builder(SequenceClassification(), config, 3, None, 1e-3, num_train_steps, 1, False,
                                      False, train_micro_batches=4)
    arrays = batch_arrays([3, 5, 8, 12], per_token_labels=False)
    with tf.Graph().as_default() as graph:
        features = {key: tf.constant(value) for key, value in arrays.items() if key != IS_REAL_EXAMPLE}
        model_fn(features, None, mode, {})
        names = sorted(v.name for v in tf.trainable_variables())
        assert all(name.startswith(("bert/", "output_")) for name in names), names
        return sorted(op.name for op in graph.get_operations() if op.type == "MatMul"
                      and not op.name.startswith("gradients") and "/layer_0/attention/self/query/" in op.name)


def test_short_runs_loop_over_one_encoder_long_runs_build_copies_and_other_modes_the_plain_graph():
    short = 3 * micro_batches.LOOP_STEPS_PER_COPY_SAVED  # 4 groups: 3 copies saved
    long = short + 1
    looped = encoder_copies(short, tf.estimator.ModeKeys.TRAIN)
    assert len(looped) == 1 and looped[0].startswith(micro_batches.LOOP_NAME + "/bert/encoder/"), looped
    copies = encoder_copies(long, tf.estimator.ModeKeys.TRAIN)
    assert [name.split("/")[0] for name in copies] == ["micro_batch_%d" % i for i in range(4)], copies
    for steps in (short, long):
        plain = encoder_copies(steps, tf.estimator.ModeKeys.PREDICT)
        assert len(plain) == 1 and plain[0].startswith("bert/encoder/"), plain


def test_a_run_trains_on_micro_batches_of_at_least_eight_rows(tiny_model_files, tmp_path, caplog):
    from bert_runner.run import run

    options = tiny_bert.run_options(tiny_model_files, tmp_path, do_train=True, train_batch_size=16, num_train_epochs=0.5)
    with caplog.at_level("INFO", logger="bert_runner"):
        summary = run(options)
    assert "batch size 16, %d steps" % summary["train"]["steps"] in caplog.text
    assert "2 micro-batches a batch" in caplog.text  # 16 rows: 2 of 8, not the default 4 of 4
    checkpoint = tf.train.latest_checkpoint(str(tmp_path))
    names = [name for name, _ in tf.train.list_variables(checkpoint)]
    assert "bert/embeddings/word_embeddings" in names and not any("micro_batch" in n or "bert_1" in n for n in names)


def test_fewer_groups_save_fewer_copies_and_pay_the_loop_for_fewer_steps():
    per_copy = micro_batches.LOOP_STEPS_PER_COPY_SAVED
    assert micro_batches.runs_in_loop(3 * per_copy, 4) and not micro_batches.runs_in_loop(3 * per_copy + 1, 4)
    assert micro_batches.runs_in_loop(per_copy, 2) and not micro_batches.runs_in_loop(per_copy + 1, 2)
    assert not micro_batches.runs_in_loop(1, 1)  # one group: nothing to save
