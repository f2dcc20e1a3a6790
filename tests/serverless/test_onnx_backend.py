"""The onnx backend in process: the --export_onnx model answers as the SavedModel does.

The tiny exports are converted by tf2onnx in the TF 1.15 venv, which also runs
the SavedModel on a few featurized texts (the `reference`); here, without
TensorFlow, onnxruntime must give the same outputs within 1e-5, and the
handler on the onnx backend the same predictions as on the proxy backend in
front of the local model server serving that SavedModel.
"""

import json
import os
import shutil

import pytest

onnxruntime = pytest.importorskip("onnxruntime", reason="the onnx backend's packages are not installed (make setup-lambda)")

from bert_contract import ONNX_INFO_FILE, ONNX_VOCAB_FILE  # noqa: E402
from serving_client import Request  # noqa: E402
from text_lambda.handler import ClientBackend, handle  # noqa: E402
from text_lambda.onnx_transport import OnnxModelError, OnnxTransport  # noqa: E402

from lambda_events import v1_event, v2_event  # noqa: E402  (tests/serverless)
from loopback import ModelServer  # noqa: E402  (tests/helpers)

TOLERANCE = 1e-5
TEXTS = ["the movie was good", "awful film , i hate it", "lovely day", "good " * 30]


def onnx_backend(export, name="tiny"):
    return ClientBackend("http://in-process", name, transport=OnnxTransport(export["onnx_dir"], name))


def answer_body(answer):
    assert answer["statusCode"] == 200, answer
    return json.loads(answer["body"])


@pytest.mark.parametrize("which", ["tiny_export", "tiny_tagger_export"])
def test_onnx_outputs_equal_the_saved_models(request, which):
    export = request.getfixturevalue(which)
    with open(export["reference"]) as f:
        reference = json.load(f)
    transport = OnnxTransport(export["onnx_dir"], "m")
    response = transport.send(Request("POST", "http://x/v1/models/m:predict", {"inputs": reference["inputs"]}))
    assert response.status_code == 200, response.json()
    import numpy as np

    onnx_output, saved_output = np.asarray(response.json()["outputs"]), np.asarray(reference["output"])
    assert onnx_output.shape == saved_output.shape and onnx_output.shape[0] == len(reference["inputs"]["input_ids"])
    assert np.abs(onnx_output - saved_output).max() <= TOLERANCE


def test_the_onnx_backend_answers_like_the_proxy_backend(tiny_export, model_server):
    onnx, proxy = onnx_backend(tiny_export), ClientBackend("http://" + model_server.rest_host, "tiny")
    event = v2_event("POST", "/v1/models/tiny:predict", {"instances": TEXTS + [{"text": "good"}]})
    from_onnx, from_proxy = answer_body(handle(onnx, event)), answer_body(handle(proxy, event))
    assert len(from_onnx["predictions"]) == len(TEXTS) + 1
    for ours, theirs in zip(from_onnx["predictions"], from_proxy["predictions"]):
        assert ours["label"] == theirs["label"] and ours["truncated"] == theirs["truncated"]
        assert ours["scores"] == pytest.approx(theirs["scores"], abs=TOLERANCE)
    assert from_onnx["predictions"][-2]["truncated"] is True
    status = answer_body(handle(onnx, v1_event("GET", "/v1/models/tiny")))
    assert status == dict(answer_body(handle(proxy, v1_event("GET", "/v1/models/tiny"))), version=status["version"])
    assert status["version"] == int(os.path.basename(tiny_export["export_path"]))
    pair = v2_event("POST", "/v1/models/tiny:predict", {"instances": [{"text": "good", "text_pair": "bad"}]})
    assert handle(onnx, pair)["statusCode"] == handle(proxy, pair)["statusCode"] == 400


def test_a_token_classifier_on_the_onnx_backend_answers_like_the_proxy_backend(py37, tiny_tagger_export, tmp_path):
    texts = ["zed lee went to jolo", "a", "kai kim and xena went to vik and " + "the day was good " * 6]  # the last: windows
    server = ModelServer(py37, tiny_tagger_export["export_base"], str(tmp_path), "ner").start()
    try:
        from_proxy = handle(ClientBackend("http://" + server.rest_host, "ner"), {"texts": texts})
    finally:
        server.stop()
    from_onnx = handle(onnx_backend(tiny_tagger_export, "ner"), {"texts": texts})
    assert [[(e["start"], e["end"], e["label"]) for e in p["entities"]] for p in from_onnx["predictions"]] == \
        [[(e["start"], e["end"], e["label"]) for e in p["entities"]] for p in from_proxy["predictions"]]
    scores = [(e["score"], f["score"]) for p, q in zip(from_onnx["predictions"], from_proxy["predictions"])
              for e, f in zip(p["entities"], q["entities"])]
    assert scores and all(abs(a - b) <= TOLERANCE for a, b in scores)


def test_an_incomplete_or_inconsistent_onnx_directory_is_refused_naming_the_file(tiny_export, tmp_path):
    incomplete = str(tmp_path / "incomplete")
    shutil.copytree(tiny_export["onnx_dir"], incomplete)
    os.remove(os.path.join(incomplete, ONNX_INFO_FILE))
    with pytest.raises(OnnxModelError, match=r"incomplete/model_info\.json: No such file"):
        OnnxTransport(incomplete, "tiny")
    other_vocab = str(tmp_path / "other_vocab")
    shutil.copytree(tiny_export["onnx_dir"], other_vocab)
    with open(os.path.join(other_vocab, ONNX_VOCAB_FILE), "a") as f:
        f.write("extra\n")
    with pytest.raises(OnnxModelError, match=r"other_vocab/vocab\.txt does not match the vocab sha256"):
        OnnxTransport(other_vocab, "tiny")


def test_bad_requests_to_the_onnx_backend_get_json_errors(tiny_export):
    backend = onnx_backend(tiny_export)
    answer = handle(backend, v2_event("POST", "/v1/models/other:predict", {"instances": ["a"]}))
    assert answer["statusCode"] == 404 and "not served here" in json.loads(answer["body"])["error"]
    assert handle(backend, {"texts": "a"})["status"] == 400
