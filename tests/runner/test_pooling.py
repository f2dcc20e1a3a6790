"""The sentence vector a classifier reads: the pretrained model's own pooling, chosen once per run and kept with it.

A sentence-transformers model (all-MiniLM-L6-v2) is trained to give the mean of its token
vectors, and its BERT pooler never was; `bert_config.json`'s `pooling: "mean"` (written by
`pretrained/`) or `--pooling=mean` makes the head read that mean (bert_runner/pooling.py).
"""

import json
import os

import numpy as np
import pytest

import tiny_bert

pytestmark = pytest.mark.needs_tf


def _config_file(tiny_model_files, tmp_path, **fields):
    with open(tiny_model_files["bert_config_file"]) as f:
        config = dict(json.load(f), **fields)
    path = str(tmp_path / "bert_config.json")
    with open(path, "w") as f:
        json.dump(config, f)
    return path


def _logits(config_file, ids, mask):
    """(sequence output, [CLS] pooled output, the classifier's logits, its weights and bias), one graph."""
    import tensorflow.compat.v1 as tf

    from bert_runner.checks import load_bert_config
    from bert_runner.classification import classifier_logits
    from bert_runner.encoder import build_encoder

    with tf.Graph().as_default():
        tf.set_random_seed(5)
        encoder = build_encoder(load_bert_config(config_file), False, tf.constant(ids), tf.constant(mask))
        logits = classifier_logits(encoder, 3, is_training=False)
        weights, bias = tf.global_variables()[-2:]
        with tf.Session() as session:
            session.run(tf.global_variables_initializer())
            return session.run([encoder.get_sequence_output(), encoder.get_pooled_output(), logits, weights, bias])


@pytest.mark.parametrize("pooling", ["mean", "cls"])
def test_the_classifier_reads_the_pooling_the_config_names(tiny_model_files, tmp_path, pooling):
    ids = [[2, 5, 6, 7, 3, 0, 0], [2, 5, 3, 0, 0, 0, 0]]
    mask = [[1, 1, 1, 1, 1, 0, 0], [1, 1, 1, 0, 0, 0, 0]]
    sequence, pooled, logits, weights, bias = _logits(_config_file(tiny_model_files, tmp_path, pooling=pooling),
                                                      ids, mask)
    m = np.array(mask, dtype=np.float64)[:, :, None]
    token_mean = (sequence * m).sum(axis=1) / m.sum(axis=1)
    sentence = token_mean if pooling == "mean" else pooled
    np.testing.assert_allclose(logits, sentence @ weights.T + bias, atol=1e-5)
    other = pooled if pooling == "mean" else token_mean
    assert np.abs(logits - (other @ weights.T + bias)).max() > 1e-3  # the two vectors differ: the switch is real


def test_the_token_mean_ignores_padding(tiny_model_files, tmp_path):
    config_file = _config_file(tiny_model_files, tmp_path, pooling="mean")
    short = _logits(config_file, [[2, 5, 6, 3]], [[1, 1, 1, 1]])[2]
    padded = _logits(config_file, [[2, 5, 6, 3, 0, 0, 0, 0, 0]], [[1, 1, 1, 1, 0, 0, 0, 0, 0]])[2]
    np.testing.assert_allclose(short, padded, atol=1e-5)


def test_an_unknown_pooling_in_the_config_names_the_file(tiny_model_files, tmp_path):
    from bert_runner.checks import load_bert_config
    from bert_runner.errors import RunnerError

    config_file = _config_file(tiny_model_files, tmp_path, pooling="max")
    with pytest.raises(RunnerError, match=r"--bert_config_file=.*bert_config.json: pooling 'max' is not supported "
                                          r"\(supported: cls, mean\)"):
        load_bert_config(config_file)


