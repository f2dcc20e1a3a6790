"""Hugging Face models imported, exported and served give transformers' own outputs.

tests/helpers/hf_tiny_models.py runs once per session under TF2_PYTHON (.venv-tf2 with
transformers' TF classes, no PyTorch): tiny random BERT and DistilBERT models, each with no
head, a sequence-classification, a token-classification and a multi-label sequence-classification
head (problem_type multi_label_classification), saved by `save_pretrained`
as TF-layout model.safetensors and as tf_model.h5, plus transformers' outputs for fixed
inputs. Here each is imported (`python -m pretrained import`), the headed ones exported
without training (`run_classifier.py` / `run_ner.py --do_export`) and served by one local
server; served probabilities must equal transformers' softmax(logits) (multi-label:
sigmoid(logits), served by the multi-label family) within 1e-5. The
encoders (no head, and the real all-MiniLM-L6-v2 in PyTorch layout) are compared on their
final hidden states.
"""

import contextlib
import io
import json
import os
import subprocess
import sys

import hf_reference
import numpy as np
import pytest

from featurizer import Featurizer, pad_batch

pytestmark = pytest.mark.needs_tf

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
TOLERANCE = 1e-5
MINILM_TEXTS = hf_reference.MINILM_TEXTS
HEADED = ["bert-seq", "bert-tok", "distilbert-seq", "distilbert-tok", "bert-multi", "distilbert-multi"]


def import_model(hf_dir, output_dir):
    """`python -m pretrained import` in this process; returns its flags as a dict."""
    from pretrained.cli import main

    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        assert main(["import", "--hf_dir", hf_dir, "--output_dir", output_dir]) == 0
    flags = dict(line[2:].split("=", 1) for line in stdout.getvalue().splitlines())
    flags["do_lower_case"] = flags["do_lower_case"] == "true"
    flags["max_seq_length"] = int(flags["max_seq_length"])
    return flags


