"""gRPC request tensors are checked against their own content and a byte budget before conversion.

Client mistakes (resource/variant dtypes, negative or inconsistent shapes,
more values than elements) are INVALID_ARGUMENT; a few bytes declaring a huge
shape are RESOURCE_EXHAUSTED, and the server does not allocate that memory.
"""

import grpc
import pytest
from tensorflow_serving.apis import prediction_service_pb2_grpc

import toy_savedmodel as toy_models
from test_grpc import code_of, predict_request

pytestmark = pytest.mark.needs_tf

MiB = 1024 * 1024


def peak_rss_bytes(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc/%d/status" % pid)


def with_tensor(edit):
    """A valid toy Predict whose input_ids TensorProto is changed by edit(proto)."""
    request = predict_request(toy_models.bert_rows(1))
    edit(request.inputs["input_ids"])
    return request


def dims(*sizes):
    def edit(proto):
        del proto.tensor_shape.dim[:]
        for size in sizes:
            proto.tensor_shape.dim.add(size=size)
        proto.ClearField("tensor_content")
        del proto.int_val[:]
        proto.int_val.append(7)
    return edit


def dtype(number):
    def edit(proto):
        proto.dtype = number
    return edit


def content(data):
    def edit(proto):
        del proto.int_val[:]
        proto.tensor_content = data
    return edit


def extra_values(proto):
    del proto.int_val[:]
    proto.ClearField("tensor_content")
    proto.int_val.extend(range(9))  # shape [1, 4]


CASES = [
    ("resource dtype", dtype(20), grpc.StatusCode.INVALID_ARGUMENT, "DT_RESOURCE"),
    ("variant dtype", dtype(21), grpc.StatusCode.INVALID_ARGUMENT, "DT_VARIANT"),
    ("unknown dtype", dtype(999), grpc.StatusCode.INVALID_ARGUMENT, "dtype 999"),
    ("negative dim", dims(1, -4), grpc.StatusCode.INVALID_ARGUMENT, "negative dimension"),
    ("short content", content(b"\0" * 12), grpc.StatusCode.INVALID_ARGUMENT, "needs 16 bytes"),
    ("more values than elements", extra_values, grpc.StatusCode.INVALID_ARGUMENT, "gives 9 values"),
    ("one value, 10^8 elements", dims(1, 100000000), grpc.StatusCode.RESOURCE_EXHAUSTED, "would take 400000000"),
    ("2^40 x 64 elements", dims(2 ** 40, 64), grpc.StatusCode.RESOURCE_EXHAUSTED, "more than the"),
]


def test_hostile_tensors_are_client_errors_without_allocation(toy_server, grpc_channel, local_only):
    stub = prediction_service_pb2_grpc.PredictionServiceStub(grpc_channel)
    assert stub.Predict(predict_request(toy_models.bert_rows(1)), timeout=30).outputs["output"]
    peak_before = peak_rss_bytes(toy_server.process.pid)
    for what, edit, code, text in CASES:
        got, details = code_of(lambda: stub.Predict(with_tensor(edit), timeout=30))
        assert (got, text in details) == (code, True), (what, got, details)
    # Nothing near the declared 400 MB was allocated (the budget is 64 MiB).
    assert peak_rss_bytes(toy_server.process.pid) - peak_before < 32 * MiB
    assert stub.Predict(predict_request(toy_models.bert_rows(1)), timeout=30).outputs["output"]
