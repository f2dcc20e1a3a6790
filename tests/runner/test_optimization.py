"""Our distribution-friendly optimizer takes the reference's steps and names its slots alike."""

import numpy as np
import pytest

pytestmark = pytest.mark.needs_tf


def train(create_optimizer, steps=4, use_resource=False):
    """Variables and slot names after `steps` updates of a small model with BERT-like names."""
    import tensorflow.compat.v1 as tf

    with tf.Graph().as_default():
        tf.set_random_seed(3)
        rng = np.random.RandomState(0)
        with tf.variable_scope("bert", use_resource=use_resource):
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


def constant_rate(optimizer_class):
    """create_optimizer's signature with a fixed rate, to compare the update rules alone."""
    import tensorflow.compat.v1 as tf

    def create(loss, *unused):
        global_step = tf.train.get_or_create_global_step()
        optimizer = optimizer_class(
            learning_rate=0.05, weight_decay_rate=0.01, exclude_from_weight_decay=["LayerNorm", "layer_norm", "bias"]
        )
        tvars = tf.trainable_variables()
        grads, _ = tf.clip_by_global_norm(tf.gradients(loss, tvars), clip_norm=1.0)
        return optimizer.apply_gradients(zip(grads, tvars), global_step=global_step)

    return create


@pytest.mark.parametrize("use_resource", [False, True], ids=["ref-variables", "resource-variables"])
def test_same_updates_and_checkpoint_names_as_the_reference(use_resource):
    from bert import optimization as reference

    from bert_runner import optimization as ours

    expected = train(constant_rate(reference.AdamWeightDecayOptimizer), use_resource=use_resource)
    got = train(constant_rate(ours.AdamWeightDecayOptimizer), use_resource=use_resource)
    assert sorted(n for n in got if n != "global_step") == sorted(n for n in expected if n != "global_step")
    assert any(name.endswith("/adam_m") for name in got) and any(name.endswith("/adam_v") for name in got)
    for name in expected:
        if name != "global_step":
            # ApplyAdam rounds m and v a little differently (m += (g - m)(1 - b1)); early steps
            # divide by a tiny sqrt(v), so float32 noise grows to ~6e-6 over 4 steps.
            assert np.allclose(got[name], expected[name], atol=2e-5), name


def test_learning_rate_warms_up_then_decays_linearly():
    import tensorflow.compat.v1 as tf

    from bert_runner.optimization import learning_rate_schedule

    with tf.Graph().as_default():
        step = tf.placeholder(tf.int64, [])
        rate = learning_rate_schedule(0.1, 10, 2, step)
        with tf.Session() as session:
            rates = [session.run(rate, {step: s}) for s in range(11)]
    expected = [0.0, 0.05] + [0.1 * (1 - s / 10.0) for s in range(2, 11)]
    assert np.allclose(rates, expected, atol=1e-7)


def test_create_optimizer_trains_and_counts_steps():
    from bert_runner import optimization as ours

    values = train(ours.create_optimizer, steps=4)
    assert values["global_step"] == 4


def test_bias_correction_takes_adams_steps():
    """--adam_bias_correction: without weight decay, the update is tf.train.AdamOptimizer's (the reference's is not)."""
    import tensorflow.compat.v1 as tf

    from bert_runner import optimization as ours

    def kernel_after(make_optimizer, steps=4):
        with tf.Graph().as_default():
            rng = np.random.RandomState(0)
            kernel = tf.get_variable("kernel", initializer=rng.randn(4, 3).astype("float32"))
            loss = tf.reduce_mean(tf.square(tf.matmul(tf.constant(rng.randn(5, 4).astype("float32")), kernel) - 1.0))
            global_step = tf.train.get_or_create_global_step()
            train_op = make_optimizer(global_step).apply_gradients(
                [(tf.gradients(loss, [kernel])[0], kernel)], global_step=global_step)
            with tf.Session() as session:
                session.run(tf.global_variables_initializer())
                for _ in range(steps):
                    session.run(train_op)
                return session.run(kernel)

    adam = kernel_after(lambda step: tf.train.AdamOptimizer(0.05, epsilon=1e-6))
    corrected = kernel_after(lambda step: ours.AdamWeightDecayOptimizer(0.05, bias_correction_step=step + 1))
    uncorrected = kernel_after(lambda step: ours.AdamWeightDecayOptimizer(0.05))
    assert np.allclose(corrected, adam, atol=1e-5)
    assert not np.allclose(uncorrected, adam, atol=1e-2)
