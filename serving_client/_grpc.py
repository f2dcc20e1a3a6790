"""gRPC transport: the client's REST-shaped requests as `PredictionService` calls.

The client speaks one vocabulary (TF Serving REST paths and columnar JSON);
this module maps `GET .../metadata` to `GetModelMetadata` and `POST ...:predict`
to `Predict`, and turns the protos back into the JSON REST would return, so
the client code is the same for both protocols. Importing it imports grpc and
the TF Serving protos (which import TensorFlow): only the gRPC path does that.
"""

import array
import base64
import re
import sys
import threading
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import unquote, urlsplit

import grpc
from google.protobuf import json_format
from google.protobuf.message import DecodeError

from bert_contract import HTTP_STATUS
from serving_client import _protos
from serving_client._errors import ConnectError, ProtocolError, ReadTimeout
from serving_client._transport import Request, Response, Transport


_PATH = re.compile(r"^/v1/models/(?P<model>[^/:]+)(?:/versions/(?P<version>\d+))?(?P<verb>/metadata|:predict)$")

# dtype -> the repeated TensorProto field holding its values.
_VALUE_FIELDS = {
    "DT_INT32": "int_val",
    "DT_INT16": "int_val",
    "DT_INT8": "int_val",
    "DT_UINT8": "int_val",
    "DT_INT64": "int64_val",
    "DT_FLOAT": "float_val",
    "DT_DOUBLE": "double_val",
    "DT_BOOL": "bool_val",
    "DT_STRING": "string_val",
}
# dtype -> `array` typecode of its little-endian `tensor_content`.
_CONTENT_CODES = {"DT_INT32": "i", "DT_INT64": "q", "DT_FLOAT": "f", "DT_DOUBLE": "d", "DT_UINT8": "B", "DT_INT8": "b"}

MAX_MESSAGE_BYTES = 2 ** 31 - 1
RECONNECT_BACKOFF_MS = 100
# Called once per channel to see that a gRPC server answers (TF Serving has no health service).
_CONNECT_PROBE = "/grpc.health.v1.Health/Check"


class GrpcTransport(Transport):
    """Sends requests for `grpc://host:port/...` URLs over one shared channel."""

    def __init__(self, url: str, timeout: float = 30.0, connect_timeout: float = 3.05):
        self.target = urlsplit(url).netloc
        if not self.target:
            raise ValueError("gRPC URL %r has no host:port" % url)
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        options = [
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            # Retry (the client's policy) spaces out reconnects; grpc's own backoff (1 s growing to
            # 120 s) would make each retry wait for it, and a dead address take 15 s to report.
            ("grpc.initial_reconnect_backoff_ms", RECONNECT_BACKOFF_MS),
            ("grpc.min_reconnect_backoff_ms", RECONNECT_BACKOFF_MS),
            ("grpc.max_reconnect_backoff_ms", 4 * RECONNECT_BACKOFF_MS),
        ]
        self._channel = grpc.insecure_channel(self.target, options=options)
        self._stub = _protos.PredictionServiceStub(self._channel)
        self._lock = threading.Lock()
        self._connected = False
        # (model, version, signature) -> input dtypes, learned from metadata.
        self._dtypes = {}  # type: Dict[Tuple[str, Optional[int], str], Dict[str, str]]

    def send(self, request: Request) -> Response:
        match = _PATH.match(urlsplit(request.url).path)
        if match is None:
            raise ProtocolError("the gRPC transport cannot send %s %s" % (request.method, request.url), request)
        model = unquote(match.group("model"))
        version = int(match.group("version")) if match.group("version") else None
        self._connect(request)
        try:
            if match.group("verb") == "/metadata":
                return Response(200, json=self._metadata(model, version))
            return Response(200, json=self._predict(model, version, request))
        except grpc.RpcError as e:
            code = e.code().name if e.code() is not None else "UNKNOWN"
            if code == "DEADLINE_EXCEEDED":
                raise ReadTimeout("no answer from %s within %ss (gRPC deadline)" % (request.url, self.timeout), request)
            if code == "INTERNAL" and "deserializ" in (e.details() or ""):  # grpc could not parse the answer
                raise ProtocolError("cannot decode the gRPC answer from %s: %s" % (request.url, e.details()), request)
            return Response(HTTP_STATUS.get(code, 500), json={"error": e.details() or code}, grpc_code=code)
        except (ValueError, TypeError, KeyError, DecodeError) as e:  # protos that are not what TF Serving sends
            raise ProtocolError("cannot decode the gRPC answer from %s: %s" % (request.url, e), request)

    def close(self) -> None:
        self._channel.close()

    def _connect(self, request: Request) -> None:
        """Checks once that a gRPC server answers, so that a wrong address fails fast and clearly.

        The check is one call of a method TF Serving does not have: any answer
        (UNIMPLEMENTED) proves a server is there. Without wait-for-ready, a
        refused connection ends the call at once (UNAVAILABLE, as a refused REST
        connection does) instead of waiting out `connect_timeout` while grpc
        retries in the background. (Watching the channel's connectivity instead
        leaves grpc a polling thread that can deadlock a close that follows.)
        """
        if self._connected:
            return
        with self._lock:
            if self._connected:
                return
            try:
                self._channel.unary_unary(_CONNECT_PROBE)(b"", timeout=self.connect_timeout, wait_for_ready=False)
            except grpc.RpcError as e:
                if e.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
                    raise ConnectError(
                        "cannot connect to %s: no gRPC connection within %ss" % (self.target, self.connect_timeout),
                        request,
                    )
                if e.code() == grpc.StatusCode.UNAVAILABLE:
                    raise ConnectError(
                        "cannot connect to %s: connection failed (is a gRPC server listening?)" % self.target, request
                    )
            self._connected = True

    def _metadata(self, model: str, version: Optional[int]) -> Dict[str, Any]:
        rpc = _protos.GetModelMetadataRequest(metadata_field=["signature_def"])
        _set_spec(rpc.model_spec, model, version, "")
        answer = self._stub.GetModelMetadata(rpc, timeout=self.timeout)
        signature_map = _protos.unpack_any(answer.metadata["signature_def"], _protos.SignatureDefMap)
        body = {
            "model_spec": json_format.MessageToDict(answer.model_spec, preserving_proto_field_name=True),
            "metadata": {"signature_def": json_format.MessageToDict(signature_map, preserving_proto_field_name=True)},
        }
        served = answer.model_spec.version.value if answer.model_spec.HasField("version") else None
        for name, signature in signature_map.signature_def.items():
            dtypes = {key: _protos.dtype_name(spec.dtype) for key, spec in signature.inputs.items()}
            for key_version in {version, served}:
                self._dtypes[(model, key_version, name)] = dtypes
        return body

    def _predict(self, model: str, version: Optional[int], request: Request) -> Dict[str, Any]:
        body = request.json if isinstance(request.json, dict) else {}
        inputs = body.get("inputs")
        if not isinstance(inputs, dict):
            raise ProtocolError("the gRPC transport sends only columnar {'inputs': {...}} bodies", request)
        signature = body.get("signature_name") or "serving_default"
        dtypes = self._dtypes.get((model, version, signature))
        if dtypes is None:
            self._metadata(model, version)
            dtypes = self._dtypes.get((model, version, signature), {})
        rpc = _protos.PredictRequest()
        _set_spec(rpc.model_spec, model, version, signature)
        for name, value in inputs.items():
            # An input the signature lacks gets a guessed dtype; the server then names it.
            rpc.inputs[name].CopyFrom(to_tensor_proto(value, dtypes.get(name, "DT_INT32")))
        answer = self._stub.Predict(rpc, timeout=self.timeout)
        outputs = {name: from_tensor_proto(proto, name) for name, proto in answer.outputs.items()}
        return {"outputs": next(iter(outputs.values())) if len(outputs) == 1 else outputs}


