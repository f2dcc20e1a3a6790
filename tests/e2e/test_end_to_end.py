"""The whole way, as a user runs it: text -> run_classifier.py -> SavedModel -> model server -> client CLI."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

pytestmark = pytest.mark.needs_tf

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_command(args, **kwargs):
    result = subprocess.run(
        [sys.executable] + args,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        **kwargs
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def saved_model_probabilities(export_path, featurizer, text_a, text_b=None):
    """The oracle: the SavedModel run in-process on the featurizer's ids."""
    import tensorflow.compat.v1 as tf

    from featurizer import pad_batch

    batch = pad_batch([featurizer.encode(text_a, text_b)], featurizer.max_seq_length)
    batch["label_ids"] = [0]
    graph = tf.Graph()
    with tf.Session(graph=graph) as session:
        signature = tf.saved_model.loader.load(session, ["serve"], export_path).signature_def["serving_default"]
        feed = {graph.get_tensor_by_name(signature.inputs[k].name): np.array(v, np.int32) for k, v in batch.items()}
        return session.run(graph.get_tensor_by_name(signature.outputs["output"].name), feed)[0]


def test_fine_tune_export_serve_and_query(tiny_model_files, tmp_path):
    from featurizer import Featurizer
    from model_servers import running_server

    output_dir = str(tmp_path / "run")
    export_dir = str(tmp_path / "exports" / "sentiment")
    run_command(
        [
            "run_classifier.py",
            "--task_name=generic",
            "--data_dir=" + tiny_model_files["data_dir"],
            "--vocab_file=" + tiny_model_files["vocab_file"],
            "--bert_config_file=" + tiny_model_files["bert_config_file"],
            "--output_dir=" + output_dir,
            "--export_dir=" + export_dir,
            "--max_seq_length=24",
            "--train_batch_size=16",
            "--learning_rate=1e-3",
            "--num_train_epochs=2",
            "--do_train",
            "--do_export",
        ]
    )
    (version,) = [name for name in os.listdir(export_dir) if name.isdigit()]
    export_path = os.path.join(export_dir, version)
    featurizer = Featurizer(tiny_model_files["vocab_file"], max_seq_length=24)

    with running_server(["--model_name=sentiment", "--model_base_path=" + export_dir], timeout=180) as server:
        client = ["-m", "serving_client", "--server=" + server.rest_url, "--model=sentiment", "--vocab=" + tiny_model_files["vocab_file"]]
        queries = [("what a lovely film", None), ("the food was awful", None), ("is it good? no , it is bad", None)]
        for text_a, text_b in queries:
            args = client + ["--format=json", text_a] + ([text_b] if text_b else [])
            answer = json.loads(run_command(args))  # one text: one JSON object
            expected = saved_model_probabilities(export_path, featurizer, text_a, text_b)
            got = [answer["probabilities"][label] for label in ("neg", "pos")]
            assert np.abs(np.array(got) - expected).max() < 1e-5, (text_a, text_b)
            assert answer["label"] == ("neg", "pos")[int(np.argmax(expected))]

        # The model was trained on single texts: a second text is refused before anything is sent.
        refused = subprocess.run([sys.executable] + client + ["is it good?", "no , it is bad"], cwd=REPO,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
        assert refused.returncode != 0 and "trained on single texts" in refused.stderr, refused.stderr

        # A file of texts, answered in input order as JSON lines.
        texts = tmp_path / "texts.txt"
        texts.write_text("good day\nbad day\nthe best movie\n")
        lines = run_command(client + ["--file=" + str(texts), "--format=jsonl", "--batch-size=2", "--no-progress"]).splitlines()
        assert [json.loads(line)["text"] for line in lines] == ["good day", "bad day", "the best movie"]
