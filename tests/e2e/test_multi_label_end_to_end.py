"""Multi-label, the whole way: texts -> run_classifier.py --task_name=multilabel -> SavedModel -> batching server -> REST."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import requests

import tiny_bert

pytestmark = pytest.mark.needs_tf

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MAX_SEQ_LENGTH = 24


def run_command(args):
    result = subprocess.run([sys.executable] + args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            universal_newlines=True)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_fine_tune_export_and_serve_a_multi_label_model(tiny_model_files, tmp_path):
    from bert_contract import MULTI_LABEL_CLASSIFICATION
    from featurizer import Featurizer, pad_batch
    from model_servers import concurrent_predict, running_server

    data = tiny_bert.write_multi_label_dataset(str(tmp_path / "data"))
    output_dir, export_dir = str(tmp_path / "run"), str(tmp_path / "exports" / "emotions")
    run_command([
        "run_classifier.py", "--task_name=multilabel", "--data_dir=" + data,
        "--vocab_file=" + tiny_model_files["vocab_file"], "--bert_config_file=" + tiny_model_files["bert_config_file"],
        "--output_dir=" + output_dir, "--export_dir=" + export_dir, "--max_seq_length=%d" % MAX_SEQ_LENGTH,
        "--train_batch_size=16", "--learning_rate=5e-4", "--num_train_epochs=20", "--seed=7",
        "--do_train", "--do_eval", "--tune_thresholds", "--do_predict", "--do_export",
    ])
    (version,) = [name for name in os.listdir(export_dir) if name.isdigit()]
    export_path = os.path.join(export_dir, version)

    # What a user checks first: the signature's shapes.
    shown = run_command(["-m", "tensorflow.python.tools.saved_model_cli", "show", "--dir", export_path, "--all"])
    default = shown.split("signature_def['serving_default']:")[1].split("signature_def[")[0]
    assert "inputs['label_ids'] tensor_info:\n        dtype: DT_INT32\n        shape: (-1, 3)" in default
    assert "outputs['output'] tensor_info:\n        dtype: DT_FLOAT\n        shape: (-1, 3)" in default

    with open(os.path.join(output_dir, "eval_results.json")) as f:
        thresholds = json.load(f)["thresholds"]
    # The estimator's own predictions of the test texts (padded per batch, not to max_seq_length).
    estimator = np.loadtxt(os.path.join(output_dir, "test_results.tsv"), delimiter="\t")
    texts = [text for _, text in tiny_bert.multi_label_rows(16, seed=23)]
    featurizer = Featurizer(tiny_model_files["vocab_file"], max_seq_length=MAX_SEQ_LENGTH)
    rows = pad_batch(featurizer.encode_batch(texts), MAX_SEQ_LENGTH)
    instances = [dict({name: rows[name][i] for name in rows}, label_ids=[0, 0, 0]) for i in range(len(texts))]

    batching = tmp_path / "batching.config"
    batching.write_text("max_batch_size { value: 8 }\nbatch_timeout_micros { value: 200000 }\n"
                        "num_batch_threads { value: 1 }\nallowed_batch_sizes: 8\n")
    with running_server(["--model_name=emotions", "--model_base_path=" + export_dir, "--enable_batching",
                         "--batching_parameters_file=" + str(batching)], timeout=180) as server:
        base = server.rest_url + "/v1/models/emotions"
        # One text a request, all in flight together: the server batches them.
        answers = concurrent_predict(base + ":predict", [{"instances": [row]} for row in instances])
        metadata = requests.post(base + ":predict", json={"signature_name": "metadata", "instances": instances[:1]},
                                 timeout=60).json()
    assert [status for status, _ in answers] == [200] * len(texts), answers
    served = np.array([body["predictions"][0] for _, body in answers])
    np.testing.assert_allclose(served, estimator, atol=1e-5)
    assert ((served > 0) & (served < 1)).all() and not np.allclose(served.sum(axis=1), 1.0)  # sigmoids
    info = json.loads(metadata["predictions"][0])
    assert info["task_kind"] == MULTI_LABEL_CLASSIFICATION
    assert info["labels"] == tiny_bert.MULTI_LABELS and info["thresholds"] == thresholds
    # The label sets every client derives from the probabilities and the exported thresholds.
    with open(os.path.join(output_dir, "test_predictions.tsv")) as f:
        predicted = [line.split("\t")[0] for line in f.read().splitlines()[1:]]
    decided = [",".join(l for l, p, t in zip(info["labels"], row, info["thresholds"]) if p >= t) for row in served]
    assert decided == predicted
