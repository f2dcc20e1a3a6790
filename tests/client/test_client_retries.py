"""What the client resends, over real sockets: the connect phase, 503 and 429, nothing sent and lost.

A REST "server" that reads each request and then drops the connection
stands for one that crashed on it: the request is sent once (resending would
replay it) unless the user opts in. A gRPC address nobody listens on fails
as a refused REST connection does, without waiting out the connect timeout,
and a gRPC answer the client cannot decode is one ProtocolError.
"""

import socket
import threading
from concurrent import futures

import pytest

from serving_client import ConnectError, ConnectionLost, HTTPTransport, ProtocolError, Request, Retry
from serving_client._retry import RetryTransport

PREDICT = "/v1/models/m:predict"


class DroppingServer(object):
    """Accepts connections, reads one request head each, closes without answering; counts requests."""

    def __init__(self):
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self.port = self._sock.getsockname()[1]
        self.requests = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                if data:
                    self.requests += 1

    def close(self):
        self._sock.close()


@pytest.fixture
def dropping():
    server = DroppingServer()
    yield server
    server.close()


def send(port, retry):
    transport = RetryTransport(HTTPTransport(timeout=(2.0, 10.0)), retry, sleep=lambda seconds: None)
    try:
        return transport.send(Request("POST", "http://127.0.0.1:%d%s" % (port, PREDICT), {"inputs": {}}))
    finally:
        transport.close()


def test_a_request_whose_connection_breaks_after_sending_is_not_replayed(dropping):
    with pytest.raises(ConnectionLost) as info:
        send(dropping.port, Retry(max_retries=3))
    assert dropping.requests == 1
    assert "broke after the request was sent" in str(info.value) and "\n" not in str(info.value)


def test_resending_a_sent_request_is_opt_in(dropping):
    with pytest.raises(ConnectionLost):
        send(dropping.port, Retry(max_retries=2, retry_sent=True))
    assert dropping.requests == 3


def test_refused_connections_are_retried():
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(ConnectError) as info:
        send(port, Retry(max_retries=2))
    assert "gave up after 2 retries" in str(info.value)


def test_429_is_retried_by_default():
    assert 429 in Retry().statuses and 503 in Retry().statuses


@pytest.mark.needs_tf
def test_grpc_address_not_listening_fails_at_once_not_at_the_connect_timeout():
    from serving_client._grpc import GrpcTransport

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    transport = GrpcTransport("grpc://127.0.0.1:%d" % port, connect_timeout=60.0)
    try:
        with pytest.raises(ConnectError) as info:
            transport.send(Request("GET", "grpc://127.0.0.1:%d/v1/models/m/metadata" % port))
    finally:
        transport.close()
    # The refusal ended the wait (the message of the 60 s timeout would say "within 60.0s").
    assert "connection failed" in str(info.value)


@pytest.mark.needs_tf
def test_grpc_answer_the_client_cannot_decode_is_one_protocol_error():
    import grpc
    from tensorflow.core.framework import tensor_pb2, types_pb2
    from tensorflow_serving.apis import get_model_metadata_pb2, predict_pb2, prediction_service_pb2_grpc

    from serving_client._grpc import GrpcTransport

    class Odd(prediction_service_pb2_grpc.PredictionServiceServicer):
        def GetModelMetadata(self, request, context):  # noqa: N802
            response = get_model_metadata_pb2.GetModelMetadataResponse()
            response.model_spec.name = "m"
            signatures = get_model_metadata_pb2.SignatureDefMap()
            signatures.signature_def["serving_default"].inputs["x"].dtype = types_pb2.DT_INT32
            response.metadata["signature_def"].Pack(signatures)
            return response

        def Predict(self, request, context):  # noqa: N802
            response = predict_pb2.PredictResponse()
            response.outputs["out"].CopyFrom(tensor_pb2.TensorProto(dtype=types_pb2.DT_RESOURCE))
            return response

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(Odd(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    transport = GrpcTransport("grpc://127.0.0.1:%d" % port)
    try:
        with pytest.raises(ProtocolError) as info:
            transport.send(Request("POST", "grpc://127.0.0.1:%d%s" % (port, PREDICT), {"inputs": {"x": [[1]]}}))
    finally:
        transport.close()
        server.stop(0)
    message = str(info.value)
    assert "cannot decode the gRPC answer" in message and "DT_RESOURCE" in message and "\n" not in message
