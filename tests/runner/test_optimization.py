"""Our distribution-friendly optimizer takes the reference's steps and names its slots alike."""

import numpy as np
import pytest

pytestmark = pytest.mark.needs_tf


def train(create_optimizer, steps=4):
    """Variables and slot names after `steps` updates of a small model with BERT-like names."""
    import tensorflow.compat.v1 as tf

    with tf.Graph().as_default():
        tf.set_random_seed(3)
        rng = np.random.RandomState(0)
        with tf.variable_scope("bert"):
            table = tf.get_variable("embeddings/word_embeddings", initializer=rng.randn(10, 4).astype("float32"))
            kernel = tf.get_variable("dense/kernel", initializer=rng.randn(4, 3).astype("float32"))
            bias = tf.get_variable("dense/bias", initializer=rng.randn(3).astype("float32"))
            gamma = tf.get_variable("LayerNorm/gamma", initializer=rng.rand(3).astype("float32"))
        ids = tf.constant([[1, 2, 2], [3, 4, 9]])
        hidden = tf.reduce_mean(tf.gather(table, ids), axis=1)
        logits = (tf.matmul(hidden, kernel) + bias) * gamma
        loss = tf.reduce_mean(tf.square(logits - tf.constant([[1.0, 0.0, 2.0], [0.0, 1.0, 0.0]]))) * 50.0
        train_op = create_optimizer(loss, 0.1, 10, 2, False)
        with tf.Session() as session:
            session.run(tf.global_variables_initializer())
            for _ in range(steps):
                session.run(train_op)
            values = {v.op.name: session.run(v) for v in tf.global_variables()}
    return values


def test_same_updates_and_checkpoint_names_as_the_reference():
    from bert import optimization as reference

    from bert_runner import optimization as ours

    expected = train(reference.create_optimizer)
    got = train(ours.create_optimizer)
    assert sorted(got) == sorted(expected)
    assert any(name.endswith("/adam_m") for name in got)
    for name in expected:
        assert np.allclose(got[name], expected[name], atol=1e-6), name