@pytest.fixture(scope="session")
def served_imports(hf_models, tmp_path_factory):
    """The headed models imported from TF-layout safetensors, exported without training, served by one server."""
    from model_servers import running_server

    from bert_runner.options import RunOptions
    from bert_runner.run import run
    from bert_runner.token_classification import TokenClassification

    root = tmp_path_factory.mktemp("hf_imports")
    configs = []
    for name in HEADED:
        model = hf_models["models"][name]
        output_dir = str(root / name)
        flags = import_model(model["dirs"]["safetensors"], output_dir)
        if model["head"] != "tok":
            flags["text_b_column"] = "text_b"  # the classifiers take sentence pairs (the import cannot tell)
        if name == "bert-seq":  # the README's commands, as a user types them
            command = [sys.executable, os.path.join(REPO, "run_classifier.py")]
            command += ["--%s=%s" % (k, str(v).lower() if isinstance(v, bool) else v) for k, v in flags.items()]
            result = subprocess.run(command + ["--do_export"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                    universal_newlines=True, cwd=str(root))
            assert result.returncode == 0, result.stdout[-4000:]
        else:
            family = TokenClassification() if model["head"] == "tok" else None
            if family:
                flags["task_name"] = "ner"  # run_ner.py's default
            run(RunOptions(do_export=True, **flags), family)
        configs.append('config { name: "%s" base_path: "%s" model_platform: "tensorflow" }'
                       % (name, os.path.join(output_dir, "export")))
    config_file = root / "models.config"
    config_file.write_text("model_config_list { %s }" % " ".join(configs))
    with running_server(["--model_config_file=%s" % config_file]) as server:
        yield {"server": server, "run_dirs": {name: str(root / name) for name in HEADED}}


def _case(model, name):
    return next(case for case in model["cases"] if case["name"] == name)


def _client(served, name):
    from serving_client import ServingClient

    return ServingClient(served["server"].rest_url, name)


@pytest.mark.parametrize("name", ["bert-seq", "distilbert-seq", "bert-multi", "distilbert-multi"])
def test_served_sequence_probabilities_equal_transformers(served_imports, hf_models, name):
    """softmax(logits); for problem_type multi_label_classification, the multi-label family's sigmoid(logits)."""
    model = hf_models["models"][name]
    client = _client(served_imports, name)
    id2label = model["id2label"]
    assert client.labels == [id2label[str(i)] for i in range(len(id2label))]  # the metadata names id2label
    multi = model["head"] == "multi"
    assert client.task_kind == ("multi_label_classification" if multi else "sequence_classification")
    cases = [_case(model, "batch"), _case(model, "single-0"), _case(model, "single-1")]
    if model["architecture"] == "bert":
        cases.append(_case(model, "pairs"))
    worst = 0.0
    for case in cases:
        _check_same_ids(client.featurizer, case)
        predictions = client.predict_batch(case["texts"], case["pairs"])
        served = np.array([[(p.scores if multi else p.probabilities)[label] for label in client.labels]
                           for p in predictions])
        want = np.array(case["outputs"])
        assert want.std() > 0.05, want  # spread out: the comparison means something
        worst = max(worst, float(np.abs(served - want).max()))
    print("%s: max |served - transformers| = %.2e" % (name, worst))
    assert worst < TOLERANCE


@pytest.mark.parametrize("name", ["bert-tok", "distilbert-tok"])
def test_served_token_probabilities_equal_transformers(served_imports, hf_models, name):
    import requests

    model = hf_models["models"][name]
    client = _client(served_imports, name)
    tags = client.labels
    # The NER family's tag order (O, then B-/I- per type), not id2label's: the importer permuted the rows.
    assert tags == ["O", "B-per", "I-per", "B-loc", "I-loc"] and client.task_kind == "token_classification"
    hf_column = {label: int(i) for i, label in model["id2label"].items()}
    worst = 0.0
    for case in [_case(model, "batch"), _case(model, "single-0")]:
        _check_same_ids(client.featurizer, case)
        batch = pad_batch(client.featurizer.encode_batch(case["texts"]), client.sequence_length)
        batch["label_ids"] = [[0] * client.sequence_length for _ in case["texts"]]
        response = requests.post("%s/v1/models/%s:predict" % (served_imports["server"].rest_url, name),
                                 json={"inputs": batch}, timeout=30)
        assert response.status_code == 200, response.text
        served = np.array(response.json()["outputs"])
        want = np.array(case["outputs"])[:, :, [hf_column[tag] for tag in tags]]
        real = np.array(case["attention_mask"], bool)
        length = real.shape[1]
        worst = max(worst, float(np.abs(served[:, :length][real] - want[real]).max()))
    print("%s: max |served - transformers| = %.2e" % (name, worst))
    assert worst < TOLERANCE


@pytest.mark.parametrize("name", ["bert-none", "distilbert-none"])
def test_imported_encoders_equal_transformers_in_both_tf_layouts(hf_models, name, tmp_path):
    """No head: the final hidden states; TF-layout safetensors and tf_model.h5 give the same checkpoint."""
    model = hf_models["models"][name]
    flags = {layout: import_model(model["dirs"][layout], str(tmp_path / layout)) for layout in ("safetensors", "h5")}
    manifest = flags["safetensors"]
    _assert_same_checkpoint(flags["safetensors"]["init_checkpoint"], flags["h5"]["init_checkpoint"])
    worst = 0.0
    for case in model["cases"]:
        inputs = _check_same_ids(Featurizer(manifest["vocab_file"], max_seq_length=64), case)
        got = hf_reference.run_encoder(manifest, inputs)
        real = np.array(case["attention_mask"], bool)
        worst = max(worst, float(np.abs(got[real] - np.array(case["outputs"])[real]).max()))
    print("%s: max |encoder - transformers| = %.2e" % (name, worst))
    assert worst < TOLERANCE


@pytest.mark.parametrize("name", HEADED)
def test_tf_model_h5_imports_to_the_same_checkpoint(hf_models, served_imports, name, tmp_path):
    import tensorflow.compat.v1 as tf

    model = hf_models["models"][name]
    flags = import_model(model["dirs"]["h5"], str(tmp_path / "h5"))
    _assert_same_checkpoint(tf.train.latest_checkpoint(flags["output_dir"]),
                            tf.train.latest_checkpoint(served_imports["run_dirs"][name]))


def test_minilm_encoder_equals_transformers(hf_models, tmp_path):
    """all-MiniLM-L6-v2 (PyTorch-layout safetensors) through the exact GELU: transformers' hidden states."""
    if "minilm" not in hf_models:
        pytest.skip("all-MiniLM-L6-v2 is not in cache/pretrained (run `python -m pretrained fetch`)")
    hf_dir = os.path.join(REPO, "cache", "pretrained", "all-MiniLM-L6-v2", "hf")
    flags = import_model(hf_dir, str(tmp_path / "minilm"))
    case = dict(hf_models["minilm"], texts=MINILM_TEXTS, pairs=None)
    inputs = _check_same_ids(Featurizer(flags["vocab_file"], max_seq_length=64), case)
    got = hf_reference.run_encoder(flags, inputs)
    real = np.array(case["attention_mask"], bool)
    worst = float(np.abs(got[real] - np.array(case["outputs"])[real]).max())
    print("all-MiniLM-L6-v2: max |encoder - transformers| = %.2e" % worst)
    assert worst < TOLERANCE


def _check_same_ids(featurizer, case):
    """The featurizer's ids equal transformers' for the case's texts; returns them padded alike."""
    length = len(case["input_ids"][0])
    encoded = featurizer.encode_batch(case["texts"], case["pairs"])
    inputs = pad_batch(encoded, length)
    assert inputs["input_ids"] == case["input_ids"]
    assert inputs["input_mask"] == case["attention_mask"]
    return inputs


def _assert_same_checkpoint(prefix_a, prefix_b):
    import tensorflow.compat.v1 as tf

    a, b = tf.train.load_checkpoint(prefix_a), tf.train.load_checkpoint(prefix_b)
    names = a.get_variable_to_shape_map()
    assert names == b.get_variable_to_shape_map()
    for name in names:
        np.testing.assert_array_equal(a.get_tensor(name), b.get_tensor(name), err_msg=name)

