"""bert_config.json picks the encoder: the exact GELU and DistilBERT (bert_runner/encoder.py)."""

import json
import math
import os

import numpy as np
import pytest

import tiny_bert

pytestmark = pytest.mark.needs_tf


def _config(tiny_model_files, **overrides):
    from bert import modeling

    with open(tiny_model_files["bert_config_file"]) as f:
        data = json.load(f)
    data.update(overrides)
    return modeling.BertConfig.from_dict(data)


def _variables_and_output(config, segment_ids, seed=3):
    import tensorflow.compat.v1 as tf

    from bert_runner.encoder import build_encoder

    with tf.Graph().as_default():
        tf.set_random_seed(seed)
        ids = tf.constant([[2, 5, 6, 7, 3, 0]], tf.int32)
        mask = tf.constant([[1, 1, 1, 1, 1, 0]], tf.int32)
        encoder = build_encoder(config, False, ids, mask, tf.constant([segment_ids], tf.int32))
        pooled = encoder.get_pooled_output()
        with tf.Session() as session:
            session.run(tf.global_variables_initializer())
            output = session.run(encoder.get_sequence_output())
            session.run(pooled)
            return {v.op.name: v.shape.as_list() for v in tf.global_variables()}, output


def test_gelu_exact_is_the_erf_gelu_and_not_modelings_tanh_form():
    import tensorflow.compat.v1 as tf
    from bert import modeling

    from bert_runner.encoder import gelu_exact

    x = np.linspace(-6, 6, 241).astype(np.float32)
    with tf.Graph().as_default(), tf.Session() as session:
        exact, tanh_form = session.run([gelu_exact(tf.constant(x)), modeling.gelu(tf.constant(x))])
    want = np.array([v * 0.5 * (1 + math.erf(v / math.sqrt(2))) for v in x.astype(np.float64)])
    assert np.abs(exact - want).max() < 1e-6
    assert np.abs(tanh_form - want).max() > 1e-4  # the two differ where it matters: the switch is real


def test_hidden_act_in_the_config_picks_the_function(tiny_model_files):
    _, tanh_output = _variables_and_output(_config(tiny_model_files, hidden_act="gelu"), [0] * 6)
    _, exact_output = _variables_and_output(_config(tiny_model_files, hidden_act="gelu_exact"), [0] * 6)
    assert np.abs(tanh_output - exact_output).max() > 1e-6


def test_gelu_exact_builds_no_erf_op(tiny_model_files):
    """Training, evaluation and the export build the encoder here: none of them runs TF 1.15's scalar Erf."""
    import tensorflow.compat.v1 as tf

    from bert_runner.encoder import build_encoder

    for architecture in ("bert", "distilbert"):
        with tf.Graph().as_default() as graph:
            config = _config(tiny_model_files, hidden_act="gelu_exact", architecture=architecture)
            output = build_encoder(config, True, tf.zeros([2, 6], tf.int32)).get_sequence_output()
            tf.gradients(output, tf.trainable_variables())
            types = {op.type for op in graph.get_operations()}
        assert "Erf" not in types and "Exp" in types, architecture


def test_distilbert_has_no_token_types_and_no_pooler(tiny_model_files):
    bert_names, _ = _variables_and_output(_config(tiny_model_files), [0] * 6)
    config = _config(tiny_model_files, architecture="distilbert", hidden_act="gelu_exact")
    names, output = _variables_and_output(config, [0] * 6)
    _, with_segments = _variables_and_output(config, [0, 0, 0, 1, 1, 0])
    assert set(bert_names) - set(names) == {"bert/embeddings/token_type_embeddings", "bert/pooler/dense/kernel",
                                            "bert/pooler/dense/bias"}
    assert set(names) - set(bert_names) == {"pre_classifier/kernel", "pre_classifier/bias"}
    np.testing.assert_array_equal(output, with_segments)  # segment ids change nothing


def test_unknown_architecture_or_activation_is_one_line_naming_the_file(tiny_model_files, tmp_path):
    from bert_runner.checks import load_bert_config
    from bert_runner.errors import RunnerError

    for field, value, words in [("architecture", "roberta", "architecture 'roberta' is not supported"),
                                ("hidden_act", "swish", "Unsupported activation: swish")]:
        path = str(tmp_path / "bert_config.json")
        with open(tiny_model_files["bert_config_file"]) as f:
            data = json.load(f)
        data[field] = value
        with open(path, "w") as f:
            json.dump(data, f)
        with pytest.raises(RunnerError) as caught:
            load_bert_config(path)
        assert path in str(caught.value) and words in str(caught.value)


def test_run_classifier_fine_tunes_a_distilbert(tiny_model_files, tmp_path):
    """A DistilBERT base (architecture in bert_config.json) fine-tunes from its checkpoint."""
    import tensorflow.compat.v1 as tf

    from bert_runner.run import run

    config_file = str(tmp_path / "bert_config.json")
    with open(tiny_model_files["bert_config_file"]) as f:
        data = json.load(f)
    data.update(architecture="distilbert", hidden_act="gelu_exact")
    with open(config_file, "w") as f:
        json.dump(data, f)
    base = _write_encoder_checkpoint(_config(tiny_model_files, **data), str(tmp_path / "base"))
    files = dict(tiny_model_files, bert_config_file=config_file)
    options = tiny_bert.run_options(files, str(tmp_path / "run"), init_checkpoint=base, do_train=True,
                                    num_train_epochs=0.5, seed=8)
    summary = run(options)
    trained = tf.train.load_checkpoint(tf.train.latest_checkpoint(str(tmp_path / "run")))
    names = trained.get_variable_to_shape_map()
    assert "pre_classifier/kernel" in names and "bert/embeddings/token_type_embeddings" not in names
    start = tf.train.load_checkpoint(base)
    for name in ("bert/embeddings/word_embeddings", "bert/encoder/layer_1/output/dense/kernel"):
        # started from the base checkpoint, then trained
        assert trained.get_tensor(name).shape == start.get_tensor(name).shape
        assert 0 < np.abs(trained.get_tensor(name) - start.get_tensor(name)).max() < 0.5, name
    assert summary["train"]


def _write_encoder_checkpoint(config, directory):
    import tensorflow.compat.v1 as tf

    from bert_runner.encoder import build_encoder

    with tf.Graph().as_default():
        build_encoder(config, False, tf.zeros([1, 4], tf.int32))
        with tf.Session() as session:
            session.run(tf.global_variables_initializer())
            os.makedirs(directory)
            return tf.train.Saver().save(session, os.path.join(directory, "bert_model.ckpt"))
