"""TF Serving 2.x's own test cases, ported: the same requests over real HTTP and gRPC, the same answers.

Ported from tensorflow_serving's tensorflow_model_server_test.py (tfs_server_test),
http_rest_api_handler_test.cc (handler_test), predict_impl_test.cc (predict_test)
and get_model_status_impl_test.cc (status_test); each test names its origin.
The models are our own (tests/helpers/golden_models.py, written by TF 1.15):
half plus two on a tf.Example `x` of shape [-1, 1], a stateful counter and a
TF Lite conversion, so the expected numbers are the ones TF Serving's tests expect.
"""

import os
import subprocess
import sys

import grpc
import numpy as np
import pytest
from tensorflow_serving.apis import (
    classification_pb2, get_model_metadata_pb2, get_model_status_pb2, inference_pb2, model_service_pb2_grpc,
    predict_pb2, prediction_service_pb2_grpc, regression_pb2)

import golden_models
from conftest import Rest, write

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
VERSION = golden_models.VERSION
LABEL = "Version_Label"
DT_FLOAT = 1


def tf1_python():
    """A Python with TensorFlow 1.15 to write the golden models: this one, TF1_PYTHON or the repo's .venv."""
    import tensorflow as tf

    if tf.__version__.startswith("1."):
        return sys.executable
    candidate = os.environ.get("TF1_PYTHON") or os.path.join(REPO, ".venv", "bin", "python")
    return candidate if os.path.exists(candidate) else sys.executable


