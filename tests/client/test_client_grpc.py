"""The gRPC transport (the client's own protos) against an in-process PredictionService built on
tensorflow-serving-api's stubs, with TF's own proto conversions as oracle."""

from concurrent import futures

import pytest

from client_fakes import FakeServing
from serving_client import ConnectError, MockTransport, Request, Response, Retry, ServerError, ServingClient

pytestmark = pytest.mark.needs_tf

STATUS_CODES = {400: "INVALID_ARGUMENT", 404: "NOT_FOUND", 503: "UNAVAILABLE"}


@pytest.fixture
def grpc_server(tiny_vocab_file):
    """(fake, "grpc://127.0.0.1:<port>"): FakeServing behind a real gRPC PredictionService."""
    import grpc
    import numpy as np
    import tensorflow as tf
    from google.protobuf import json_format
    from tensorflow_serving.apis import get_model_metadata_pb2, predict_pb2, prediction_service_pb2_grpc

    fake = FakeServing(tiny_vocab_file)

    def abort_with(context, response):
        code = getattr(grpc.StatusCode, STATUS_CODES.get(response.status_code, "INTERNAL"))
        context.abort(code, response.json()["error"])

    class Servicer(prediction_service_pb2_grpc.PredictionServiceServicer):
        def GetModelMetadata(self, request, context):
            url = "http://serving/v1/models/%s" % request.model_spec.name
            if request.model_spec.HasField("version"):
                url += "/versions/%d" % request.model_spec.version.value
            answer = fake.handler(Request("GET", url + "/metadata"))
            if answer.status_code != 200:
                abort_with(context, answer)
            body = answer.json()
            response = get_model_metadata_pb2.GetModelMetadataResponse()
            response.model_spec.name = body["model_spec"]["name"]
            response.model_spec.version.value = int(body["model_spec"]["version"])
            signatures = get_model_metadata_pb2.SignatureDefMap()
            json_format.ParseDict(body["metadata"]["signature_def"], signatures)
            response.metadata["signature_def"].Pack(signatures)
            return response

        def Predict(self, request, context):
            for name, proto in request.inputs.items():
                assert proto.dtype == tf.int32.as_datatype_enum, name  # dtypes came from the metadata
            body = {
                "signature_name": request.model_spec.signature_name,
                "inputs": {name: tf.make_ndarray(proto).tolist() for name, proto in request.inputs.items()},
            }
            url = "http://serving/v1/models/%s/versions/%d:predict" % (request.model_spec.name, request.model_spec.version.value)
            answer = fake.handler(Request("POST", url, body))
            if answer.status_code != 200:
                abort_with(context, answer)
            outputs = answer.json()["outputs"]
            response = predict_pb2.PredictResponse()
            response.model_spec.CopyFrom(request.model_spec)
            if body["signature_name"] == "metadata":
                response.outputs["metadata_json"].CopyFrom(tf.make_tensor_proto([o.encode() for o in outputs]))
            else:  # float32 via tensor_content, as TF writes large numeric tensors
                response.outputs["output"].CopyFrom(tf.make_tensor_proto(np.array(outputs, np.float32)))
            return response

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(Servicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield fake, "grpc://127.0.0.1:%d" % port
    finally:
        server.stop(0)


def grpc_client(url, model="sms", **kwargs):
    vocab = kwargs.pop("vocab")
    return ServingClient(url, model, vocab, retry=Retry(max_retries=2, backoff_factor=0), **kwargs)


def test_grpc_predictions_equal_rest_predictions(grpc_server, tiny_vocab_file):
    fake, url = grpc_server
    texts = ["good movie", "the film is bad", "lol"]
    with grpc_client(url, vocab=tiny_vocab_file, batch_size=2) as client:
        over_grpc = client.predict_batch(texts, ["yes", None, "no"])
        assert client.labels == ["ham", "spam"] and client.model_version == 7
    rest = ServingClient("http://serving", "sms", tiny_vocab_file, transport=MockTransport(FakeServing(tiny_vocab_file).handler))
    over_rest = rest.predict_batch(texts, ["yes", None, "no"])
    assert [p.label for p in over_grpc] == [p.label for p in over_rest]
    for a, b in zip(over_grpc, over_rest):
        assert a.probabilities == pytest.approx(b.probabilities, rel=1e-6)  # float32 on the wire


def test_grpc_status_becomes_server_error_with_code_and_message(grpc_server, tiny_vocab_file):
    _, url = grpc_server
    with pytest.raises(ServerError) as info:
        grpc_client(url, model="nope", vocab=tiny_vocab_file).predict("good")
    error = info.value
    assert (error.status_code, error.grpc_code) == (404, "NOT_FOUND")
    assert error.server_message == "Servable not found for request: Latest(nope)"
    assert str(error).startswith("HTTP 404 (gRPC NOT_FOUND) from GET grpc://127.0.0.1:")


def test_grpc_unavailable_is_retried(grpc_server, tiny_vocab_file):
    fake, url = grpc_server
    failures = [Response(503, json={"error": "queue full"})]
    fake.before = lambda request: failures.pop() if request.method == "POST" and failures else None
    assert grpc_client(url, vocab=tiny_vocab_file).predict("good").label == "spam"
    assert failures == []


def test_grpc_connect_failure_is_a_connect_error(tiny_vocab_file):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = grpc_client("grpc://127.0.0.1:%d" % port, vocab=tiny_vocab_file, connect_timeout=0.2)
    with pytest.raises(ConnectError) as info:
        client.predict("good")
    assert "cannot connect to 127.0.0.1:%d" % port in str(info.value)


@pytest.mark.parametrize(
    "value, dtype",
    [([[1, 2, 3], [4, 5, 6]], "DT_INT32"), ([7, 8], "DT_INT64"), ([[0.5], [1.5]], "DT_FLOAT"), (["a", "b\u00e9"], "DT_STRING"), ([], "DT_INT32")],
)
def test_tensor_conversion_agrees_with_tensorflow(value, dtype):
    """Through the wire format: the client's own TensorProto one side, TensorFlow's the other."""
    import numpy as np
    import tensorflow as tf
    from tensorflow.core.framework import tensor_pb2

    from serving_client._grpc import from_tensor_proto, to_tensor_proto
    from serving_client._protos import TensorProto

    proto = to_tensor_proto(value, dtype)
    expected = [v.encode("utf-8") for v in value] if dtype == "DT_STRING" else value
    assert tf.make_ndarray(tensor_pb2.TensorProto.FromString(proto.SerializeToString())).tolist() == expected
    np_dtype = {"DT_INT32": np.int32, "DT_INT64": np.int64, "DT_FLOAT": np.float32, "DT_STRING": object}[dtype]
    from_tf = TensorProto.FromString(tf.make_tensor_proto(np.array(expected, dtype=np_dtype)).SerializeToString())
    assert from_tensor_proto(from_tf) == value  # tensor_content for numbers
    assert from_tensor_proto(proto) == value  # *_val fields
