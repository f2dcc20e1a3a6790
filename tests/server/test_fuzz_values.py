"""Property-based fuzzing of what a client puts in a request, over REST and gRPC.

test_fuzz.py mutates whole requests (paths, methods, bodies); these tests aim
the values at the parsers and converters behind a valid route: JSON text with
lone surrogate escapes, any Unicode, nesting up to 1,000 levels, extreme
numbers; gRPC messages with any dtype, rank, dimension sizes, values and names,
and raw bytes that are no message at all. A client's mistake is never a 5xx
(INTERNAL/UNKNOWN/DATA_LOSS/UNIMPLEMENTED over gRPC), every REST answer is
UTF-8 JSON, and the server still predicts afterwards. FUZZ_VALUE_CASES
examples each (default 300: seconds).
"""

import json
import os

import grpc
import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tensorflow_serving.apis import (
    get_model_metadata_pb2, get_model_status_pb2, model_service_pb2_grpc, predict_pb2, prediction_service_pb2_grpc)

import toy_savedmodel as toy_models

pytestmark = pytest.mark.needs_tf

CASES = int(os.environ.get("FUZZ_VALUE_CASES", "300"))
ROW = toy_models.bert_rows(1)[0]
INPUTS = sorted(ROW) + ["text", "x", "n", "inputs"]
SIGNATURES = ["serving_default", "metadata", "multi", "classify", "regress"]
SERVER_FAULTS = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN, grpc.StatusCode.DATA_LOSS,
                 grpc.StatusCode.UNIMPLEMENTED}
FUZZ_SETTINGS = settings(max_examples=CASES, deadline=None, database=None, derandomize=True, print_blob=True,
                         suppress_health_check=list(HealthCheck))

# ------------------------------------------------------------ JSON text

# Any code point, lone surrogates included (hypothesis leaves them out unless asked).
any_char = st.one_of(st.characters(), st.integers(0xD800, 0xDFFF).map(chr))
strings = st.one_of(st.text(any_char, max_size=12), st.sampled_from(INPUTS + SIGNATURES + ["b64", ""]))
numbers = st.one_of(
    st.integers(-2 ** 70, 2 ** 70), st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["1e400", "-1e400", "1e-400", "-0", "0.0e0", "123456789012345678901234567890",
                     "9" * 5000, "NaN", "-Infinity", "Infinity", "1E+2", "2147483648", "-2147483649",
                     "18446744073709551616", "16777217", "65505", "1.5"]))


class Raw(str):
    """JSON text written as is (a number literal the serializer could not produce)."""


class Deep(object):
    """`value` inside `depth` lists, nested only when written (hypothesis's printer recurses)."""

    def __init__(self, value, depth):
        self.value, self.depth = value, depth

    def __repr__(self):
        return "Deep(%r, %d)" % (self.value, self.depth)


def to_json(value):
    """JSON text; ensure_ascii writes a lone surrogate as a \\uD800 escape, as a hostile client would."""
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, Deep):
        return "[" * value.depth + to_json(value.value) + "]" * value.depth
    if isinstance(value, list):
        return "[" + ",".join(map(to_json, value)) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(to_json(k) + ":" + to_json(v) for k, v in value.items()) + "}"
    if isinstance(value, float) and value != value:
        return "NaN"
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return json.dumps(value, ensure_ascii=True)


scalars = st.one_of(st.none(), st.booleans(), numbers.map(lambda n: Raw(n) if isinstance(n, str) else n),
                    strings, st.builds(lambda s: {"b64": s}, strings))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=5),
                                                       st.dictionaries(strings, inner, max_size=4)),
                      max_leaves=25)


deep = st.builds(Deep, st.one_of(scalars, st.lists(st.integers(-3, 200), min_size=4, max_size=4)),
                 st.one_of(st.integers(0, 40), st.integers(30, 1000)))
tensors = st.one_of(values, deep, st.lists(st.integers(-2 ** 40, 2 ** 40), min_size=4, max_size=4))
rows = st.one_of(st.builds(lambda k, v: dict(ROW, **{k: v}), st.sampled_from(sorted(ROW)), tensors),
                 st.dictionaries(strings, tensors, max_size=4))