@pytest.fixture(scope="session")
def golden_dir(tmp_path_factory):
    pytest.importorskip("tensorflow")
    out = str(tmp_path_factory.mktemp("golden"))
    python = tf1_python()
    env = dict(os.environ, PATH=os.pathsep.join([os.path.dirname(python), os.environ.get("PATH", "")]))
    env.pop("TF2_BEHAVIOR", None)  # set by importing TF 2.x; TF 1.15 would then write resource variables
    result = subprocess.run([python, os.path.join(REPO, "tests", "helpers", "golden_models.py"), out],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    assert result.returncode == 0, result.stdout.decode(errors="replace")[-3000:]
    return out


def model_config(golden_dir):
    def entry(name, model_dir, versions, labels=""):
        policy = " ".join("versions: %d" % v for v in versions)
        return ('config { name: "%s" base_path: "%s" model_platform: "tensorflow" '
                'model_version_policy { specific { %s } } %s }\n'
                % (name, os.path.join(golden_dir, model_dir), policy, labels))

    return "model_config_list {\n%s}\n" % "".join([
        entry("default", golden_models.HALF_PLUS_TWO, [VERSION]),
        entry(golden_models.TWO_VERSIONS, golden_models.TWO_VERSIONS, [VERSION, VERSION + 1],
              'version_labels { key: "%s" value: %d }' % (LABEL, VERSION)),
        entry("counter", golden_models.COUNTER, [VERSION]),
    ])


@pytest.fixture(scope="module")
def server(impl, golden_dir, tmp_path_factory, monitoring_file):
    from model_servers import running_server

    root = tmp_path_factory.mktemp("conformance")
    config = write(root / "models.config", model_config(golden_dir))
    socket_path = str(root / "grpc.sock")
    with running_server(["--model_config_file=" + config, "--grpc_socket_path=" + socket_path,
                         "--monitoring_config_file=" + monitoring_file], binary=impl) as running:
        running.socket_path = socket_path
        yield running


@pytest.fixture(scope="module")
def rest(server):
    return Rest(server.rest_url)


@pytest.fixture(scope="module")
def channel(server):
    channel = grpc.insecure_channel(server.grpc_target)
    yield channel
    channel.close()


@pytest.fixture(scope="module")
def predictions(channel):
    return prediction_service_pb2_grpc.PredictionServiceStub(channel)


@pytest.fixture(scope="module")
def models(channel):
    return model_service_pb2_grpc.ModelServiceStub(channel)


def code_of(call):
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value.code(), info.value.details()


def x_request(model="default", value=2.0, dims=(1,), signature="serving_default", output_filter=("y",),
              alias="x"):
    """tfs_server_test VerifyPredictRequest: x = [2.0] (shape [1]) on a signature whose x is [-1, 1]."""
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model
    request.model_spec.signature_name = signature
    tensor = request.inputs[alias]
    tensor.dtype = DT_FLOAT
    tensor.float_val.append(value)
    for size in dims:
        tensor.tensor_shape.dim.add().size = size
    request.output_filter.extend(output_filter)
    return request


def example_input(target, **features):
    example = target.example_list.examples.add()
    for name, value in features.items():
        example.features.feature[name].float_list.value.append(value)


# ---------------------------------------------------------------- tensorflow_model_server_test.py

def test_get_model_status(models):
    """tfs_server_test testGetModelStatus."""
    request = get_model_status_pb2.GetModelStatusRequest()
    request.model_spec.name = "default"
    result = models.GetModelStatus(request, timeout=30)
    assert len(result.model_version_status) == 1
    assert result.model_version_status[0].version == VERSION
    assert result.model_version_status[0].status.error_code == 0


def test_get_model_metadata(predictions):
    """tfs_server_test testGetModelMetadata."""
    request = get_model_metadata_pb2.GetModelMetadataRequest()
    request.model_spec.name = "default"
    request.metadata_field.append("signature_def")
    result = predictions.GetModelMetadata(request, timeout=30)
    assert result.model_spec.name == "default" and result.model_spec.version.value == VERSION
    assert list(result.metadata) == ["signature_def"]


def test_classify_regress_and_multi_inference(predictions):
    """tfs_server_test testClassify, testRegress, testMultiInference: example x = 2.0 -> 3.0."""
    request = classification_pb2.ClassificationRequest()
    request.model_spec.name = "default"
    request.model_spec.signature_name = "classify_x_to_y"
    example_input(request.input, x=2.0)
    result = predictions.Classify(request, timeout=30)
    assert len(result.result.classifications) == 1 and len(result.result.classifications[0].classes) == 1
    assert result.result.classifications[0].classes[0].score == 3.0

    request = regression_pb2.RegressionRequest()
    request.model_spec.name = "default"
    request.model_spec.signature_name = "regress_x_to_y"
    example_input(request.input, x=2.0)
    result = predictions.Regress(request, timeout=30)
    assert [r.value for r in result.result.regressions] == [3.0]

    request = inference_pb2.MultiInferenceRequest()
    for signature, method in (("regress_x_to_y", "tensorflow/serving/regress"),
                              ("classify_x_to_y", "tensorflow/serving/classify")):
        task = request.tasks.add()
        task.model_spec.name = "default"
        task.model_spec.signature_name = signature
        task.method_name = method
    example_input(request.input, x=2.0)
    result = predictions.MultiInference(request, timeout=30)
    assert len(result.results) == 2
    assert result.results[0].regression_result.regressions[0].value == 3.0
    assert result.results[1].classification_result.classifications[0].classes[0].score == 3.0


@pytest.mark.parametrize("output_filter", [("y",), ()])
def test_predict_saved_model(predictions, output_filter):
    """tfs_server_test testPredictSavedModel (VerifyPredictRequest): the output in float_val, the spec echoed."""
    result = predictions.Predict(x_request(output_filter=output_filter), timeout=30)
    assert result.outputs["y"].dtype == DT_FLOAT
    assert list(result.outputs["y"].float_val) == [3.0]
    assert result.model_spec.name == "default" and result.model_spec.signature_name == "serving_default"
    assert result.model_spec.version.value == VERSION


def test_predict_over_the_unix_socket(server):
    """tfs_server_test testPredictUDS."""
    with grpc.insecure_channel("unix:" + server.socket_path) as channel:
        result = prediction_service_pb2_grpc.PredictionServiceStub(channel).Predict(x_request(), timeout=30)
    assert list(result.outputs["y"].float_val) == [3.0]


def test_classify_regress_predict_rest(rest):
    """tfs_server_test testClassifyREST, testRegressREST, testPredictREST, testPredictColumnarREST."""
    assert rest.post("/v1/models/default:classify", {"signature_name": "classify_x_to_y",
                                                     "examples": [{"x": 2.0}]}) == (200, {"results": [[["", 3.0]]]})
    assert rest.post("/v1/models/default:regress", {"signature_name": "regress_x_to_y",
                                                    "examples": [{"x": 2.0}]}) == (200, {"results": [3.0]})
    # x is [-1, 1] in the signature; TF Serving feeds [3] to the graph as it is.
    assert rest.post("/v1/models/default:predict", {"instances": [2.0, 3.0, 4.0]}) == (
        200, {"predictions": [3.0, 3.5, 4.0]})
    assert rest.post("/v1/models/default:predict", {"inputs": [2.0, 3.0, 4.0]}) == (200, {"outputs": [3.0, 3.5, 4.0]})


def test_get_status_rest(rest):
    """tfs_server_test testGetStatusREST."""
    assert rest.get("/v1/models/default") == (200, {"model_version_status": [{
        "version": str(VERSION), "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}]})


def test_get_model_metadata_rest(rest):
    """tfs_server_test testGetModelMetadataREST: TF Serving 2.x prints "defaults": {} in every signature."""
    status, body = rest.get("/v1/models/default/metadata")
    assert status == 200
    assert body["model_spec"] == {"name": "default", "signature_name": "", "version": str(VERSION)}
    signatures = body["metadata"]["signature_def"]["signature_def"]
    assert sorted(signatures) == ["classify_x2_to_y3", "classify_x_to_y", "regress_x2_to_y3", "regress_x_to_y",
                                  "regress_x_to_y2", "serving_default"]
    assert all(signature["defaults"] == {} for signature in signatures.values())
    assert signatures["serving_default"] == {
        "inputs": {"x": {"dtype": "DT_FLOAT", "name": "x:0", "tensor_shape": {
            "dim": [{"size": "-1", "name": ""}, {"size": "1", "name": ""}], "unknown_rank": False}}},
        "outputs": {"y": {"dtype": "DT_FLOAT", "name": "y:0", "tensor_shape": {
            "dim": [{"size": "-1", "name": ""}, {"size": "1", "name": ""}], "unknown_rank": False}}},
        "method_name": "tensorflow/serving/predict", "defaults": {}}


def test_prometheus_endpoint(rest):
    """tfs_server_test testPrometheusEndpoint."""
    response = rest.request("GET", "/monitoring/prometheus/metrics")
    assert response.status_code == 200 and "# TYPE" in response.text


# ---------------------------------------------------------------- http_rest_api_handler_test.cc

UNSUPPORTED = [
    ("GET", "/v1/foo", "Malformed request"),
    ("POST", "/v1/foo", "Malformed request"),
    ("GET", "/v1/models", "Missing model name"),
    ("GET", "/v1/models/debug/model_name", "Malformed request"),
    ("POST", "/v1/models", "Malformed request"),
    ("GET", "/v1/models/foo:predict", "Malformed request"),
    ("GET", "/v1/models/foo/version/50:predict", "Malformed request"),
    ("POST", "/v1/models/foo/version/50:regress", "Malformed request"),
    ("POST", "/v1/models/foo/versions/HELLO:regress", "Malformed request"),
    ("POST", "/v1/models/foo/versions/%d:regress" % (2 ** 64 - 1), "Failed to convert version"),
    ("POST", "/v1/models/foo/metadata", "Malformed request"),
    ("POST", "/v1/models/foo/label/some_label:regress", "Malformed request"),
    ("POST", "/v1/models/foo/versions/50/labels/some_label:regress", "Malformed request"),
    ("POST", "/v1/models/foo/versions/some_label:regress", "Malformed request"),
]


@pytest.mark.parametrize("method,path,fragment", UNSUPPORTED, ids=["%s %s" % (m, p) for m, p, _ in UNSUPPORTED])
def test_unsupported_api_calls(rest, method, path, fragment):
    """handler_test UnsupportedApiCalls: all INVALID_ARGUMENT (400)."""
    response = rest.request(method, path, data="")
    assert response.status_code == 400 and fragment in response.json()["error"], response.text


def test_predict_model_name_version_errors(rest):
    """handler_test PredictModelNameVersionErrors: NOT_FOUND (404)."""
    for path in ("/v1/models/foo:predict", "/v1/models/foo/versions/50:predict",
                 "/v1/models/%s/versions/99:predict" % golden_models.TWO_VERSIONS):
        assert rest.post(path, {"instances": [1]})[0] == 404, path


def test_predict_request_errors(rest):
    """handler_test PredictRequestErrors: TF Serving's texts, rapidjson's parse messages included."""
    path = "/v1/models/%s:predict" % golden_models.TWO_VERSIONS
    cases = [
        ("", "JSON Parse error: The document is empty"),
        ("instances = [1, 2]", "JSON Parse error: Invalid value"),
        ('{ "instances": ["x", "y"] }', "not of expected type: float"),
        ('{ "signature_name": 100 }', "'signature_name' key must be a string value."),
    ]
    for body, fragment in cases:
        response = rest.request("POST", path, data=body)
        assert response.status_code == 400 and fragment in response.json()["error"], (body, response.text)
    response = rest.request("POST", "/v1/models/%s/labels/Version_Nonexistent:predict" % golden_models.TWO_VERSIONS,
                            data='{ "instances": ["x", "y"] }')
    assert response.status_code == 400 and "Unrecognized servable version label" in response.json()["error"]


def test_predict(rest):
    """handler_test Predict: latest, version, label, explicit signature, columnar; [2, 2] fed to x [-1, 1]."""
    base = "/v1/models/" + golden_models.TWO_VERSIONS
    assert rest.post(base + ":predict", {"instances": [[1.0, 2.0], [3.0, 4.0]]}) == (
        200, {"predictions": [[2.5, 3.0], [3.5, 4.0]]})
    assert rest.post(base + "/versions/%d:predict" % VERSION, {"instances": [1.0, 2.0]}) == (
        200, {"predictions": [2.5, 3.0]})
    assert rest.post(base + "/labels/%s:predict" % LABEL, {"instances": [1.0, 2.0]}) == (
        200, {"predictions": [2.5, 3.0]})
    assert rest.post(base + "/versions/%d:predict" % VERSION,
                     {"signature_name": "serving_default", "instances": [3.0, 4.0]}) == (200, {"predictions": [3.5, 4.0]})
    assert rest.post(base + "/versions/%d:predict" % VERSION,
                     {"signature_name": "serving_default", "inputs": [3.0, 4.0]}) == (200, {"outputs": [3.5, 4.0]})
    response = rest.request("POST", base + ":predict", data='{"instances": [1.0]}')
    assert response.headers["content-type"] == "application/json"


def test_regress_and_classify(rest):
    """handler_test Regress (x = 80 -> 42) and Classify (x = 20 -> 12; by label, x = 10 -> 7)."""
    base = "/v1/models/" + golden_models.TWO_VERSIONS
    for prefix in (base, base + "/versions/%d" % VERSION, base + "/labels/" + LABEL):
        assert rest.post(prefix + ":regress", {"signature_name": "regress_x_to_y", "examples": [{"x": 80.0}]}) == (
            200, {"results": [42.0]})
    assert rest.post(base + ":classify", {"signature_name": "classify_x_to_y", "examples": [{"x": 20.0}]}) == (
        200, {"results": [[["", 12.0]]]})
    assert rest.post(base + "/labels/%s:classify" % LABEL,
                     {"signature_name": "classify_x_to_y", "examples": [{"x": 10.0}]}) == (200, {"results": [[["", 7.0]]]})


def test_get_status_by_version_and_label(rest):
    """handler_test GetStatus: a version or a label names the version's entry."""
    base = "/v1/models/" + golden_models.TWO_VERSIONS
    entry = {"version": str(VERSION), "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}
    assert rest.get(base + "/versions/%d" % VERSION) == (200, {"model_version_status": [entry]})
    assert rest.get(base + "/labels/" + LABEL) == (200, {"model_version_status": [entry]})


# ---------------------------------------------------------------- predict_impl_test.cc

def test_missing_or_empty_model_spec(predictions):
    """predict_test MissingOrEmptyModelSpec: no spec and no name are INVALID_ARGUMENT, an unknown name NOT_FOUND."""
    request = predict_pb2.PredictRequest()
    assert code_of(lambda: predictions.Predict(request, timeout=30)) == (
        grpc.StatusCode.INVALID_ARGUMENT, "Missing ModelSpec")
    request.model_spec.SetInParent()
    assert code_of(lambda: predictions.Predict(request, timeout=30)) == (
        grpc.StatusCode.INVALID_ARGUMENT, "ModelSpec has no name specified.")
    request.model_spec.name = "test"
    assert code_of(lambda: predictions.Predict(request, timeout=30))[0] == grpc.StatusCode.NOT_FOUND


def test_every_servable_lookup_checks_the_model_spec(predictions, models):
    """The same ModelSpec checks on GetModelMetadata, Classify, Regress, MultiInference and GetModelStatus."""
    metadata = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=["signature_def"])
    classify, regress = classification_pb2.ClassificationRequest(), regression_pb2.RegressionRequest()
    for call, request in ((predictions.GetModelMetadata, metadata), (predictions.Classify, classify),
                          (predictions.Regress, regress)):
        assert code_of(lambda: call(request, timeout=30)) == (grpc.StatusCode.INVALID_ARGUMENT, "Missing ModelSpec")
        request.model_spec.SetInParent()
        assert code_of(lambda: call(request, timeout=30)) == (
            grpc.StatusCode.INVALID_ARGUMENT, "ModelSpec has no name specified.")
    multi = inference_pb2.MultiInferenceRequest()
    multi.tasks.add(method_name="tensorflow/serving/regress")
    example_input(multi.input, x=2.0)
    assert code_of(lambda: predictions.MultiInference(multi, timeout=30)) == (
        grpc.StatusCode.INVALID_ARGUMENT, "ModelSpec has no name specified.")
    # status_test MissingOrEmptyModelSpecFailure / InvalidModelNameFailure.
    status = get_model_status_pb2.GetModelStatusRequest()
    assert code_of(lambda: models.GetModelStatus(status, timeout=30)) == (
        grpc.StatusCode.INVALID_ARGUMENT, "Missing ModelSpec")
    status.model_spec.name = "nonexistent_model"
    assert code_of(lambda: models.GetModelStatus(status, timeout=30))[0] == grpc.StatusCode.NOT_FOUND


def test_input_and_output_mismatches(predictions):
    """predict_test EmptyInputList, InputTensorsDontMatchModelSpecInputs, OutputFiltersDontMatchModelSpecOutputs,
    InputTensorsHaveWrongType: INVALID_ARGUMENT each; a valid filter works."""
    empty = predict_pb2.PredictRequest()
    empty.model_spec.name = "default"
    assert code_of(lambda: predictions.Predict(empty, timeout=30))[0] == grpc.StatusCode.INVALID_ARGUMENT

    wrong_key = x_request(output_filter=())
    wrong_key.inputs["key"].CopyFrom(wrong_key.inputs.pop("x"))
    assert code_of(lambda: predictions.Predict(wrong_key, timeout=30))[0] == grpc.StatusCode.INVALID_ARGUMENT

    bad_filter = x_request(output_filter=("output_filter",))
    assert code_of(lambda: predictions.Predict(bad_filter, timeout=30))[0] == grpc.StatusCode.INVALID_ARGUMENT
    assert list(predictions.Predict(x_request(output_filter=("y",)), timeout=30).outputs) == ["y"]
    duplicate = x_request(output_filter=("y", "y"))
    assert code_of(lambda: predictions.Predict(duplicate, timeout=30))[0] == grpc.StatusCode.INVALID_ARGUMENT

    wrong_type = x_request()
    wrong_type.inputs["x"].Clear()
    wrong_type.inputs["x"].dtype = 7  # DT_STRING
    wrong_type.inputs["x"].string_val.append(b"any_key")
    wrong_type.inputs["x"].tensor_shape.dim.add().size = 1
    assert code_of(lambda: predictions.Predict(wrong_type, timeout=30))[0] == grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.parametrize("signature,alias,output", [("serving_default", "x", "y"), ("regress_x2_to_y3", "inputs",
                                                    "outputs"), ("classify_x2_to_y3", "inputs", "scores")])
def test_prediction_success_with_a_scalar_input(predictions, signature, alias, output):
    """predict_test PredictionSuccess, PredictionWithNamedRegressionSignature, ...ClassificationSignature:
    a scalar (no shape) fed to a [-1, 1] input; the answer is a scalar in float_val."""
    result = predictions.Predict(x_request(dims=(), signature=signature, output_filter=(), alias=alias), timeout=30)
    expected = 3.0 if signature == "serving_default" else 4.0
    tensor = result.outputs[output]
    assert list(result.outputs) == [output]
    assert tensor.dtype == DT_FLOAT and list(tensor.float_val) == [expected] and not tensor.tensor_content
    assert tensor.HasField("tensor_shape") and len(tensor.tensor_shape.dim) == 0
    assert (result.model_spec.name, result.model_spec.version.value, result.model_spec.signature_name) == (
        "default", VERSION, signature)


def test_prediction_with_customized_signatures(predictions):
    """predict_test PredictionWithCustomizedSignatures: signatures without inputs, run in order on one counter."""
    def call(signature, delta=None, output_filter=()):
        request = predict_pb2.PredictRequest(output_filter=list(output_filter))
        request.model_spec.name = "counter"
        request.model_spec.signature_name = signature
        if delta is not None:
            request.inputs["delta"].dtype = DT_FLOAT
            request.inputs["delta"].float_val.append(delta)
        output = predictions.Predict(request, timeout=30).outputs["output"]
        return list(output.float_val)

    assert call("get_counter") == [0.0]
    assert call("incr_counter") == [1.0]
    assert call("reset_counter") == [0.0]
    assert call("incr_counter", output_filter=["output"]) == [1.0]
    assert call("incr_counter_by", delta=3.0) == [4.0]


# ---------------------------------------------------------------- get_model_status_impl_test.cc

def test_model_status(models):
    """status_test InvalidModelVersionFailure, AllVersionsSuccess, SingleVersionSuccess."""
    request = get_model_status_pb2.GetModelStatusRequest()
    request.model_spec.name = golden_models.TWO_VERSIONS
    request.model_spec.version.value = 125
    assert code_of(lambda: models.GetModelStatus(request, timeout=30))[0] == grpc.StatusCode.NOT_FOUND
    request.model_spec.ClearField("version")
    result = models.GetModelStatus(request, timeout=30)
    assert sorted(s.version for s in result.model_version_status) == [VERSION, VERSION + 1]
    assert all(s.status.error_code == 0 and s.status.error_message == "" for s in result.model_version_status)
    request.model_spec.version.value = VERSION
    result = models.GetModelStatus(request, timeout=30)
    assert [(s.version, s.status.error_code) for s in result.model_version_status] == [(VERSION, 0)]


# ---------------------------------------------------------------- REST behaviour of the same kind

def test_json_parse_errors_use_rapidjson_texts_and_stop_after_the_document(rest):
    """json_tensor.cc ParseJson: rapidjson's messages and offsets; `Inf` is a number; what follows
    the first JSON value is ignored (kParseStopWhenDoneFlag)."""
    path = "/v1/models/default:predict"
    cases = [
        ('{"instances": [1.0, 2.0}', "JSON Parse error: Missing a comma or ']' after an array element. at offset: 23"),
        ('{"instances" [1.0]}', "JSON Parse error: Missing a colon after a name of object member. at offset: 13"),
        ('{"instances": [1.]}', "JSON Parse error: Miss fraction part in number. at offset: 17"),
        ('{"instances": ["\\x"]}', "JSON Parse error: Invalid escape character in string. at offset: 16"),
        ("   ", "JSON Parse error: The document is empty. at offset: 3"),
    ]
    for body, message in cases:
        response = rest.request("POST", path, data=body)
        assert (response.status_code, response.json()) == (400, {"error": message}), body
    assert rest.request("POST", path, data='{"instances": [2.0]} trailing words').json() == {"predictions": [3.0]}
    assert rest.request("POST", path, data='{"instances": [Inf, -Inf]}').json() == {
        "predictions": [float("inf"), float("-inf")]}


def test_version_numbers_out_of_range_and_malformed(rest, server):
    """http_rest_api_util.cc ParseModelInfo: int64 versions; nothing reaches the log as a traceback."""
    for digits in ("9223372036854775808", "9" * 5000):
        for method, path in (("GET", "/v1/models/default/versions/%s" % digits),
                             ("GET", "/v1/models/default/versions/%s/metadata" % digits),
                             ("POST", "/v1/models/default/versions/%s:predict" % digits)):
            response = rest.request(method, path, data='{"instances": [1.0]}')
            assert response.status_code == 400
            assert response.json()["error"].startswith("Failed to convert version: %s" % digits[:100])
    assert rest.get("/v1/models/default/versions/%s" % ("0" * 5000 + str(VERSION)))[0] == 200
    for version in ("%C2%B2", "-1", "1.0", "0x7b"):
        response = rest.request("GET", "/v1/models/default/versions/" + version)
        assert response.status_code == 400 and "Malformed request" in response.json()["error"], version
    assert "Traceback" not in server.log()


def test_url_grammar_matches_tfs(rest):
    """TF Serving's patterns match the whole path: lower-case verbs only, no trailing slash; a model
    named `versions` is not what `/v1/models/versions/1` asks for."""
    assert rest.post("/v1/models/default:PREDICT", {"instances": [1.0]})[1] == {
        "error": "Malformed request: POST /v1/models/default:PREDICT"}
    assert rest.post("/V1/MODELS/default/VERSIONS/%d:predict" % VERSION, {"instances": [1.0]}) == (
        200, {"predictions": [2.5]})
    assert rest.get("/v1/models/default/")[0] == 400
    assert rest.get("/v1/models/versions/1") == (400, {"error": "Missing model name in request."})


def test_cors_preflight_needs_an_origin(rest):
    """http_server.cc: OPTIONS on a /v1/ path is 200 with an http(s) Origin, else FAILED_PRECONDITION (400)."""
    response = rest.request("OPTIONS", "/v1/models/default:predict", headers={"Origin": "https://example.com"})
    assert response.status_code == 200
    response = rest.request("OPTIONS", "/v1/models/default:predict")
    assert response.status_code == 400
    assert response.json() == {"error": "Origin header is missing in CORS preflight"}


def test_metrics_path_answers_any_method(rest):
    """http_server.cc registers the Prometheus path for every method."""
    response = rest.request("POST", "/monitoring/prometheus/metrics", data="")
    assert response.status_code == 200 and "# TYPE" in response.text


def test_shapes_reach_the_graph(rest, predictions):
    """Input shapes are not checked against the signature: what the graph cannot compute is a 400."""
    import tensorflow.compat.v1 as tf

    request = x_request(output_filter=())
    request.inputs["x"].CopyFrom(tf.make_tensor_proto(np.array([[1.0, 2.0]], np.float32)))
    output = predictions.Predict(request, timeout=30).outputs["y"]
    assert tf.make_ndarray(output).tolist() == [[2.5, 3.0]] and list(output.float_val) == [2.5, 3.0]
    # A string for a float input stays a dtype error, before any run.
    assert rest.post("/v1/models/default:predict", {"instances": ["a"]})[0] == 400


# ---------------------------------------------------------------- TF Lite (--prefer_tflite_model)

def test_predict_on_tflite(impl, golden_dir):
    """tfs_server_test testPredictOnTfLite: the same request, answered by TF Lite's interpreter."""
    from model_servers import running_server

    base = os.path.join(golden_dir, golden_models.TFLITE)
    with running_server(["--model_name=default", "--model_base_path=" + base, "--prefer_tflite_model=true"],
                        binary=impl) as server:
        with grpc.insecure_channel(server.grpc_target) as channel:
            stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
            result = stub.Predict(x_request(output_filter=()), timeout=30)
            assert list(result.outputs["y"].float_val) == [3.0] and result.model_spec.version.value == VERSION
        rest = Rest(server.rest_url)
        assert rest.post("/v1/models/default:predict", {"instances": [[2.0], [4.0]]}) == (
            200, {"predictions": [[3.0], [4.0]]})
        status, body = rest.get("/v1/models/default/metadata")
        assert status == 200
        assert body["metadata"]["signature_def"]["signature_def"]["serving_default"]["inputs"]["x"]["name"] == "x"


def tf2_python_or_skip():
    """A Python with TensorFlow 2.x (its TF Lite schema writes the metadata): this one, TF2_PYTHON or .venv-tf2."""
    import tensorflow as tf

    if not tf.__version__.startswith("1."):
        return sys.executable
    candidate = os.environ.get("TF2_PYTHON") or os.path.join(REPO, ".venv-tf2", "bin", "python")
    if not os.path.exists(candidate):
        pytest.skip("writing TF Lite metadata needs TF 2.x's TF Lite schema: set TF2_PYTHON")
    return candidate


def test_predict_with_signature_def_on_tflite(impl, golden_dir, tmp_path):
    """tfs_server_test testPredictWithSignatureDefOnTfLite: the SignatureDefs stored in the model's
    metadata are its signatures (tensor names matched as written or without `:N`), not a generated one."""
    from model_servers import running_server

    base = tmp_path / "tflite_with_sigdef"
    (base / str(VERSION)).mkdir(parents=True)
    result = subprocess.run(
        [tf2_python_or_skip(), os.path.join(REPO, "tests", "helpers", "tflite_sigdef.py"),
         os.path.join(golden_dir, golden_models.TFLITE, str(VERSION), "model.tflite"),
         str(base / str(VERSION) / "model.tflite")], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert result.returncode == 0, result.stdout.decode(errors="replace")[-3000:]
    with running_server(["--model_name=default", "--model_base_path=" + str(base), "--prefer_tflite_model=true"],
                        binary=impl) as server:
        with grpc.insecure_channel(server.grpc_target) as channel:
            stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
            result = stub.Predict(x_request(output_filter=()), timeout=30)
            assert list(result.outputs["y"].float_val) == [3.0] and result.model_spec.version.value == VERSION
        rest = Rest(server.rest_url)
        assert rest.post("/v1/models/default:predict", {"signature_name": "half", "instances": [[4.0]]}) == (
            200, {"predictions": [[4.0]]})
        status, body = rest.get("/v1/models/default/metadata")
        signatures = body["metadata"]["signature_def"]["signature_def"]
        assert sorted(signatures) == ["half", "serving_default"], signatures
        assert signatures["serving_default"]["inputs"]["x"]["name"] == "tflite_input"


def test_tflite_version_is_not_loaded_without_the_flag(impl, golden_dir):
    """Without --prefer_tflite_model a version with only model.tflite has no SavedModel: it never loads."""
    from model_servers import start_server

    base = os.path.join(golden_dir, golden_models.TFLITE)
    server = start_server(["--model_name=default", "--model_base_path=" + base, "--max_num_load_retries=0"],
                          binary=impl, wait=False)
    try:
        assert server.process.wait(timeout=120) != 0
    finally:
        server.stop()
    assert "did not become available" in server.log()


# ---------------------------------------------------------------- TF2-written SavedModels (TF 2.x runtime)

def _write_tf2_models(root):
    """tfs_server_test's TF2 exports, written with TF 2.x's own API (tf.Module, tf.function, tf.saved_model.save)."""
    import tensorflow as tf

    class HalfPlusTwo(tf.Module):
        def __init__(self):
            super().__init__()
            self.a, self.b = tf.Variable(0.5), tf.Variable(2.0)

        def _x(self, serialized):  # tf.io.parse_example is ParseExampleV2 in TF 2.x graphs
            return tf.io.parse_example(serialized, {"x": tf.io.FixedLenFeature([1], tf.float32)})["x"]

        @tf.function(input_signature=[tf.TensorSpec([1], tf.float32)])
        def predict(self, x):
            return {"y": self.a * x + self.b}

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="inputs")])
        def regress(self, serialized):
            return {"outputs": self.a * self._x(serialized) + self.b}

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string, name="inputs")])
        def classify(self, serialized):
            return {"scores": self.a * self._x(serialized) + self.b}

    model = HalfPlusTwo()
    tf.saved_model.save(model, os.path.join(root, "half_plus_two_tf2", str(VERSION)), signatures={
        "serving_default": model.predict, "regress_x_to_y": model.regress, "classify_x_to_y": model.classify})

    saved = tf.train.Checkpoint()
    saved.v1, saved.v2 = tf.Variable(3.0), tf.Variable(2.0)
    saved.f = tf.function(lambda x: {"y": saved.v1 * saved.v2 * x})
    tf.saved_model.save(saved, os.path.join(root, "tf_saved_model_save", str(VERSION)),
                        saved.f.get_concrete_function(tf.TensorSpec(None, tf.float32)))

    multi = tf.train.Checkpoint()
    multi.f = tf.function(lambda x: {"y": 1.0 + 0.0 * x}, input_signature=[tf.TensorSpec(None, tf.float32)])
    multi.g = tf.function(lambda x: {"y": 2.0 + 0.0 * x}, input_signature=[tf.TensorSpec(None, tf.float32)])
    tf.saved_model.save(multi, os.path.join(root, "multiple_signatures", str(VERSION)),
                        signatures={"serving_default": multi.f, "custom_signature_key": multi.g})