def _set_spec(spec: Any, model: str, version: Optional[int], signature: str) -> None:
    spec.name = model
    if version is not None:
        spec.version.value = version
    if signature:
        spec.signature_name = signature


def to_tensor_proto(value: Any, dtype: str) -> Any:
    """A dense nested list (REST columnar value) -> TensorProto of `dtype`."""
    field = _VALUE_FIELDS.get(dtype)
    if field is None:
        raise ValueError("the gRPC transport cannot send dtype %s" % dtype)
    shape = []  # type: List[int]
    level = value
    while isinstance(level, list):
        shape.append(len(level))
        level = level[0] if level else None
    flat = _flatten(value, len(shape))
    if dtype == "DT_STRING":
        flat = [_to_bytes(item) for item in flat]
    proto = _protos.TensorProto(dtype=_protos.dtype_number(dtype))
    for size in shape:
        proto.tensor_shape.dim.add(size=size)
    getattr(proto, field).extend(flat)
    return proto


def from_tensor_proto(proto: Any, name: str = "") -> Any:
    """TensorProto -> nested list, with string outputs as REST renders them."""
    dtype = _protos.dtype_name(proto.dtype)
    shape = [dim.size for dim in proto.tensor_shape.dim]
    count = 1
    for size in shape:
        count *= size
    if proto.tensor_content and dtype in _CONTENT_CODES:
        values = array.array(_CONTENT_CODES[dtype])
        values.frombytes(proto.tensor_content)
        if sys.byteorder == "big":  # tensor_content is little-endian
            values.byteswap()
        flat = values.tolist()  # type: List[Any]
    elif dtype in _VALUE_FIELDS:
        flat = list(getattr(proto, _VALUE_FIELDS[dtype]))
    else:
        raise ValueError("output '%s' has dtype %s, which the gRPC transport cannot read" % (name, dtype))
    if dtype == "DT_STRING":
        flat = [_render_bytes(item, name) for item in flat]
    if len(flat) == 1 and count > 1:  # TF stores a tensor of one repeated value once
        flat = flat * count
    return _reshape(flat, shape)


def _flatten(value: Any, depth: int) -> List[Any]:
    items = [value]
    for _ in range(depth):
        items = [item for sub in items for item in sub]
    return items


def _reshape(flat: List[Any], shape: List[int]) -> Any:
    if not shape:
        return flat[0]
    for size in reversed(shape[1:]):
        flat = [flat[i : i + size] for i in range(0, len(flat), size)] if size else []
    return flat


def _to_bytes(item: Any) -> bytes:
    if isinstance(item, dict) and "b64" in item:
        return base64.b64decode(item["b64"])
    return item.encode("utf-8") if isinstance(item, str) else bytes(item)


def _render_bytes(item: bytes, name: str) -> Any:
    """Like TF Serving REST: `*_bytes` outputs as {"b64": ...}, others as text."""
    if name.endswith("_bytes"):
        return {"b64": base64.b64encode(item).decode("ascii")}
    return item.decode("utf-8", "replace")