documents = st.one_of(
    st.builds(lambda s, r: {"signature_name": s, "instances": r}, strings, st.lists(rows, max_size=3)),
    st.builds(lambda r: {"instances": r}, st.one_of(st.lists(rows, min_size=1, max_size=3), deep, tensors)),
    st.builds(lambda s, i: {"signature_name": s, "inputs": i}, strings,
              st.one_of(tensors, st.dictionaries(strings, tensors, max_size=4))),
    st.builds(lambda s, c, e: {"signature_name": s, "context": c, "examples": e}, strings,
              st.dictionaries(strings, tensors, max_size=2), st.lists(st.dictionaries(strings, tensors, max_size=2),
                                                                      max_size=3)),
    st.dictionaries(strings, values, max_size=4), deep)
verbs = st.sampled_from([":predict", ":predict", ":classify", ":regress", "/versions/1:predict",
                         "/labels/stable:predict"])


def test_json_values_are_client_errors_never_5xx(toy_server, local_only):
    """Also: every answer is UTF-8 JSON, and an error is exactly {"error": str}."""
    session = requests.Session()
    seen = {}

    @FUZZ_SETTINGS
    @given(document=documents, verb=verbs)
    def one_request(document, verb):
        body = to_json(document).encode("utf-8", "surrogatepass")
        response = session.post(toy_server.rest_url + "/v1/models/toy" + verb, data=body,
                                headers={"Content-Type": "application/json"}, timeout=30)
        seen[response.status_code] = seen.get(response.status_code, 0) + 1
        assert response.status_code < 500 or response.status_code in (503, 504), (body[:300], response.text[:300])
        answer = json.loads(response.content.decode("utf-8"))
        if response.status_code != 200:
            assert list(answer) == ["error"] and isinstance(answer["error"], str), answer

    one_request()
    print("statuses: %s" % sorted(seen.items()))
    assert sum(seen.values()) >= CASES and 400 in seen
    assert_still_predicts(toy_server)


def test_lone_surrogate_is_tfs_parse_error(toy_server, local_only):
    """TF Serving's rapidjson refuses a lone surrogate escape where the standard library takes it."""
    for text in ('{"instances": ["\\ud800"]}', '{"\\udc00": 1}', '{"signature_name": "\\ud800x", "instances": [1]}'):
        response = requests.post(toy_server.rest_url + "/v1/models/toy:predict", data=text, timeout=30)
        assert response.status_code == 400
        assert response.json()["error"].startswith("JSON Parse error: The surrogate pair in string is invalid.")
    pair = '{"signature_name": "\\ud83d\\ude00", "instances": [1]}'  # a valid pair parses
    response = requests.post(toy_server.rest_url + "/v1/models/toy:predict", data=pair, timeout=30)
    assert response.json()["error"] == 'Serving signature name: "\U0001F600" not found in signature def'


@pytest.mark.parametrize("depth", [33, 100, 970])
def test_tensor_deeper_than_32_levels_is_a_client_error(toy_server, local_only, depth):
    for body in ({"inputs": {"input_ids": Deep(1, depth)}}, {"instances": [dict(ROW, input_ids=Deep(1, depth))]}):
        response = requests.post(toy_server.rest_url + "/v1/models/toy:predict", data=to_json(body), timeout=30)
        assert response.status_code == 400, response.text[:300]
        assert "32" in response.json()["error"]


def assert_still_predicts(server):
    response = requests.post(server.rest_url + "/v1/models/toy:predict", json={"instances": [ROW]}, timeout=30)
    assert response.status_code == 200 and len(response.json()["predictions"]) == 1


# ------------------------------------------------------------ gRPC messages

names = st.one_of(st.sampled_from(["toy", "nope", ""]), st.text(max_size=10))
dims = st.one_of(st.lists(st.one_of(st.integers(-2, 5), st.integers(-2 ** 63, 2 ** 63 - 1)), max_size=6),
                 st.lists(st.integers(0, 1), min_size=30, max_size=70))
value_fields = st.sampled_from(["float_val", "double_val", "int_val", "int64_val", "bool_val", "string_val",
                                "half_val", "uint32_val", "uint64_val", "scomplex_val", "dcomplex_val"])
