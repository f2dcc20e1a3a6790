"""End to end: the client against the local model server serving a real tiny export.

Starts the local server (REST and gRPC on ports it picks itself) and checks that REST and gRPC predictions equal running the
SavedModel directly on the featurizer's ids.
"""

import json
import os

import pytest

from serving_client import ModelMismatchError, ServingClient

pytestmark = pytest.mark.needs_tf


MODEL = "tiny"
TEXTS = ["the movie was good", "awful film , i hate it", "lovely day", "the food is bad"]


@pytest.fixture(scope="module")
def served(trained_tiny_model):
    """(rest_url, grpc_url, export_path) of a running local model server; stopped afterwards."""
    export_path = trained_tiny_model["export_path"]
    args = ["--model_name=%s" % MODEL, "--model_base_path=%s" % os.path.dirname(export_path)]
    # REST opens only once every model has an AVAILABLE version (contract §1).
    from model_servers import running_server

    with running_server(args, timeout=180.0) as server:
        yield server.rest_url, "grpc://" + server.grpc_target, export_path


def direct_probabilities(export_path, vocab_file, max_seq_length):
    """The SavedModel's serving_default run in-process on the featurizer's ids (the oracle)."""
    import numpy as np
    import tensorflow.compat.v1 as tf
    from featurizer import Featurizer, pad_batch

    featurizer = Featurizer(vocab_file, True, max_seq_length, use_fast=False)
    batch = pad_batch(featurizer.encode_batch(TEXTS), max_seq_length)
    batch["label_ids"] = [0] * len(TEXTS)
    graph = tf.Graph()
    with tf.Session(graph=graph) as session:
        signature = tf.saved_model.loader.load(session, ["serve"], export_path).signature_def["serving_default"]
        feed = {graph.get_tensor_by_name(signature.inputs[k].name): np.array(v, np.int32) for k, v in batch.items()}
        (output,) = signature.outputs.values()
        return session.run(graph.get_tensor_by_name(output.name), feed).tolist()


@pytest.mark.parametrize("transport", ["rest", "grpc"])
def test_predictions_equal_the_saved_model_run_directly(served, trained_tiny_model, transport):
    rest_url, grpc_url, export_path = served
    url = rest_url if transport == "rest" else grpc_url
    with ServingClient(url, MODEL, trained_tiny_model["vocab_file"], batch_size=3) as client:
        predictions = client.predict_batch(TEXTS)
        assert client.labels == ["neg", "pos"]
        assert client.model_version == int(os.path.basename(export_path))
        length = client.sequence_length
    expected = direct_probabilities(export_path, trained_tiny_model["vocab_file"], length)
    for prediction, row in zip(predictions, expected):
        assert [prediction.probabilities[label] for label in ("neg", "pos")] == pytest.approx(row, abs=1e-5)
    # Which class wins is the training's business (tests/export); the client must name the argmax.
    assert [p.label for p in predictions] == [("neg", "pos")[row.index(max(row))] for row in expected]


def test_a_wrong_vocab_is_refused_by_the_real_export(served, tmp_path, trained_tiny_model):
    rest_url, _, _ = served
    other = tmp_path / "vocab.txt"
    other.write_text(open(trained_tiny_model["vocab_file"], encoding="utf-8").read() + "extra\n", encoding="utf-8")
    with pytest.raises(ModelMismatchError) as info:
        ServingClient(rest_url, MODEL, str(other)).predict("good")
    assert "vocab sha256" in str(info.value)


@pytest.mark.parametrize("transport", ["rest", "grpc"])
def test_the_export_carries_its_vocab_so_no_vocab_file_is_needed(served, trained_tiny_model, transport):
    rest_url, grpc_url, _ = served
    url = rest_url if transport == "rest" else grpc_url
    with ServingClient(url, MODEL, trained_tiny_model["vocab_file"]) as client:
        expected = client.predict_batch(TEXTS)
    with ServingClient(url, MODEL) as client:
        assert client.predict_batch(TEXTS) == expected


def test_cli_classifies_without_vocab_and_refuses_a_mismatched_one(served, trained_tiny_model, tmp_path, capsys):
    from serving_client import cli

    rest_url, _, _ = served
    assert cli.main(["--server", rest_url, "--model", MODEL, "--format", "json", TEXTS[0]]) == 0
    out, err = capsys.readouterr()
    with ServingClient(rest_url, MODEL, trained_tiny_model["vocab_file"]) as client:
        assert json.loads(out)["probabilities"] == client.predict(TEXTS[0]).probabilities
    other = tmp_path / "other_vocab.txt"
    other.write_text(open(trained_tiny_model["vocab_file"], encoding="utf-8").read() + "extra\n", encoding="utf-8")
    assert cli.main(["--server", rest_url, "--model", MODEL, "--vocab", str(other), TEXTS[0]]) == 1
    out, err = capsys.readouterr()
    assert out == "" and len(err.splitlines()) == 1 and "vocab sha256" in err
