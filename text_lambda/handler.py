"""The Lambda entry point: an adapter of the text API (`text_api`) to Lambda events, and its two backends.

`proxy`: `serving_client` talks to TF Serving (or the local server). `onnx`:
the client talks to `OnnxTransport`, which runs the `--export_onnx` model in
this process with onnxruntime. Either way featurization, checks and decoding
are the client's, so both backends answer alike.

HTTP events get the text API's routes (text_api.routes, without /metrics);
direct invocations `{"texts": [...], "text_pairs": [...], "parameters": {...}}`
get `{"predictions": [...]}`, and any failure `{"error", "status"}`. With
TEXT_API_TOKEN or TEXT_API_TOKEN_FILE set, HTTP events need that bearer token
(`text_api.auth`; direct invocations are guarded by IAM's invoke permission). The
backend is built from the environment on the first event; a configuration
error is one line in the log and in the answer, never a traceback.
"""

import logging
import os
from typing import Any, Dict, List, Optional
from urllib.parse import urlsplit

from serving_client import Retry, ServingClient, ServingClientError, Transport
from text_api import routes
from text_api.api import TextApi
from text_api.auth import BearerAuth, load_auth
from text_api.backend import Backend, LoadedModel, call_model, load_model
from text_api.errors import ApiError, ConfigurationError, upstream_error
from text_api.payload import Example, Parameters, parse_direct
from text_lambda.events import answer, is_http, parse_http

log = logging.getLogger("text_lambda")

MAX_INSTANCES = 256
# Every route of the text API but the gateway's Prometheus page.
LAMBDA_ROUTES = tuple(route.name for route in routes.ROUTES if route.name != routes.METRICS)
BACKEND_SETTINGS = {"proxy": ("MODEL_NAME", "PREDICTOR_URL"), "onnx": ("MODEL_NAME", "MODEL_DIR")}
SCHEMES = ("http", "https", "grpc")


class ClientBackend(Backend):
    """One model through `serving_client` (metadata and vocab read at start)."""

    def __init__(self, url: str, model: str, vocab_file: Optional[str] = None, timeout: float = 30.0,
                 transport: Optional[Transport] = None):
        self.name = model
        self.timeout = timeout
        # One resend, also of a request whose connection was lost after sending: predict has no side effects,
        # and a kept-alive connection the server closes as a request goes out loses it unread.
        self.client = ServingClient(url, model, vocab_file, timeout=timeout,
                                    retry=Retry(max_retries=1, backoff_factor=0.05, retry_sent=True), transport=transport)
        self.model = self._call(lambda: load_model(self.client))  # type: LoadedModel

    def predict(self, examples: List[Example], parameters: Parameters) -> List[Dict[str, Any]]:
        truncated = self.model.check(examples, parameters)
        predictions = self._call(lambda: call_model(self.client, examples))
        return self.model.answers(predictions, truncated, parameters)

    def status(self) -> Dict[str, Any]:
        return self.model.status(self.name)

    def _call(self, work):
        try:
            return work()
        except ServingClientError as e:
            raise upstream_error(e, self.timeout, 1.0)[1]


def backend_from_environment(transport: Optional[Transport] = None) -> ClientBackend:
    """The backend the function's environment describes; ConfigurationError (one line) when it does not fit."""
    backend = os.environ.get("BACKEND", "proxy")
    if backend not in BACKEND_SETTINGS:
        raise ConfigurationError("BACKEND=%s: expected one of %s" % (backend, ", ".join(BACKEND_SETTINGS)))
    missing = [name for name in BACKEND_SETTINGS[backend] if not os.environ.get(name)]
    if missing:
        raise ConfigurationError("BACKEND=%s: set %s in the function's environment" % (backend, " and ".join(missing)))
    name = os.environ["MODEL_NAME"]
    if backend == "onnx":
        from text_lambda.model_dir import local_model_dir  # only this backend reads model files
        from text_lambda.onnx_transport import OnnxModelError, OnnxTransport  # onnxruntime and numpy: this backend's

        try:
            source = os.environ["MODEL_DIR"]
            local = OnnxTransport(local_model_dir(source), name, _int("ONNX_THREADS", 0), source)
        except OnnxModelError as e:
            raise ConfigurationError("MODEL_DIR=%s: %s" % (os.environ["MODEL_DIR"], e))
        return ClientBackend("http://in-process", name, transport=local)
    url = os.environ["PREDICTOR_URL"]
    if urlsplit(url).scheme.lower() not in SCHEMES or not urlsplit(url).netloc:
        raise ConfigurationError("PREDICTOR_URL=%s: give the model server as http://host:port, https://host:port "
                                 "or grpc://host:port" % url)
    timeout = _float("PREDICTOR_TIMEOUT_SECONDS", 30.0)
    return ClientBackend(url, name, os.environ.get("VOCAB_FILE") or None, timeout, transport)


def _int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name) or default)
    except ValueError:
        raise ConfigurationError("%s=%s: expected a whole number" % (name, os.environ[name]))


def _float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name) or default)
    except ValueError:
        raise ConfigurationError("%s=%s: expected a number of seconds" % (name, os.environ[name]))


def handle(backend: Backend, event: Any, auth: Optional[BearerAuth] = None) -> Dict[str, Any]:
    """One event -> its answer; every failure is an `{"error": ...}` answer, never an exception.

    `auth` checks HTTP events' bearer token; a direct invocation is already its caller's IAM permission to invoke.
    """
    http = is_http(event)
    try:
        if not http:
            examples, parameters = parse_direct(event, MAX_INSTANCES)
            return answer(False, 200, {"predictions": backend.predict(examples, parameters)})
        invocation = parse_http(event)
        api = TextApi([backend], MAX_INSTANCES, LAMBDA_ROUTES, auth)
        call = api.resolve(invocation.method, invocation.path, invocation.authorization)
        if not call.predicts:
            return answer(True, *api.info(call))
        examples, parameters = api.parse(call, invocation.body)
        return answer(True, 200, api.predictions(call, backend.predict(examples, parameters)))
    except ApiError as e:
        return answer(http, e.status, {"error": e.message}, e.headers)


_BACKEND = None  # type: Optional[Backend]
_AUTH = None  # type: Optional[BearerAuth]


def handler(event: Any, context: Any = None) -> Dict[str, Any]:
    """The function's handler (`text_lambda.handler.handler`); the backend is built on the first event."""
    global _BACKEND, _AUTH
    if _BACKEND is None:
        try:
            _AUTH = load_auth()
            _BACKEND = backend_from_environment()
        except ConfigurationError as e:
            log.error("configuration error: %s", e.message)  # one line; the environment must change
            return answer(is_http(event), e.status, {"error": "configuration error: %s" % e.message})
        except ApiError as e:  # upstream not there yet: answer, and try again on the next event
            return answer(is_http(event), e.status, {"error": "cannot load the model: %s" % e.message}, e.headers)
    return handle(_BACKEND, event, _AUTH)
