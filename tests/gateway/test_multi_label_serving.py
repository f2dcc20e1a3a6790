"""Multi-label models served with batching: the client, the gateway and the Lambda handler give the same label sets.

End to end: a tiny BERT fine-tuned by the runner's multi-label family
(thresholds tuned on dev), exported with --export_onnx, served by the local
server with batching; every path's label sets equal the runner's own test
predictions. And a golden SavedModel with the export's signatures and
metadata, written by TF 1.15 (tests/helpers/multi_label_savedmodel.py), whose
label sets the test knows by construction (per-label thresholds included).
"""

import json
import os
import subprocess

import pytest

from loopback import REPO, ModelServer, build_tiny_export, child_environment  # tests/helpers
from multi_label_savedmodel import KNOWN_LABEL_SETS as EXPECTED, KNOWN_TEXTS as TEXTS  # tests/helpers
from serving_client import LabelSet, ServingClient
from text_lambda.handler import ClientBackend, handle

pytest.importorskip("starlette", reason="the gateway's packages are not installed (make setup-gateway)")

MODEL = "tickets"


@pytest.fixture(scope="module")
def golden_server(py37, tiny_vocab_file, tmp_path_factory):
    root = tmp_path_factory.mktemp("multi_label")
    result = subprocess.run([py37, os.path.join(REPO, "tests", "helpers", "multi_label_savedmodel.py"), str(root / "export"),
                             tiny_vocab_file], cwd=REPO, env=child_environment(), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, timeout=300)
    assert result.returncode == 0, result.stderr.decode("utf-8", "replace")[-3000:]
    export = json.loads(result.stdout.decode("utf-8").splitlines()[-1])
    server = ModelServer(py37, export["export_base"], str(root), MODEL, ["--enable_batching"]).start()
    yield server
    server.stop()


def test_client_gateway_and_lambda_give_the_same_label_sets(golden_server, start_gateway):
    with ServingClient("http://" + golden_server.rest_host, MODEL, batch_size=2) as client:
        results = client.predict_batch(TEXTS)
        assert client.task_kind == "multi_label_classification"
    assert all(isinstance(r, LabelSet) for r in results)
    assert [r.labels for r in results] == EXPECTED
    assert results[0].scores == pytest.approx({"positive": 0.8808, "negative": 0.1192, "food": 0.8808}, abs=1e-4)

    gateway = start_gateway(["--model_name=%s" % MODEL, "--predictor_host=%s" % golden_server.rest_host,
                             "--refresh_seconds=0.2", "--chunk_size=2"]).wait_ready(model=MODEL)
    answer = gateway.post("/v1/models/%s:predict" % MODEL, json={"instances": TEXTS})
    assert answer.status_code == 200, answer.text
    from_gateway = answer.json()["predictions"]
    assert [tuple(p["labels"]) for p in from_gateway] == EXPECTED
    for record, result in zip(from_gateway, results):
        assert record["scores"] == pytest.approx(result.scores, abs=1e-6) and record["truncated"] is False
    lenient = gateway.post("/v1/models/%s:predict" % MODEL, json={"instances": TEXTS[:1], "parameters": {"threshold": 0.8}})
    assert lenient.json()["predictions"][0]["labels"] == ["positive", "food"]

    backend = ClientBackend("http://" + golden_server.rest_host, MODEL)
    event = {"version": "2.0", "rawPath": "/v1/models/%s:predict" % MODEL, "body": json.dumps({"instances": TEXTS}),
             "requestContext": {"http": {"method": "POST", "path": "/v1/models/%s:predict" % MODEL}}}
    from_lambda = json.loads(handle(backend, event)["body"])["predictions"]
    assert [tuple(p["labels"]) for p in from_lambda] == EXPECTED
    assert handle(backend, {"texts": TEXTS})["predictions"] == from_lambda


@pytest.fixture(scope="module")
def tiny_multi_label(py37, tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny_multi_label")
    export = build_tiny_export(py37, str(root / "build"), "--multi_label", "--onnx")
    server = ModelServer(py37, export["export_base"], str(root), MODEL, ["--enable_batching"]).start()
    yield export, server
    server.stop()


def test_tiny_bert_multi_label_train_export_serve_and_every_path_agrees(tiny_multi_label, start_gateway):
    export, server = tiny_multi_label
    texts, expected = export["test_texts"], export["test_label_sets"]
    assert any(expected) and len(set(map(tuple, expected))) > 2  # the tiny model learned label sets, not one answer
    # Client: four requests of four texts in flight together, which the server's batcher joins.
    with ServingClient("http://" + server.rest_host, MODEL, batch_size=4, max_in_flight=4) as client:
        results = client.predict_batch(texts)
        assert client.model_info.thresholds and len(client.model_info.thresholds) == 3
    assert [sorted(r.labels) for r in results] == expected  # the runner's own decisions with the exported thresholds

    gateway = start_gateway(["--model_name=%s" % MODEL, "--predictor_host=%s" % server.rest_host,
                             "--refresh_seconds=0.2", "--chunk_size=4"]).wait_ready(model=MODEL)
    answer = gateway.post("/v1/models/%s:predict" % MODEL, json={"instances": texts})
    assert answer.status_code == 200, answer.text
    assert [p["labels"] for p in answer.json()["predictions"]] == [list(r.labels) for r in results]

    from_proxy = handle(ClientBackend("http://" + server.rest_host, MODEL), {"texts": texts})["predictions"]
    assert [p["labels"] for p in from_proxy] == [list(r.labels) for r in results]
    for record, result in zip(from_proxy, results):  # batch-mates differ from the client's: float noise only
        assert record["scores"] == pytest.approx(result.scores, abs=1e-6)
    pytest.importorskip("onnxruntime", reason="the onnx backend's packages are not installed (make setup-lambda)")
    from text_lambda.onnx_transport import OnnxTransport

    onnx = ClientBackend("http://in-process", MODEL, transport=OnnxTransport(export["onnx_dir"], MODEL))
    from_onnx = handle(onnx, {"texts": texts})["predictions"]
    assert [p["labels"] for p in from_onnx] == [p["labels"] for p in from_proxy]
    for ours, theirs in zip(from_onnx, from_proxy):
        assert ours["scores"] == pytest.approx(theirs["scores"], abs=1e-5)
