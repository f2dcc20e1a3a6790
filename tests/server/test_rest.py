"""REST API against a running server: formats, metadata, status and the error table."""

import base64
import gzip
import json

import numpy as np
import pytest

import toy_savedmodel as toy_models
from conftest import metric_value

pytestmark = pytest.mark.needs_tf

ROW = toy_models.bert_rows(1)[0]
PREDICT = "/v1/models/toy:predict"


def columnar(rows):
    return {key: [row[key] for row in rows] for key in rows[0]}


def test_status_lists_the_available_version(rest):
    assert rest.get("/v1/models/toy") == (200, {"model_version_status": [
        {"version": "1", "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}]})
    assert rest.get("/v1/models/toy/versions/1")[1]["model_version_status"][0]["version"] == "1"


def test_metadata_describes_every_signature(rest):
    status, body = rest.get("/v1/models/toy/metadata")
    assert status == 200
    assert body["model_spec"]["name"] == "toy" and body["model_spec"]["version"] == "1"
    signatures = body["metadata"]["signature_def"]["signature_def"]
    assert {"serving_default", "metadata", "multi", "slow"} <= set(signatures)
    ids = signatures["serving_default"]["inputs"]["input_ids"]
    assert ids["dtype"] == "DT_INT32"
    assert [d["size"] for d in ids["tensor_shape"]["dim"]] == ["-1", "4"]
    assert signatures["serving_default"]["method_name"] == "tensorflow/serving/predict"
    assert rest.get("/v1/models/toy/versions/1/metadata")[0] == 200


def test_row_and_columnar_formats_agree(rest):
    rows = toy_models.bert_rows(3)
    status, row_body = rest.post(PREDICT, {"instances": rows})
    assert status == 200
    status, col_body = rest.post(PREDICT, {"inputs": columnar(rows)})
    assert status == 200
    expected = [toy_models.expected_output(row) for row in rows]
    np.testing.assert_allclose(row_body["predictions"], expected, rtol=1e-5)
    assert row_body["predictions"] == col_body["outputs"]


def test_metadata_signature_returns_model_info(rest):
    status, body = rest.post(PREDICT, {"signature_name": "metadata", "instances": [ROW]})
    assert status == 200
    info = json.loads(body["predictions"][0])
    assert info["labels"] == ["ham", "spam"]


def test_several_outputs_bytes_and_floats(rest):
    text = b"\xff\x00bin"
    instances = [{"text": {"b64": base64.b64encode(text).decode()}, "x": [1.5, "NaN" and float("nan")]},
                 {"text": "héllo", "x": [2, -3]}]
    body = json.dumps({"signature_name": "multi", "instances": instances}).encode()
    response = rest.request("POST", PREDICT, data=body)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    predictions = json.loads(response.text)["predictions"]
    assert predictions[0]["echo_bytes"] == {"b64": base64.b64encode(text).decode()}
    assert predictions[1]["echo_bytes"] == {"b64": base64.b64encode("héllo".encode()).decode()}
    assert predictions[0]["length"] == 5 and predictions[1]["length"] == len("héllo".encode())
    assert predictions[0]["doubled"][0] == 3.0 and np.isnan(predictions[0]["doubled"][1])
    assert predictions[1]["doubled"] == [4.0, -6.0]
    assert '"doubled":[4.0,-6.0]' in response.text.replace(" ", "").replace("\n", "")

    status, body = rest.post(PREDICT, {"signature_name": "multi",
                                       "inputs": {"text": ["a", "bc"], "x": [[1, 2], [3, 4]]}})
    assert status == 200
    assert body["outputs"]["length"] == [1, 2] and body["outputs"]["doubled"] == [[2.0, 4.0], [6.0, 8.0]]


def test_gzip_request_body(rest):
    data = gzip.compress(json.dumps({"instances": [ROW]}).encode())
    status, body = rest.post(PREDICT, data=data, headers={"Content-Encoding": "gzip"})
    assert status == 200 and len(body["predictions"]) == 1


def test_paths_are_case_insensitive_but_verbs_are_not(rest):
    assert rest.post("/V1/Models/toy:predict", {"instances": [ROW]})[0] == 200
    assert rest.post("/V1/Models/toy:PREDICT", {"instances": [ROW]})[0] == 400  # as in TFS


def test_label_ids_is_a_required_input(rest):
    row = {k: v for k, v in ROW.items() if k != "label_ids"}
    status, body = rest.post(PREDICT, {"instances": [row]})
    assert status == 400 and "keys must be equal to" in body["error"]


# (method, path, body, status, message fragment) from contract section 8.
ERRORS = [
    ("POST", "/v1/models/nope:predict", {"instances": [ROW]}, 404, "Servable not found for request: Latest(nope)"),
    ("GET", "/v1/models/nope/metadata", None, 404, "Servable not found for request: Latest(nope)"),
    ("POST", "/v1/models/toy/versions/9:predict", {"instances": [ROW]}, 404,
     "Servable not found for request: Specific(toy, 9)"),
    ("GET", "/v1/models/toy/versions/9/metadata", None, 404, "Servable not found for request: Specific(toy, 9)"),
    ("GET", "/v1/models/nope", None, 404, "Could not find any versions of model nope"),
    ("GET", "/v1/models/toy/versions/9", None, 404, "Could not find version 9 of model toy"),
    ("POST", "/v1/models/toy/labels/nolabel:predict", {"instances": [ROW]}, 400,
     "Unrecognized servable version label: nolabel"),
    ("GET", "/v1/models/toy:predict", None, 400, "Malformed request: GET /v1/models/toy:predict"),
    ("POST", "/v1/models/toy", {"instances": [ROW]}, 400, "Malformed request: POST /v1/models/toy"),
    ("POST", "/v1/models/toy/metadata", {}, 400, "Malformed request: POST /v1/models/toy/metadata"),
    ("PUT", "/v1/models/toy:predict", {}, 400, "Malformed request: PUT /v1/models/toy:predict"),
    ("DELETE", "/v1/models/toy", None, 400, "Malformed request: DELETE /v1/models/toy"),
    ("PATCH", "/v1/models/toy", None, 400, "Malformed request: PATCH /v1/models/toy"),
    ("GET", "/v1/models/toy/versions/abc", None, 400, "Malformed request: GET /v1/models/toy/versions/abc"),
    ("POST", "/v1/models/toy:explode", {}, 400, "Malformed request: POST /v1/models/toy:explode"),
    ("GET", "/v1/models", None, 400, "Missing model name in request."),
    ("POST", PREDICT, "", 400, "JSON Parse error: The document is empty"),
    ("POST", PREDICT, "{bad", 400, "JSON Parse error:"),
    ("POST", "/v1/models/nope:predict", "{bad", 400, "JSON Parse error:"),
    ("POST", PREDICT, [1, 2], 400, "Is not object"),
    ("POST", PREDICT, {"signature_name": 5, "instances": [ROW]}, 400,
     "'signature_name' key must be a string value."),
    ("POST", PREDICT, {"signature_name": "nosig", "instances": [ROW]}, 400,
     'Serving signature name: "nosig" not found in signature def'),
    ("POST", PREDICT, {"instances": [ROW], "inputs": {}}, 400,
     "expecting only one of 'inputs' or 'instances' keys to exist"),
    ("POST", PREDICT, {"signature_name": "serving_default"}, 400, "Missing 'inputs' or 'instances' key"),
    ("POST", PREDICT, {"instances": {"a": 1}}, 400, "to be an list/array"),
    ("POST", PREDICT, {"instances": []}, 400, "No values in 'instances' array"),
    ("POST", PREDICT, {"instances": [dict(ROW, extra=1)]}, 400, "Failed to process element: 0"),
    ("POST", PREDICT, {"instances": [[1, 2, 3, 4]]}, 400,
     "instances is a plain list, but expecting list of objects"),
    ("POST", PREDICT, {"instances": [ROW, dict(ROW, input_ids=[1, 2, 3])]}, 400, "Expecting tensor size: 4 but got: 3"),
    ("POST", PREDICT, {"instances": [dict(ROW, input_ids=[[1, 2], [3, 4]]), dict(ROW, input_ids=[1, 2, 3, 4])]},
     400, "Expecting shape [2,2] but got: [4]"),
    ("POST", PREDICT, {"inputs": {"input_ids": [[1, 2, 3, 4]]}}, 400,
     "Missing named input: input_mask in 'inputs' object."),
    ("POST", PREDICT, {"inputs": [[1, 2, 3, 4]]}, 400, "inputs is a plain value/list, but expecting an object"),
    ("POST", PREDICT, {"instances": [dict(ROW, label_ids=1.0)]}, 400,
     "JSON Value: 1.0 Type: Number is not of expected type: int32"),
    ("POST", PREDICT, {"instances": [dict(ROW, label_ids=1.5)]}, 400, "is not of expected type: int32"),
    ("POST", PREDICT, {"instances": [dict(ROW, label_ids=True)]}, 400, "is not of expected type: int32"),
    ("POST", PREDICT, {"instances": [dict(ROW, label_ids="1")]}, 400, "is not of expected type: int32"),
    ("POST", PREDICT, {"instances": [dict(ROW, label_ids=None)]}, 400, "is not of expected type: int32"),
    ("POST", PREDICT, {"instances": [dict(ROW, label_ids=2 ** 31)]}, 400, "is not of expected type: int32"),
    ("POST", PREDICT, {"signature_name": "multi", "instances": [{"text": {"b64": 5}, "x": [1, 2]}]}, 400,
     "not formatted correctly for base64 data"),
    ("POST", PREDICT, {"signature_name": "multi", "instances": [{"text": {"b64": "%%%"}, "x": [1, 2]}]}, 400,
     "Unable to base64 decode"),
    ("POST", PREDICT, {"inputs": dict(columnar([ROW]), input_ids=[[1, 2, 3]])}, 400, ""),
    ("POST", "/v1/models/toy:classify", {"examples": [{"x": 1}]}, 400, ""),
    ("POST", "/v1/models/toy:regress", {"examples": [{"x": 1}]}, 400, ""),
]


@pytest.mark.parametrize("method,path,body,status,fragment", ERRORS,
                         ids=["%d-%s" % (i, e[3]) for i, e in enumerate(ERRORS)])
def test_error_table(rest, method, path, body, status, fragment):
    data = body if isinstance(body, str) else (None if body is None else json.dumps(body))
    response = rest.request(method, path, data=data)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert fragment in response.json()["error"]
    # A bad request never affects the next one.
    assert rest.post(PREDICT, {"instances": [ROW]})[0] == 200


def test_non_v1_paths_are_404(rest):
    assert rest.request("GET", "/v2/models/toy").status_code == 404
    assert rest.request("GET", "/").status_code == 404


def test_float_inputs_take_nan_and_infinity(rest):
    data = '{"signature_name": "multi", "inputs": {"text": ["a"], "x": [[NaN, -Infinity]]}}'
    response = rest.request("POST", PREDICT, data=data)
    assert response.status_code == 200
    assert "NaN" in response.text and "-Infinity" in response.text


def test_prometheus_metrics(rest, impl):
    assert rest.post(PREDICT, {"instances": [ROW]})[0] == 200
    response = rest.request("GET", "/monitoring/prometheus/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "# TYPE :tensorflow:serving:request_count counter" in response.text
    assert metric_value(response.text, ":tensorflow:serving:request_count", model_name="toy", status="OK") >= 1
    assert ":tensorflow:serving:request_latency_bucket" in response.text
    if impl is None:  # local extra
        assert metric_value(response.text, ":tensorflow:serving:model_load_state", model_name="toy", version="1",
                            state="AVAILABLE") == 1


def test_huge_body_is_413_and_server_survives(rest, local_only):
    response = rest.request("POST", PREDICT, data=b" " * (65 * 1024 * 1024))
    assert response.status_code == 413 and "error" in response.json()
    bomb = gzip.compress(b" " * (65 * 1024 * 1024))  # small on the wire, too big once inflated
    response = rest.request("POST", PREDICT, data=bomb, headers={"Content-Encoding": "gzip"})
    assert response.status_code == 413 and "--rest_api_max_body_bytes" in response.json()["error"]
    assert rest.post(PREDICT, {"instances": [ROW]})[0] == 200


def test_cors_headers(rest):
    response = rest.request("POST", PREDICT, data=json.dumps({"instances": [ROW]}))
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert response.headers["Access-Control-Allow-Headers"] == "Content-Type"
    assert rest.request("GET", "/v1/models/nope").headers["Access-Control-Allow-Origin"] == "*"


def test_concurrent_mix_of_good_and_bad_requests(toy_server):
    import random
    import threading

    import requests

    cases = [(m, p, b, s) for m, p, b, s, _ in ERRORS if s != 404] + [("POST", PREDICT, {"instances": [ROW]}, 200)] * 10
    failures = []

    def client(seed):
        rng = random.Random(seed)
        session = requests.Session()
        for _ in range(40):
            method, path, body, status = rng.choice(cases)
            data = body if isinstance(body, str) else (None if body is None else json.dumps(body))
            response = session.request(method, toy_server.rest_url + path, data=data, timeout=60)
            if response.status_code != status:
                failures.append((method, path, status, response.status_code, response.text[:200]))

    threads = [threading.Thread(target=client, args=(seed,)) for seed in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
