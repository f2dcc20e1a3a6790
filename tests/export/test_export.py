"""The exported SavedModel: signatures, fidelity to the estimator, metadata, warm-up, versions."""

import os
import subprocess
import sys

import numpy as np
import pytest

import tiny_bert

pytestmark = pytest.mark.needs_tf


def load_signature(export_path, signature_name="serving_default"):
    """A callable over the SavedModel's signature, loaded the way TF Serving does."""
    import tensorflow.compat.v1 as tf

    graph = tf.Graph()
    session = tf.Session(graph=graph)
    meta_graph = tf.saved_model.loader.load(session, ["serve"], export_path)
    signature = meta_graph.signature_def[signature_name]

    def call(**inputs):
        feed = {graph.get_tensor_by_name(signature.inputs[k].name): v for k, v in inputs.items()}
        fetches = {k: graph.get_tensor_by_name(v.name) for k, v in signature.outputs.items()}
        return session.run(fetches, feed)

    return call, signature


def featurize(model, texts, length):
    from featurizer import Featurizer, pad_batch

    featurizer = Featurizer(model["vocab_file"], max_seq_length=model["options"].max_seq_length)
    batch = pad_batch(featurizer.encode_batch(texts), length)
    batch["label_ids"] = [0] * len(texts)
    return {k: np.array(v, dtype=np.int32) for k, v in batch.items()}


def test_the_model_learned_and_wrote_reference_and_json_results(trained_tiny_model):
    output_dir = trained_tiny_model["options"].output_dir
    report = trained_tiny_model["summary"]["eval"]
    assert report["accuracy"] >= 0.75, report  # chance is 0.5; runs are not bit-reproducible on CPU threads
    assert set(report["per_class"]) == {"neg", "pos"}
    with open(os.path.join(output_dir, "eval_results.txt")) as f:
        keys = [line.split(" = ")[0] for line in f]
    assert keys == ["eval_accuracy", "eval_loss", "global_step", "loss"]
    with open(os.path.join(output_dir, "test_predictions.tsv")) as f:
        lines = f.read().splitlines()
    assert lines[0] == "prediction\tneg\tpos"
    assert len(lines) == 1 + 16 and all(line.split("\t")[0] in ("neg", "pos") for line in lines[1:])
    with open(os.path.join(output_dir, "test_results.tsv")) as f:
        probabilities = [list(map(float, line.split("\t"))) for line in f]
    assert np.allclose([sum(p) for p in probabilities], 1.0, atol=1e-5)


