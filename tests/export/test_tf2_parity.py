"""Exports of TF 1.15 give the same probabilities under TensorFlow 2.x (what production's TF Serving 2.x runs).

Every kind of export the project writes — fixed and dynamic length, the
generic task and each reference task (2 or 3 labels, single texts and pairs),
and an encoder with the exact GELU (`gelu_exact`, what imported Hugging Face
models use) — is loaded with TF 2.x's tf.compat.v1 loader, as TF Serving 2.x loads a
SavedModel, in the TF 2.x environment (.venv-tf2, `make setup-tf2`; the
Makefile passes its Python as TF2_PYTHON). The same inputs run under TF 1.15
here; the largest difference must stay under 1e-5.
"""

import json
import os
import subprocess

import numpy as np
import pytest

import tiny_bert

pytestmark = pytest.mark.needs_tf

HERE = os.path.dirname(os.path.abspath(__file__))
RUNNER = os.path.join(HERE, "..", "helpers", "tf2_signature_run.py")
TOLERANCE = 1e-5
TEXTS = ["good", "the movie is great and the food is good too today", "awful txt msg!!", "je n'aime pas ça 中文"]
PAIRS = ["a lovely day", "the worst film", "ok", "reply stop to win cash now"]


def _random_classifier_checkpoint(output_dir, bert_config_file, num_labels, seed):
    """A classifier checkpoint (BERT + the reference's output layer) with random weights and spread-out logits."""
    import tensorflow.compat.v1 as tf
    from bert import modeling

    from bert_runner.encoder import build_encoder

    config = modeling.BertConfig.from_json_file(bert_config_file)
    with tf.Graph().as_default():
        tf.set_random_seed(seed)
        build_encoder(config, False, tf.zeros([1, 4], tf.int32))
        tf.get_variable("output_weights", [num_labels, config.hidden_size],
                        initializer=tf.truncated_normal_initializer(stddev=2.0))
        tf.get_variable("output_bias", [num_labels], initializer=tf.zeros_initializer())
        tf.train.get_or_create_global_step()
        with tf.Session() as session:
            session.run(tf.global_variables_initializer())
            os.makedirs(output_dir, exist_ok=True)
            tf.train.Saver().save(session, os.path.join(output_dir, "model.ckpt"), global_step=0)


@pytest.fixture(scope="session")
def exports(trained_tiny_model, tmp_path_factory):
    """(name, export dir, featurizer settings) of every kind of export, written by this run's TF 1.15."""
    from bert_runner.run import run
    from bert_runner.tasks import make_task

    kinds = [("generic-fixed", trained_tiny_model["export_path"], False)]
    dynamic = tiny_bert.run_options(trained_tiny_model, trained_tiny_model["options"].output_dir, do_export=True,
                                    export_dir=str(tmp_path_factory.mktemp("dynamic")), export_dynamic_seq_length=True)
    kinds.append(("generic-dynamic", run(dynamic)["export"]["path"], False))
    for seed, (task, pairs) in enumerate([("cola", False), ("mrpc", True), ("mnli", True), ("xnli", False)]):
        for dynamic_length in (False, True):
            output_dir = str(tmp_path_factory.mktemp("%s-%s" % (task, "dynamic" if dynamic_length else "fixed")))
            labels = make_task(task, output_dir).get_labels()
            _random_classifier_checkpoint(output_dir, trained_tiny_model["bert_config_file"], len(labels), seed)
            options = tiny_bert.run_options(trained_tiny_model, output_dir, task_name=task, data_dir=None,
                                            do_export=True, export_dir=os.path.join(output_dir, "export"),
                                            export_dynamic_seq_length=dynamic_length)
            name = "%s-%s" % (task, "dynamic" if dynamic_length else "fixed")
            kinds.append((name, run(options)["export"]["path"], pairs))
    kinds.append(("cola-gelu_exact-dynamic", _gelu_exact_export(trained_tiny_model, tmp_path_factory), False))
    return kinds


def _gelu_exact_export(model, tmp_path_factory):
    """CoLA on an encoder whose bert_config.json says `gelu_exact` (random weights)."""
    from bert_runner.run import run
    from bert_runner.tasks import make_task

    output_dir = str(tmp_path_factory.mktemp("gelu_exact"))
    with open(model["bert_config_file"]) as f:
        config = dict(json.load(f), hidden_act="gelu_exact")
    config_file = os.path.join(output_dir, "bert_config.json")
    with open(config_file, "w") as f:
        json.dump(config, f)
    _random_classifier_checkpoint(output_dir, config_file, len(make_task("cola", output_dir).get_labels()), seed=11)
    options = tiny_bert.run_options(dict(model, bert_config_file=config_file), output_dir, task_name="cola",
                                    data_dir=None, do_export=True, export_dir=os.path.join(output_dir, "export"),
                                    export_dynamic_seq_length=True)
    return run(options)["export"]["path"]


def _inputs(model, pairs, dynamic):
    from featurizer import Featurizer, pad_batch

    featurizer = Featurizer(model["vocab_file"], max_seq_length=model["options"].max_seq_length)
    encoded = featurizer.encode_batch(TEXTS, PAIRS if pairs else None)
    batch = pad_batch(encoded, None if dynamic else model["options"].max_seq_length)
    batch["label_ids"] = [0] * len(TEXTS)
    return {name: np.array(value, dtype=np.int32) for name, value in batch.items()}


def _run_tf1(export_dir, inputs):
    import tensorflow.compat.v1 as tf

    graph = tf.Graph()
    with tf.Session(graph=graph) as session:
        signature = tf.saved_model.loader.load(session, ["serve"], export_dir).signature_def["serving_default"]
        feeds = {graph.get_tensor_by_name(signature.inputs[k].name): v for k, v in inputs.items()}
        return session.run({k: graph.get_tensor_by_name(v.name) for k, v in signature.outputs.items()}, feeds)


def test_every_export_gives_the_same_probabilities_under_tf2(trained_tiny_model, exports, tf2_python, tmp_path):
    manifest, expected = [], {}
    for name, export_dir, pairs in exports:
        inputs = _inputs(trained_tiny_model, pairs, dynamic=name.endswith("dynamic"))
        np.savez(str(tmp_path / (name + "-in.npz")), **inputs)
        expected[name] = _run_tf1(export_dir, inputs)
        manifest.append({"export": export_dir, "inputs": str(tmp_path / (name + "-in.npz")),
                         "outputs": str(tmp_path / (name + "-out.npz"))})
    with open(str(tmp_path / "manifest.json"), "w") as f:
        json.dump(manifest, f)
    result = subprocess.run([tf2_python, RUNNER, str(tmp_path / "manifest.json")], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, universal_newlines=True)
    assert result.returncode == 0, result.stdout[-4000:]
    assert "tensorflow 2." in result.stdout
    differences = {}
    for (name, _, _), entry in zip(exports, manifest):
        with np.load(entry["outputs"]) as got:
            assert set(got.files) == set(expected[name]), name
            probabilities = expected[name]["output"]
            assert probabilities.shape[0] == len(TEXTS) and np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5)
            assert probabilities.std() > 0.01, (name, probabilities)  # spread out: the comparison means something
            differences[name] = float(np.abs(got["output"] - probabilities).max())
    print("max |p(TF 2.x) - p(TF 1.15)| per export:", json.dumps(differences, sort_keys=True))
    assert max(differences.values()) < TOLERANCE, differences
