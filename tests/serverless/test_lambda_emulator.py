"""End to end under the AWS Lambda Runtime Interface Emulator: both backends, real events, equal answers.

`aws-lambda-rie` runs the real runtime interface client (`awslambdaric`) with
our handler, on loopback ports; each backend gets the same Function URL,
REST API (base64 body) and direct events over the emulator's HTTP API. Skips
when the emulator or awslambdaric is not installed (`make setup-lambda`).
"""

import base64
import json
import os
import sys

import pytest

from text_lambda.emulator import LambdaEmulator, find_rie

from lambda_events import v1_event, v2_event  # tests/serverless

RIE = find_rie()
pytestmark = pytest.mark.skipif(RIE is None, reason="no aws-lambda-rie (make setup-lambda)")
pytest.importorskip("awslambdaric", reason="awslambdaric is not installed (make setup-lambda)")
pytest.importorskip("onnxruntime", reason="the onnx backend's packages are not installed (make setup-lambda)")

TEXTS = ["the movie was good", "awful film , i hate it", "good " * 30]
EVENTS = [
    v2_event("POST", "/v1/models/tiny:predict", {"instances": TEXTS, "parameters": {"top_k": 1}}),
    v1_event("POST", "/predict", {"text": "lovely day"}, base64_body=True),
    {"texts": TEXTS},
    v2_event("GET", "/v1/models/tiny"),
    dict(v2_event("POST", "/predict"), body="{"),
    {"texts": ["lovely day"], "text_pairs": ["yes"]},  # the tiny model takes single texts
]


def http_document(answer):
    body = answer["body"]
    return answer["statusCode"], json.loads(base64.b64decode(body) if answer.get("isBase64Encoded") else body)


def assert_same(ours, theirs):
    """Equal answers, scores within 1e-5 (the ONNX model's tolerance)."""
    if isinstance(ours, dict) and isinstance(theirs, dict):
        assert set(ours) == set(theirs)
        for key in ours:
            assert_same(ours[key], theirs[key])
    elif isinstance(ours, list) and isinstance(theirs, list):
        assert len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            assert_same(a, b)
    elif isinstance(ours, float):
        assert ours == pytest.approx(theirs, abs=1e-5)
    else:
        assert ours == theirs


def comparable(answer):
    """An answer with an HTTP-shaped body parsed: backends may print the same float32 with other digits."""
    if isinstance(answer, dict) and "statusCode" in answer:
        status, document = http_document(answer)
        headers = {k: v for k, v in (answer.get("headers") or {}).items() if k.lower() != "content-length"}
        return {"statusCode": status, "headers": headers, "body": document}
    return answer


def answers_under_the_emulator(environment, log_path):
    emulator = LambdaEmulator(RIE, sys.executable, environment, log_path)
    with emulator:
        group = emulator.process.pid
        answers = []
        for event in EVENTS:
            status, answer = emulator.invoke(event, timeout=120)
            assert status == 200, (status, answer, emulator.log())
            answers.append(answer)
    with pytest.raises(ProcessLookupError):  # the emulator and the runtime it started are gone
        os.killpg(group, 0)
    return answers


def test_both_backends_answer_alike_under_the_emulator(tiny_export, model_server, tmp_path):
    onnx = answers_under_the_emulator({"BACKEND": "onnx", "MODEL_NAME": "tiny", "MODEL_DIR": tiny_export["onnx_dir"]},
                                      str(tmp_path / "onnx.log"))
    proxy = answers_under_the_emulator({"BACKEND": "proxy", "MODEL_NAME": "tiny",
                                        "PREDICTOR_URL": "http://" + model_server.rest_host}, str(tmp_path / "proxy.log"))
    assert_same([comparable(a) for a in onnx], [comparable(a) for a in proxy])
    (status, kserve), (_, single), direct, (_, model), (bad_status, bad) = \
        http_document(onnx[0]), http_document(onnx[1]), onnx[2], http_document(onnx[3]), http_document(onnx[4])
    assert onnx[5] == {"status": 400,
                       "error": "instances[0] has a text_pair; the sequence classification model was trained on single texts"}
    assert status == 200 and [len(p["scores"]) for p in kserve["predictions"]] == [1, 1, 1]
    assert kserve["predictions"][2]["truncated"] is True and set(single["scores"]) == {"neg", "pos"}
    assert [p["label"] for p in direct["predictions"]] == [p["label"] for p in kserve["predictions"]]
    assert model["ready"] is True and model["labels"] == ["neg", "pos"]
    assert bad_status == 400 and "not valid JSON" in bad["error"]
