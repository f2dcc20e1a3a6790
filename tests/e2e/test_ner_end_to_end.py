"""NER the whole way: CoNLL -> run_ner.py -> SavedModel -> model server -> client entity spans.

A tiny random BERT learns person and place names of the tiny vocab; the
client must find them in hostile Unicode text with offsets into the text it
was given, windowed exactly as in training.
"""

import json
import os
import subprocess
import sys
import threading

import numpy as np
import pytest
import requests

import tiny_bert

pytestmark = pytest.mark.needs_tf

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LENGTH = 24
STRIDE = 4
TAGS = ["O", "B-loc", "I-loc", "B-per", "I-per"]


def command(args, expect=0):
    result = subprocess.run([sys.executable] + args, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            universal_newlines=True)
    assert result.returncode == expect, result.stderr[-3000:]
    return result


@pytest.fixture(scope="module")
def ner_run(tiny_model_files, tmp_path_factory):
    root = tmp_path_factory.mktemp("ner")
    data_dir = tiny_bert.write_ner_dataset(str(root / "data"))
    output_dir, exports = str(root / "run"), str(root / "exports")
    common = ["--data_dir=" + data_dir, "--vocab_file=" + tiny_model_files["vocab_file"],
              "--bert_config_file=" + tiny_model_files["bert_config_file"], "--output_dir=" + output_dir,
              "--max_seq_length=%d" % LENGTH, "--doc_stride=%d" % STRIDE]
    command(["run_ner.py"] + common + [
        "--export_dir=" + os.path.join(exports, "ner"), "--train_batch_size=8", "--learning_rate=1e-3",
        "--num_train_epochs=10", "--seed=7", "--do_train", "--do_eval", "--do_predict", "--do_export"])
    # The same checkpoint again, exported alone with a dynamic sequence length.
    command(["run_ner.py"] + common + ["--export_dir=" + os.path.join(exports, "ner_dynamic"),
                                       "--export_dynamic_seq_length", "--do_export"])
    paths = {}
    for name in ("ner", "ner_dynamic"):
        (version,) = [v for v in os.listdir(os.path.join(exports, name)) if v.isdigit()]
        paths[name] = os.path.join(exports, name, version)
    return {"output_dir": output_dir, "exports": exports, "paths": paths, "data_dir": data_dir, **tiny_model_files}


@pytest.fixture(scope="module")
def server(ner_run, tmp_path_factory):
    from model_servers import running_server

    root = tmp_path_factory.mktemp("ner_server")
    config = root / "models.config"
    config.write_text("model_config_list {\n%s}\n" % "".join(
        '  config { name: "%s" base_path: "%s" model_platform: "tensorflow" }\n' % (name, os.path.join(ner_run["exports"], name))
        for name in ("ner", "ner_dynamic")))
    batching = root / "batching.config"
    batching.write_text("max_batch_size { value: 16 }\nbatch_timeout_micros { value: 20000 }\npad_variable_length_inputs: true\n")
    with running_server(["--model_config_file=%s" % config, "--enable_batching",
                         "--batching_parameters_file=%s" % batching], timeout=240) as running:
        yield running


def test_training_writes_entity_scores_and_predictions(ner_run):
    output_dir = ner_run["output_dir"]
    with open(os.path.join(output_dir, "eval_results.json")) as f:
        report = json.load(f)
    assert report["micro"]["f1"] > 0.8, report
    assert set(report["per_type"]) == {"per", "loc"}
    with open(os.path.join(output_dir, "eval_results.txt")) as f:
        text = f.read()
    assert "entity_f1 = " in text and "micro avg" in text
    with open(os.path.join(output_dir, "label_list.txt")) as f:
        assert f.read().split() == TAGS
    # token gold predicted, blank line between sentences: what conlleval reads.
    with open(os.path.join(output_dir, "test_predictions.conll")) as f:
        blocks = f.read().strip("\n").split("\n\n")
    assert len(blocks) == 24
    rows = [line.split(" ") for block in blocks for line in block.split("\n")]
    assert all(len(row) == 3 and row[1] in TAGS and row[2] in TAGS for row in rows)
    assert sum(row[1] == row[2] for row in rows) >= 0.9 * len(rows)
    with open(os.path.join(output_dir, "test_entities.jsonl")) as f:
        records = [json.loads(line) for line in f]
    assert len(records) == 24 and any(record["entities"] for record in records)
    for record in records:
        for entity in record["entities"]:
            assert record["text"][entity["start"]:entity["end"]] == entity["text"]


