"""Classify / Regress / MultiInference over tf.Example inputs (REST and gRPC) and their warm-up."""

import grpc
import numpy as np
import pytest
from tensorflow_serving.apis import (
    classification_pb2, inference_pb2, input_pb2, prediction_log_pb2, prediction_service_pb2_grpc,
    regression_pb2)

import toy_savedmodel as toy_models
from conftest import Rest
from model_servers import running_server

pytestmark = pytest.mark.needs_tf


def softmax(x):
    e = np.exp(np.array(x, dtype=np.float64) - max(x))
    return e / e.sum()


def test_rest_classify_and_regress(rest):
    status, body = rest.post("/v1/models/toy:classify", {"signature_name": "classify",
                                                         "examples": [{"x": [1.0, 2.0]}, {"x": [0.5, 0.5]}]})
    assert status == 200, body
    assert [[label for label, _ in row] for row in body["results"]] == [["neg", "pos"], ["neg", "pos"]]
    np.testing.assert_allclose([score for _, score in body["results"][0]], softmax([1, 2]), rtol=1e-5)

    # `context` features are merged into every example.
    status, body = rest.post("/v1/models/toy:regress", {"signature_name": "regress", "context": {"x": [1.5, 2.5]},
                                                        "examples": [{}, {"x": [1.0, 1.0]}]})
    assert status == 200, body
    assert body["results"] == [4.0, 2.0]


@pytest.mark.parametrize("body,fragment", [
    ({"signature_name": "classify"}, "key 'examples' is expected and was not found"),
    ({"signature_name": "classify", "examples": {}}, "Expecting 'examples' value to be an list/array"),
    ({"signature_name": "classify", "examples": []}, "'examples' value is an empty array"),
    ({"signature_name": "classify", "examples": [{"x": [1, 2.5]}]}, "Unexpected element type in feature: x"),
    ({"signature_name": "classify", "examples": [{"x": [None]}]}, "has element with unexpected JSON type: Null"),
    ({"signature_name": "classify", "examples": [5]}, "Example must be JSON object"),
    ({"signature_name": "regress", "examples": [{"x": [1.0, 2.0]}]}, "Expected classification signature"),
    ({"examples": [{"x": [1.0, 2.0]}]}, "Expected one input Tensor."),  # serving_default (TFS 2.x: no method check)
    ({"signature_name": "nosig", "examples": [{"x": [1.0, 2.0]}]}, "No signature was found with the name: nosig"),
])
def test_rest_classify_errors(rest, body, fragment):
    status, answer = rest.post("/v1/models/toy:classify", body)
    assert status == 400 and fragment in answer["error"]


def example_input(*rows):
    result = input_pb2.Input()
    for row in rows:
        result.example_list.examples.add().features.feature["x"].float_list.value.extend(row)
    return result


def test_grpc_classify_regress_multi(grpc_channel):
    stub = prediction_service_pb2_grpc.PredictionServiceStub(grpc_channel)
    request = classification_pb2.ClassificationRequest(input=example_input([1.0, 2.0]))
    request.model_spec.name = "toy"
    request.model_spec.signature_name = "classify"
    response = stub.Classify(request, timeout=30)
    classes = response.result.classifications[0].classes
    assert [c.label for c in classes] == ["neg", "pos"]
    np.testing.assert_allclose([c.score for c in classes], softmax([1, 2]), rtol=1e-5)
    assert response.model_spec.signature_name == "classify" and response.model_spec.version.value == 1

    regress = regression_pb2.RegressionRequest(input=example_input([1.0, 2.0], [3.0, 4.0]))
    regress.model_spec.name = "toy"
    regress.model_spec.signature_name = "regress"
    assert [r.value for r in stub.Regress(regress, timeout=30).result.regressions] == [3.0, 7.0]

    multi = inference_pb2.MultiInferenceRequest(input=example_input([0.0, 1.0]))
    for signature, method in (("classify", "tensorflow/serving/classify"), ("regress", "tensorflow/serving/regress")):
        task = multi.tasks.add(method_name=method)
        task.model_spec.name = "toy"
        task.model_spec.signature_name = signature
    results = stub.MultiInference(multi, timeout=30).results
    assert len(results[0].classification_result.classifications[0].classes) == 2
    assert results[1].regression_result.regressions[0].value == 1.0

    regress.model_spec.signature_name = "serving_default"
    with pytest.raises(grpc.RpcError) as info:
        stub.Regress(regress, timeout=30)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_classify_and_regress_warmup_logs(impl, tmp_path):
    logs = []
    classify = classification_pb2.ClassificationRequest(input=example_input([1.0, 2.0]))
    classify.model_spec.signature_name = "classify"
    logs.append(prediction_log_pb2.PredictionLog(classify_log=prediction_log_pb2.ClassifyLog(request=classify)))
    regress = regression_pb2.RegressionRequest(input=example_input([1.0, 2.0]))
    regress.model_spec.signature_name = "regress"
    logs.append(prediction_log_pb2.PredictionLog(regress_log=prediction_log_pb2.RegressLog(request=regress)))
    base = tmp_path / "m"
    base.mkdir()
    toy_models.build(base, 1, warmup_records=1, warmup_logs=logs)
    with running_server(["--model_name=m", "--model_base_path=%s" % base], binary=impl) as server:
        status, body = Rest(server.rest_url).get("/v1/models/m")
        assert status == 200 and body["model_version_status"][0]["state"] == "AVAILABLE"
        if impl is None:
            assert "Number of warmup records read: 3." in server.log()