def test_a_mean_pooled_run_learns_and_keeps_its_pooling_for_later_exports(tiny_model_files, tmp_path):
    """The config's pooling is the run's: saved beside the checkpoints, so an export made later with a config
    that lacks it (or Google's own) still builds the head the checkpoints were trained with."""
    from bert_runner.errors import RunnerError
    from bert_runner.run import run
    from pretrained.trained_model import from_export

    mean_config = _config_file(tiny_model_files, tmp_path, pooling="mean")
    output_dir = tmp_path / "run"
    summary = run(tiny_bert.run_options(tiny_model_files, output_dir, bert_config_file=mean_config, do_train=True,
                                        do_eval=True, seed=8))
    assert summary["train"]["pooling"] == "mean"
    assert summary["eval"]["accuracy"] >= 0.9, summary["eval"]  # the mean head learns the keywords
    assert (output_dir / "pooling.txt").read_text() == "mean\n"

    plain_config = tiny_model_files["bert_config_file"]  # no pooling field: "cls" for a new run
    exported = run(tiny_bert.run_options(tiny_model_files, output_dir, do_export=True))["export"]["path"]
    assert from_export(exported, plain_config).pooling == "mean"  # the export's graph computes the token mean

    with pytest.raises(RunnerError, match=r"--pooling=cls: the checkpoints in --output_dir=.*run were trained with "
                                          r"--pooling=mean \(pooling.txt\)"):
        run(tiny_bert.run_options(tiny_model_files, output_dir, do_export=True, pooling="cls"))


def test_the_flag_overrides_the_config_for_a_new_run(tiny_model_files, tmp_path):
    from bert_runner.run import run
    from pretrained.trained_model import from_export

    mean_config = _config_file(tiny_model_files, tmp_path, pooling="mean")
    output_dir = tmp_path / "run"
    summary = run(tiny_bert.run_options(tiny_model_files, output_dir, bert_config_file=mean_config, do_train=True,
                                        num_train_epochs=0.25, do_export=True, pooling="cls"))
    assert summary["train"]["pooling"] == "cls"
    assert (output_dir / "pooling.txt").read_text() == "cls\n"
    assert from_export(summary["export"]["path"], mean_config).pooling == "cls"


def test_checkpoints_from_before_pooling_txt_keep_the_pooled_cls(tiny_model_files, tmp_path):
    """Runs trained before the mean option read the pooled [CLS]; re-fetching all-MiniLM-L6-v2 (whose config
    now says mean) must not change what their checkpoints compute."""
    from bert_runner.errors import RunnerError
    from bert_runner.run import run
    from pretrained.trained_model import from_export

    output_dir = tmp_path / "run"
    run(tiny_bert.run_options(tiny_model_files, output_dir, do_train=True, num_train_epochs=0.25))
    os.remove(str(output_dir / "pooling.txt"))
    with pytest.raises(RunnerError, match=r"trained with --pooling=cls \(they have no pooling.txt: written before "
                                          r"it, they read the pooled \[CLS\]\)"):
        run(tiny_bert.run_options(tiny_model_files, output_dir, do_export=True, pooling="mean"))
    mean_config = _config_file(tiny_model_files, tmp_path, pooling="mean")
    exported = run(tiny_bert.run_options(tiny_model_files, output_dir, bert_config_file=mean_config,
                                         do_export=True))["export"]["path"]
    assert from_export(exported, mean_config).pooling == "cls"
    assert (output_dir / "pooling.txt").read_text() == "cls\n"


def test_run_ner_refuses_pooling(tiny_model_files, tmp_path):
    from bert_runner.errors import RunnerError
    from bert_runner.run import run
    from bert_runner.token_classification import TokenClassification

    data_dir = tiny_bert.write_ner_dataset(str(tmp_path / "ner"))
    options = tiny_bert.run_options(tiny_model_files, tmp_path / "run", task_name="ner", data_dir=data_dir,
                                    do_train=True, pooling="mean")
    with pytest.raises(RunnerError, match=r"--pooling=mean: run_ner.py classifies every token's own vector"):
        run(options, TokenClassification())
    assert not os.path.exists(str(tmp_path / "run" / "pooling.txt"))