def test_saved_model_cli_shows_the_token_signature(ner_run):
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    shown = subprocess.run([cli, "show", "--dir", ner_run["paths"]["ner"], "--all"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, universal_newlines=True, check=True).stdout
    default = shown.split("signature_def['serving_default']")[1].split("signature_def[")[0]
    assert "inputs['label_ids'] tensor_info:\n        dtype: DT_INT32\n        shape: (-1, %d)" % LENGTH in default
    assert "outputs['output'] tensor_info:\n        dtype: DT_FLOAT\n        shape: (-1, %d, %d)" % (LENGTH, len(TAGS)) in default
    assert "signature_def['metadata']" in shown
    dynamic = subprocess.run([cli, "show", "--dir", ner_run["paths"]["ner_dynamic"], "--all"], stdout=subprocess.PIPE,
                             universal_newlines=True, check=True).stdout
    assert "shape: (-1, -1, %d)" % len(TAGS) in dynamic


HOSTILE = [
    "\u00bfZ\u00c9D\u00a0LEE\u200b went to J\u00f6lo?!",
    "the movie with QUINN kim, in vik\ufe0f today \u4e2d\u6587",
    "\U0001f600 the day is good xe\u0301na is home",
]


def oracle_outputs(export_path, encoded, length):
    """The SavedModel run in-process on windows: [windows, L, tags]."""
    import tensorflow.compat.v1 as tf

    from featurizer import pad_batch

    batch = pad_batch(encoded, length)
    batch["label_ids"] = [[0] * len(row) for row in batch["input_ids"]]
    graph = tf.Graph()
    with tf.Session(graph=graph) as session:
        signature = tf.saved_model.loader.load(session, ["serve"], export_path).signature_def["serving_default"]
        feed = {graph.get_tensor_by_name(signature.inputs[k].name): np.array(v, np.int32) for k, v in batch.items()}
        return session.run(graph.get_tensor_by_name(signature.outputs["output"].name), feed).tolist()


@pytest.mark.parametrize("model", ["ner", "ner_dynamic"])
def test_client_finds_names_with_exact_offsets_in_hostile_text(ner_run, server, model):
    from serving_client import ServingClient

    with ServingClient(server.rest_url, model, ner_run["vocab_file"]) as client:
        assert client.model_info.doc_stride == STRIDE and client.model_info.tag_scheme == "IOB2"
        results = client.entities_batch(HOSTILE)
    found = [[(e.label, e.text) for e in r.entities] for r in results]
    assert ("per", "Z\u00c9D\u00a0LEE") in found[0] and ("loc", "J\u00f6lo") in found[0], found
    assert ("per", "QUINN kim") in found[1] and ("loc", "vik\ufe0f") in found[1], found
    assert ("per", "xe\u0301na") in found[2], found
    for text, result in zip(HOSTILE, results):
        for entity in result.entities:
            assert text[entity.start:entity.end] == entity.text


def test_long_text_windows_are_read_like_the_saved_model_and_short_texts_are_unchanged(ner_run, server):
    from featurizer import Featurizer
    from serving_client import ServingClient
    from tagging.decode import decode

    featurizer = Featurizer(ner_run["vocab_file"], max_seq_length=LENGTH)
    long_text = " ".join(["the film with zed lee in jolo is good today"] * 4)
    windowed = featurizer.encode_windows(featurizer.text_pieces(long_text), STRIDE)
    assert len(windowed.windows) > 3
    expected = decode(long_text, windowed, oracle_outputs(ner_run["paths"]["ner"], windowed.encoded, LENGTH), TAGS)
    with ServingClient(server.rest_url, "ner", ner_run["vocab_file"]) as client:
        got = client.entities(long_text).entities
    assert [(e.start, e.end, e.label) for e in got] == [(e.start, e.end, e.label) for e in expected]
    assert [e.score for e in got] == pytest.approx([e.score for e in expected], abs=1e-5)
    assert [(e.label, e.text) for e in got].count(("per", "zed lee")) == 4
    # A text that fits one window: the stride changes nothing.
    short = "zed lee is in jolo"
    answers = []
    for stride in (1, 3, None):
        with ServingClient(server.rest_url, "ner", ner_run["vocab_file"], doc_stride=stride) as client:
            answers.append(client.entities(short))
    assert answers[0] == answers[1] == answers[2]


def test_both_rest_formats_and_batched_padding_give_the_same_3d_answer(ner_run, server):
    from featurizer import Featurizer, pad_batch

    featurizer = Featurizer(ner_run["vocab_file"], max_seq_length=LENGTH)
    texts = ["zed", "the movie with quinn kim is in vik today ok", "xena"]
    encoded = [featurizer.encode(t) for t in texts]
    url = server.rest_url + "/v1/models/ner_dynamic:predict"
    columnar = pad_batch(encoded)
    columnar["label_ids"] = [[0] * len(row) for row in columnar["input_ids"]]
    rows = [{k: columnar[k][i] for k in columnar} for i in range(len(texts))]
    by_columns = requests.post(url, json={"inputs": columnar}, timeout=60).json()["outputs"]
    by_rows = requests.post(url, json={"instances": rows}, timeout=60).json()["predictions"]
    width = len(columnar["input_ids"][0])
    assert np.array(by_columns).shape == (3, width, len(TAGS))
    assert np.abs(np.array(by_columns) - np.array(by_rows)).max() < 1e-5
    # One text per request, concurrently: the batching server pads them together.
    alone = [None] * len(texts)

    def send(i):
        body = pad_batch([encoded[i]])
        body["label_ids"] = [[0] * len(body["input_ids"][0])]
        alone[i] = requests.post(url, json={"inputs": body}, timeout=60).json()["outputs"][0]

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(texts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for i, e in enumerate(encoded):
        n = len(e.input_ids)
        assert np.abs(np.array(alone[i])[:n] - np.array(by_columns[i])[:n]).max() < 1e-4


def test_cli_prints_entities_as_json_lines(ner_run, server, tmp_path):
    path = tmp_path / "texts.txt"
    path.write_text("\n".join(HOSTILE) + "\n", encoding="utf-8")
    out = command(["-m", "serving_client", "--server=" + server.rest_url, "--model=ner", "--vocab=" + ner_run["vocab_file"],
                   "--file=%s" % path, "--format=jsonl"]).stdout
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["text"] for r in records] == HOSTILE
    assert ("per", "Z\u00c9D\u00a0LEE") in [(e["label"], e["text"]) for e in records[0]["entities"]]


def test_each_entry_point_refuses_the_other_kind(ner_run, trained_tiny_model):
    refused = command(["run_classifier.py", "--task_name=generic", "--vocab_file=" + ner_run["vocab_file"],
                       "--bert_config_file=" + ner_run["bert_config_file"], "--output_dir=" + ner_run["output_dir"],
                       "--max_seq_length=%d" % LENGTH, "--do_export"], expect=2)
    assert refused.stderr.strip().endswith(
        "holds a token classification model; this command trains a sequence classification model (use run_ner.py, or another --output_dir)")
    classifier_dir = trained_tiny_model["options"].output_dir
    refused = command(["run_ner.py", "--vocab_file=" + ner_run["vocab_file"], "--bert_config_file=" + ner_run["bert_config_file"],
                       "--output_dir=" + classifier_dir, "--max_seq_length=%d" % LENGTH, "--do_export"], expect=2)
    assert "holds a sequence classification model; this command trains a token classification model (use run_classifier.py" in refused.stderr