field_values = {
    "float_val": st.floats(width=32), "double_val": st.floats(), "int_val": st.integers(-2 ** 31, 2 ** 31 - 1),
    "int64_val": st.integers(-2 ** 63, 2 ** 63 - 1), "bool_val": st.booleans(), "string_val": st.binary(max_size=8),
    "half_val": st.integers(-2 ** 31, 2 ** 31 - 1), "uint32_val": st.integers(0, 2 ** 32 - 1),
    "uint64_val": st.integers(0, 2 ** 64 - 1), "scomplex_val": st.floats(width=32), "dcomplex_val": st.floats()}
tensor_specs = st.tuples(st.one_of(st.integers(0, 30), st.sampled_from([1, 3, 7, 9])), dims, value_fields,
                         st.integers(0, 6), st.one_of(st.none(), st.binary(max_size=64)), st.booleans(), st.data())


def tensor_proto(proto, spec):
    dtype, shape, field, count, content, unknown_rank, data = spec
    proto.dtype = dtype
    proto.tensor_shape.unknown_rank = unknown_rank
    for size in shape:
        proto.tensor_shape.dim.add().size = size
    getattr(proto, field).extend(data.draw(st.lists(field_values[field], max_size=count)))
    if content is not None:
        proto.tensor_content = content


predict_requests = st.builds(
    lambda name, signature, inputs, output_filter, version: (name, signature, inputs, output_filter, version),
    names, st.one_of(st.sampled_from(SIGNATURES + [""]), st.text(max_size=8)),
    st.dictionaries(st.one_of(st.sampled_from(INPUTS), st.text(max_size=6)), tensor_specs, max_size=5),
    st.lists(st.one_of(st.sampled_from(["output", "length", "doubled"]), st.text(max_size=4)), max_size=3),
    st.one_of(st.none(), st.integers(-2 ** 63, 2 ** 63 - 1)))
METHODS = ["/tensorflow.serving.PredictionService/Predict", "/tensorflow.serving.PredictionService/Classify",
           "/tensorflow.serving.PredictionService/Regress", "/tensorflow.serving.PredictionService/MultiInference",
           "/tensorflow.serving.PredictionService/GetModelMetadata", "/tensorflow.serving.ModelService/GetModelStatus"]


def build_predict(name, signature, inputs, output_filter, version):
    request = predict_pb2.PredictRequest()
    request.model_spec.name = name
    request.model_spec.signature_name = signature
    if version is not None:
        request.model_spec.version.value = version
    for alias, spec in inputs.items():
        tensor_proto(request.inputs[alias], spec)
    request.output_filter.extend(output_filter)
    return request


def test_grpc_messages_are_client_errors_never_internal(toy_server, grpc_channel, local_only):
    stub = prediction_service_pb2_grpc.PredictionServiceStub(grpc_channel)
    model_stub = model_service_pb2_grpc.ModelServiceStub(grpc_channel)
    raw = {method: grpc_channel.unary_unary(method) for method in METHODS}  # bytes in, bytes out
    seen = {}

    def call(fn, request):
        try:
            fn(request, timeout=30)
            code = grpc.StatusCode.OK
        except grpc.RpcError as exc:
            code = exc.code()
            assert code not in SERVER_FAULTS, (code, exc.details(), request)
        seen[code.name] = seen.get(code.name, 0) + 1

    @FUZZ_SETTINGS
    @given(predict=predict_requests, method=st.sampled_from(METHODS), garbage=st.binary(max_size=64),
           fields=st.lists(st.text(max_size=12), max_size=3))
    def one_call(predict, method, garbage, fields):
        call(stub.Predict, build_predict(*predict))
        call(raw[method], garbage)
        metadata = get_model_metadata_pb2.GetModelMetadataRequest(metadata_field=fields)
        metadata.model_spec.name = predict[0]
        call(stub.GetModelMetadata, metadata)
        status = get_model_status_pb2.GetModelStatusRequest()
        status.model_spec.name = predict[0]
        call(model_stub.GetModelStatus, status)

    one_call()
    print("codes: %s" % sorted(seen.items()))
    assert seen.get("INVALID_ARGUMENT", 0) > 0
    assert_still_predicts(toy_server)