def test_saved_model_cli_shows_the_serving_signature(trained_tiny_model):
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    shown = subprocess.run(
        [cli, "show", "--dir", trained_tiny_model["export_path"], "--all"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        universal_newlines=True,
        check=True,
    ).stdout
    default = shown.split("signature_def['serving_default']:")[1].split("signature_def[")[0]
    for name in ("input_ids", "input_mask", "segment_ids"):
        assert "inputs['%s'] tensor_info:\n        dtype: DT_INT32\n        shape: (-1, 24)" % name in default
    assert "inputs['label_ids'] tensor_info:\n        dtype: DT_INT32\n        shape: (-1)" in default
    assert "outputs['output'] tensor_info:\n        dtype: DT_FLOAT\n        shape: (-1, 2)" in default
    assert "Method name is: tensorflow/serving/predict" in default
    assert "signature_def['metadata']" in shown


def test_saved_model_probabilities_equal_estimator_predict(trained_tiny_model):
    output_dir = trained_tiny_model["options"].output_dir
    with open(os.path.join(output_dir, "test_results.tsv")) as f:
        expected = np.array([list(map(float, line.split("\t"))) for line in f])
    texts = [text for _, text in tiny_bert.sentiment_rows(16, seed=3)]
    predict, _ = load_signature(trained_tiny_model["export_path"])
    got = predict(**featurize(trained_tiny_model, texts, 24))["output"]
    assert np.abs(got - expected).max() < 1e-5


def test_metadata_signature_carries_labels_and_featurizer_settings(trained_tiny_model):
    from featurizer import Featurizer, ModelInfo

    metadata, _ = load_signature(trained_tiny_model["export_path"], "metadata")
    rows = metadata(**featurize(trained_tiny_model, ["anything", "else"], 24))["metadata_json"]
    assert len(rows) == 2
    info = ModelInfo.from_json(rows[0].decode("utf-8"))
    assert info.labels == ["neg", "pos"]
    assert (info.max_seq_length, info.do_lower_case, info.task_name) == (24, True, "generic")
    assert info.text_pairs is False  # trained on single texts: servers refuse a second one
    info.check_featurizer(Featurizer(trained_tiny_model["vocab_file"]).vocab_sha256, True, 24)


def test_warmup_file_holds_predict_requests_that_run(trained_tiny_model):
    import tensorflow.compat.v1 as tf
    from tensorflow_serving.apis import prediction_log_pb2

    path = os.path.join(trained_tiny_model["export_path"], "assets.extra", "tf_serving_warmup_requests")
    logs = [prediction_log_pb2.PredictionLog.FromString(r) for r in tf.io.tf_record_iterator(path)]
    assert logs and all(log.HasField("predict_log") for log in logs)
    predict, _ = load_signature(trained_tiny_model["export_path"])
    for log in logs:
        inputs = {k: tf.make_ndarray(v) for k, v in log.predict_log.request.inputs.items()}
        assert set(inputs) == {"label_ids", "input_ids", "input_mask", "segment_ids"}
        assert predict(**inputs)["output"].shape == (len(inputs["label_ids"]), 2)


def test_versions_are_numeric_directories_with_nothing_half_written(trained_tiny_model):
    export_dir = os.path.dirname(trained_tiny_model["export_path"])
    names = os.listdir(export_dir)
    assert os.path.basename(trained_tiny_model["export_path"]) in names  # the export is there ...
    assert all(name.isdigit() for name in names), names  # ... and nothing else (no temp-* left)


@pytest.fixture(scope="module")
def dynamic_export(trained_tiny_model, tmp_path_factory):
    """`--do_export` alone with `--export_dynamic_seq_length`, from the trained checkpoint."""
    from bert_runner.run import run

    options = tiny_bert.run_options(
        trained_tiny_model,
        trained_tiny_model["options"].output_dir,
        do_export=True,
        export_dir=str(tmp_path_factory.mktemp("dynamic")),
        export_dynamic_seq_length=True,
    )
    return run(options)["export"]["path"]


def test_export_alone_uses_the_latest_checkpoint_and_can_be_dynamic(trained_tiny_model, dynamic_export):
    texts = ["good", "the movie is great and the food is good too today"]
    dynamic, signature = load_signature(dynamic_export)
    assert [d.size for d in signature.inputs["input_ids"].tensor_shape.dim] == [-1, -1]
    fixed, _ = load_signature(trained_tiny_model["export_path"])
    short = dynamic(**featurize(trained_tiny_model, texts, None))["output"]
    padded = fixed(**featurize(trained_tiny_model, texts, 24))["output"]
    assert np.abs(short - padded).max() < 1e-5


def test_dynamic_export_ignores_how_a_batching_server_pads(trained_tiny_model, dynamic_export):
    """TF Serving pads variable-length requests with each tensor's first element, not zeros."""
    dynamic, _ = load_signature(dynamic_export)
    texts = ["good", "the movie is bad"]
    exact = dynamic(**featurize(trained_tiny_model, texts, None))["output"]
    padded = featurize(trained_tiny_model, texts, None)
    for name in ("input_ids", "input_mask", "segment_ids"):
        first = padded[name].flat[0]
        padded[name] = np.concatenate([padded[name], np.full((2, 5), first, np.int32)], axis=1)
    assert np.abs(dynamic(**padded)["output"] - exact).max() < 1e-5
