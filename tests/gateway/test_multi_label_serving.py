"""A multi-label export served with batching: the client, the gateway and the Lambda handler give the same label sets.

Until the runner's multi-label family exports a real tiny BERT, the model is a
golden SavedModel with the export's signatures and metadata, written by TF 1.15
(tests/helpers/multi_label_savedmodel.py), whose label sets the test knows.
"""

import json
import os
import subprocess

import pytest

from loopback import REPO, ModelServer, child_environment  # tests/helpers
from serving_client import LabelSet, ServingClient
from text_lambda.handler import ClientBackend, handle

pytest.importorskip("starlette", reason="the gateway's packages are not installed (make setup-gateway)")

MODEL = "tickets"
TEXTS = ["good food", "food food", "awful film , i hate it", "the day", "good bad food food"]
# positive/negative: 4 x count - 2 >= 0; food: threshold 0.9, so two "food" are needed.
EXPECTED = [("positive",), ("food",), ("negative",), (), ("food", "positive", "negative")]


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
