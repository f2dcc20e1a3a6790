"""gRPC PredictionService / ModelService against a running server."""

import grpc
import numpy as np
import pytest
from tensorflow_serving.apis import (
    classification_pb2, get_model_metadata_pb2, get_model_status_pb2, model_service_pb2_grpc, predict_pb2,
    prediction_service_pb2_grpc)

import toy_savedmodel as toy_models

pytestmark = pytest.mark.needs_tf


def predict_request(rows, name="toy", signature="", version=None, label=None):
    import tensorflow.compat.v1 as tf
    request = predict_pb2.PredictRequest()
    request.model_spec.name = name
    request.model_spec.signature_name = signature
    if version is not None:
        request.model_spec.version.value = version
    if label is not None:
        request.model_spec.version_label = label
    for key in rows[0]:
        request.inputs[key].CopyFrom(tf.make_tensor_proto(np.array([r[key] for r in rows], dtype=np.int32)))
    return request


def code_of(call):
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value.code(), info.value.details()


def test_predict_matches_the_model(grpc_channel):
    import tensorflow.compat.v1 as tf
    stub = prediction_service_pb2_grpc.PredictionServiceStub(grpc_channel)
    rows = toy_models.bert_rows(2)
    response = stub.Predict(predict_request(rows), timeout=30)
    output = tf.make_ndarray(response.outputs["output"])
    np.testing.assert_allclose(output, [toy_models.expected_output(r) for r in rows], rtol=1e-5)
    assert response.model_spec.name == "toy"
    assert response.model_spec.version.value == 1
    assert response.model_spec.signature_name == "serving_default"


def test_predict_output_filter(grpc_channel):
    stub = prediction_service_pb2_grpc.PredictionServiceStub(grpc_channel)
    import tensorflow.compat.v1 as tf
    request = predict_pb2.PredictRequest()
    request.model_spec.name = "toy"
    request.model_spec.signature_name = "multi"
    request.inputs["text"].CopyFrom(tf.make_tensor_proto(np.array([b"ab"], dtype=object)))
    request.inputs["x"].CopyFrom(tf.make_tensor_proto(np.array([[1, 2]], dtype=np.float32)))
    request.output_filter.append("length")
    response = stub.Predict(request, timeout=30)
    assert list(response.outputs) == ["length"]
    assert tf.make_ndarray(response.outputs["length"]).tolist() == [2]


def test_predict_errors(grpc_channel):
    import tensorflow.compat.v1 as tf
    stub = prediction_service_pb2_grpc.PredictionServiceStub(grpc_channel)
    rows = toy_models.bert_rows(1)
    assert code_of(lambda: stub.Predict(predict_request(rows, name="nope"), timeout=30))[0] == \
        grpc.StatusCode.NOT_FOUND
    assert code_of(lambda: stub.Predict(predict_request(rows, version=9), timeout=30))[0] == \
        grpc.StatusCode.NOT_FOUND
    code, details = code_of(lambda: stub.Predict(predict_request(rows, signature="nosig"), timeout=30))
    assert code == grpc.StatusCode.FAILED_PRECONDITION and 'Serving signature key "nosig" not found.' in details
    code, details = code_of(lambda: stub.Predict(predict_request(rows, label="nolabel"), timeout=30))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "Unrecognized servable version label: nolabel" in details

    missing = predict_request(rows)
    del missing.inputs["input_mask"]
    code, details = code_of(lambda: stub.Predict(missing, timeout=30))
    assert code == grpc.StatusCode.INVALID_ARGUMENT
    assert "input size does not match signature" in details and "Missing but required: {input_mask}" in details

    renamed = predict_request(rows)
    renamed.inputs["bogus"].CopyFrom(renamed.inputs.pop("input_mask"))
    code, details = code_of(lambda: stub.Predict(renamed, timeout=30))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "input tensor alias not found in signature: bogus" in details

    wrong_dtype = predict_request(rows)
    wrong_dtype.inputs["input_ids"].CopyFrom(tf.make_tensor_proto(np.zeros((1, 4), dtype=np.float32)))
    assert code_of(lambda: stub.Predict(wrong_dtype, timeout=30))[0] == grpc.StatusCode.INVALID_ARGUMENT

    wrong_shape = predict_request(rows)
    wrong_shape.inputs["input_ids"].CopyFrom(tf.make_tensor_proto(np.zeros((1, 3), dtype=np.int32)))
    assert code_of(lambda: stub.Predict(wrong_shape, timeout=30))[0] == grpc.StatusCode.INVALID_ARGUMENT

    # The server keeps answering after every fault above.
    assert stub.Predict(predict_request(rows), timeout=30).outputs["output"].dtype


def test_metadata(grpc_channel):
    stub = prediction_service_pb2_grpc.PredictionServiceStub(grpc_channel)
    request = get_model_metadata_pb2.GetModelMetadataRequest()
    request.model_spec.name = "toy"
    request.metadata_field.append("signature_def")
    response = stub.GetModelMetadata(request, timeout=30)
    signature_map = get_model_metadata_pb2.SignatureDefMap()
    response.metadata["signature_def"].Unpack(signature_map)
    assert "serving_default" in signature_map.signature_def
    assert response.model_spec.version.value == 1

    request.metadata_field[0] = "nope"
    assert code_of(lambda: stub.GetModelMetadata(request, timeout=30))[0] == grpc.StatusCode.INVALID_ARGUMENT


def test_model_status(grpc_channel):
    stub = model_service_pb2_grpc.ModelServiceStub(grpc_channel)
    request = get_model_status_pb2.GetModelStatusRequest()
    request.model_spec.name = "toy"
    response = stub.GetModelStatus(request, timeout=30)
    (status,) = response.model_version_status
    assert status.version == 1
    assert status.state == get_model_status_pb2.ModelVersionStatus.AVAILABLE
    request.model_spec.name = "nope"
    assert code_of(lambda: stub.GetModelStatus(request, timeout=30))[0] == grpc.StatusCode.NOT_FOUND


def test_classify_on_predict_signature_is_invalid(grpc_channel):
    stub = prediction_service_pb2_grpc.PredictionServiceStub(grpc_channel)
    request = classification_pb2.ClassificationRequest()
    request.model_spec.name = "toy"
    request.input.example_list.examples.add()
    assert code_of(lambda: stub.Classify(request, timeout=30))[0] == grpc.StatusCode.INVALID_ARGUMENT


def test_unix_socket(toy_server):
    channel = grpc.insecure_channel("unix:" + toy_server.socket_path)
    try:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        assert stub.Predict(predict_request(toy_models.bert_rows(1)), timeout=30).model_spec.version.value == 1
    finally:
        channel.close()
