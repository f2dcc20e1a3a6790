"""The Lambda entry point and its two backends, both driving `serving_client`.

`proxy`: the client talks to TF Serving (or the local server). `onnx`: the
client talks to `OnnxTransport`, which runs the `--export_onnx` model in this
process with onnxruntime. Either way featurization, checks and decoding are
the client's, so both backends answer alike.

Routes (HTTP events): POST /v1/models/{name}:predict (KServe v1 body),
POST /predict (`{"text", "text_pair", "parameters"}`), GET /v1/models/{name},
GET /v1/models. Direct invocations: `{"texts": [...], "text_pairs": [...],
"parameters": {...}}` -> `{"predictions": [...]}`.
"""

import logging
import os
import re
from typing import Any, Dict, List, Optional

from serving_client import Retry, ServingClient, ServingClientError, Transport
from text_gateway.errors import BadRequest, GatewayError, ModelNotFound
from text_gateway.payload import Example, Parameters, parse_json, parse_parameters, parse_predict, parse_single
from text_gateway.upstream import LoadedModel, call_model, classify_upstream_error, load_model
from text_lambda.events import Invocation, answer, parse_event

log = logging.getLogger("text_lambda")

MAX_INSTANCES = 256
_PREDICT = re.compile(r"^/v1/models/(?P<name>[^/:]+):predict$")
_STATUS = re.compile(r"^/v1/models/(?P<name>[^/:]+)$")


class ClientBackend:
    """One model through `serving_client` (metadata and vocab read at start)."""

    def __init__(self, url: str, model: str, vocab_file: Optional[str] = None, timeout: float = 30.0,
                 transport: Optional[Transport] = None):
        self.name = model
        self.timeout = timeout
        self.client = ServingClient(url, model, vocab_file, timeout=timeout, retry=Retry(max_retries=1, backoff_factor=0.05),
                                    transport=transport)
        self.model = self._call(lambda: load_model(self.client))  # type: LoadedModel

    def predict(self, examples: List[Example], parameters: Parameters) -> List[Dict[str, Any]]:
        truncated = self.model.check(examples, parameters)
        predictions = self._call(lambda: call_model(self.client, examples))
        return self.model.answers(predictions, truncated, parameters)

    def status(self) -> Dict[str, Any]:
        return {"name": self.name, "ready": True, "version": self.model.version, "task": self.model.task_kind,
                "labels": self.model.labels}

    def _call(self, work):
        try:
            return work()
        except ServingClientError as e:
            raise classify_upstream_error(e, self.timeout, 1.0)[1]


BACKEND_SETTINGS = {"proxy": ("MODEL_NAME", "PREDICTOR_URL"), "onnx": ("MODEL_NAME", "MODEL_DIR")}


def backend_from_environment(transport: Optional[Transport] = None) -> ClientBackend:
    backend = os.environ.get("BACKEND", "proxy")
    if backend not in BACKEND_SETTINGS:
        raise RuntimeError("BACKEND=%s: expected one of %s" % (backend, ", ".join(BACKEND_SETTINGS)))
    missing = [name for name in BACKEND_SETTINGS[backend] if not os.environ.get(name)]
    if missing:
        raise RuntimeError("BACKEND=%s: set %s in the function's environment" % (backend, " and ".join(missing)))
    if backend == "onnx":
        from text_lambda.onnx_transport import OnnxTransport  # onnxruntime and numpy: only this backend needs them

        name = os.environ["MODEL_NAME"]
        local = OnnxTransport(os.environ["MODEL_DIR"], name, int(os.environ.get("ONNX_THREADS", "0")))
        return ClientBackend("http://in-process", name, transport=local)
    return ClientBackend(os.environ["PREDICTOR_URL"], os.environ["MODEL_NAME"], os.environ.get("VOCAB_FILE") or None,
                         float(os.environ.get("PREDICTOR_TIMEOUT_SECONDS", "30")), transport)


def handle(backend: ClientBackend, event: Any) -> Dict[str, Any]:
    """One event -> its answer; every failure is an `{"error": ...}` answer, never an exception."""
    invocation = None  # type: Optional[Invocation]
    try:
        invocation = parse_event(event)
        return answer(invocation, 200, _route(backend, invocation))
    except GatewayError as e:
        return answer(invocation, e.status, {"error": e.message}, e.headers)


def _route(backend: ClientBackend, invocation: Invocation) -> Dict[str, Any]:
    if not invocation.http:
        return {"predictions": backend.predict(*_direct(invocation.document))}
    path, method = invocation.path, invocation.method
    match = _PREDICT.match(path)
    if match and method == "POST":
        _check_model(backend, match.group("name"))
        examples, parameters = parse_predict(parse_json(invocation.body), MAX_INSTANCES)
        return {"predictions": backend.predict(examples, parameters)}
    if path == "/predict" and method == "POST":
        example, parameters = parse_single(parse_json(invocation.body))
        return backend.predict([example], parameters)[0]
    match = _STATUS.match(path)
    if match and method == "GET":
        _check_model(backend, match.group("name"))
        return backend.status()
    if path == "/v1/models" and method == "GET":
        return {"models": [backend.name]}
    raise GatewayError("no route %s %s" % (method, path), 404)


def _check_model(backend: ClientBackend, name: str) -> None:
    if name != backend.name:
        raise ModelNotFound("model %r is not served here; models: %s" % (name, backend.name))


def _direct(document: Dict[str, Any]):
    unknown = sorted(set(document) - {"texts", "text_pairs", "parameters"})
    if unknown:
        raise BadRequest('unknown field(s) %s; expected "texts", optional "text_pairs" and "parameters"' % ", ".join(unknown))
    texts, pairs = document.get("texts"), document.get("text_pairs")
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        raise BadRequest('"texts" must be a non-empty list of strings')
    if len(texts) > MAX_INSTANCES:
        raise GatewayError("%d texts in one event; the limit is %d" % (len(texts), MAX_INSTANCES), 413)
    if pairs is not None and (not isinstance(pairs, list) or len(pairs) != len(texts)
                              or not all(p is None or isinstance(p, str) for p in pairs)):
        raise BadRequest('"text_pairs" must be a list of strings (or nulls) as long as "texts"')
    return list(zip(texts, pairs or [None] * len(texts))), parse_parameters(document.get("parameters"))


_BACKEND = None  # type: Optional[ClientBackend]


def handler(event: Any, context: Any = None) -> Dict[str, Any]:
    """The function's handler (`text_lambda.handler.handler`); the backend is built on the first event."""
    global _BACKEND
    if _BACKEND is None:
        try:
            _BACKEND = backend_from_environment()
        except GatewayError as e:  # upstream not there yet: answer, and try again on the next event
            return answer(None if not isinstance(event, dict) else _safe_invocation(event), e.status,
                          {"error": "cannot load the model: %s" % e.message}, e.headers)
    return handle(_BACKEND, event)


def _safe_invocation(event: Dict[str, Any]) -> Optional[Invocation]:
    try:
        return parse_event(event)
    except GatewayError:
        return None