@pytest.fixture(scope="module")
def tf2_server(impl, tmp_path_factory):
    import tensorflow as tf

    if tf.__version__.startswith("1."):
        pytest.skip("TF2-written SavedModels (ParseExampleV2, tf.function) need the TF 2.x runtime (make test-tf2)")
    from model_servers import running_server

    root = str(tmp_path_factory.mktemp("tf2_models"))
    _write_tf2_models(root)
    result = subprocess.run([sys.executable, os.path.join(REPO, "tests", "helpers", "keras_models.py"), root],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert result.returncode == 0, result.stdout.decode(errors="replace")[-3000:]
    configs = "".join('config { name: "%s" base_path: "%s" model_platform: "tensorflow" }\n'
                      % (name, os.path.join(root, name)) for name in sorted(os.listdir(root)))
    config = write(os.path.join(root, "models.config"), "model_config_list {\n%s}\n" % configs)
    with running_server(["--model_config_file=" + config], binary=impl) as running:
        running.root = root
        yield running


def test_tf2_saved_models_use_parse_example_v2(tf2_server):
    with open(os.path.join(tf2_server.root, "half_plus_two_tf2", str(VERSION), "saved_model.pb"), "rb") as f:
        assert b"ParseExampleV2" in f.read()


def test_classify_regress_multi_inference_tf2(tf2_server):
    """tfs_server_test testClassifyTf2, testRegressTf2, testMultiInferenceTf2."""
    with grpc.insecure_channel(tf2_server.grpc_target) as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        request = classification_pb2.ClassificationRequest()
        request.model_spec.name, request.model_spec.signature_name = "half_plus_two_tf2", "classify_x_to_y"
        example_input(request.input, x=2.0)
        assert stub.Classify(request, timeout=30).result.classifications[0].classes[0].score == 3.0
        request = regression_pb2.RegressionRequest()
        request.model_spec.name, request.model_spec.signature_name = "half_plus_two_tf2", "regress_x_to_y"
        example_input(request.input, x=2.0)
        assert stub.Regress(request, timeout=30).result.regressions[0].value == 3.0
        request = inference_pb2.MultiInferenceRequest()
        for signature, method in (("regress_x_to_y", "tensorflow/serving/regress"),
                                  ("classify_x_to_y", "tensorflow/serving/classify")):
            task = request.tasks.add(method_name=method)
            task.model_spec.name, task.model_spec.signature_name = "half_plus_two_tf2", signature
        example_input(request.input, x=2.0)
        results = stub.MultiInference(request, timeout=30).results
        assert results[0].regression_result.regressions[0].value == 3.0
        assert results[1].classification_result.classifications[0].classes[0].score == 3.0
        result = stub.Predict(x_request(model="half_plus_two_tf2"), timeout=30)
        assert list(result.outputs["y"].float_val) == [3.0]
    assert Rest(tf2_server.rest_url).post("/v1/models/half_plus_two_tf2:regress", {
        "signature_name": "regress_x_to_y", "examples": [{"x": 2.0}]}) == (200, {"results": [3.0]})


def test_tf_saved_model_save_and_multiple_signatures(tf2_server):
    """tfs_server_test test_tf_saved_model_save, test_tf_saved_model_save_multiple_signatures."""
    with grpc.insecure_channel(tf2_server.grpc_target) as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        result = stub.Predict(x_request(model="tf_saved_model_save", output_filter=()), timeout=30)
        assert list(result.outputs["y"].float_val) == [12.0] and result.model_spec.version.value == VERSION
        custom = stub.Predict(x_request(model="multiple_signatures", signature="custom_signature_key"), timeout=30)
        assert list(custom.outputs["y"].float_val) == [2.0]
        assert list(stub.Predict(x_request(model="multiple_signatures"), timeout=30).outputs["y"].float_val) == [1.0]


@pytest.mark.parametrize("model", ["keras_sequential", "keras_distrat_sequential"])
def test_keras_saved_model_save(tf2_server, model):
    """tfs_server_test test_sequential_keras_saved_model_save, test_distrat_sequential_keras_saved_model_save:
    the SignatureDef of the MetaGraphDef (x -> y) is what is served, on every runtime."""
    with grpc.insecure_channel(tf2_server.grpc_target) as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        result = stub.Predict(x_request(model=model, dims=(1, 1), output_filter=()), timeout=30)
        assert list(result.outputs["y"].float_val) == [2.0] and result.model_spec.version.value == VERSION


def test_keras3_model_is_served_under_its_signature_def_names(tf2_server):
    """Keras 3 names the same model's signature inputs -> output_0 when it writes it; served as written."""
    rest = Rest(tf2_server.rest_url)
    status, body = rest.get("/v1/models/keras3_sequential/metadata")
    signature = body["metadata"]["signature_def"]["signature_def"]["serving_default"]
    assert (sorted(signature["inputs"]), sorted(signature["outputs"])) == (["inputs"], ["output_0"])
    assert rest.post("/v1/models/keras3_sequential:predict", {"instances": [[2.0]]}) == (
        200, {"predictions": [[2.0]]})
    status, body = rest.post("/v1/models/keras3_sequential:predict", {"inputs": {"x": [[2.0]]}})
    assert (status, body) == (400, {"error": "Missing named input: inputs in 'inputs' object."})
