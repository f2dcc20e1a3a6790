"""The ASGI app: KServe v1 routes, health, metrics, and JSON errors for everything.

    GET  /, /healthz                     liveness: {"status": "alive"}
    GET  /readyz                         200 when every model is ready, else 503
    GET  /v1/models                      {"models": [names]}
    GET  /v1/models/{name}               {"name", "ready": true, "version", "task", "labels"}; 503 when not ready
    POST /v1/models/{name}:predict       {"instances": [...], "parameters": {...}} -> {"predictions": [...]}
    POST /predict                        {"text", "text_pair", "parameters"} -> one prediction (first model)
    GET  /metrics                        Prometheus
"""

import asyncio
import contextlib
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, AsyncIterator, Dict, Optional

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from serving_client import HTTPTransport, Transport
from text_gateway.errors import BadRequest, GatewayError, ModelNotFound, TooLarge
from text_gateway.metrics import GatewayMetrics
from text_gateway.payload import parse_json, parse_predict, parse_single
from text_gateway.settings import GatewaySettings
from text_gateway.upstream import ModelBackend

log = logging.getLogger("text_gateway")

CONNECT_TIMEOUT = 3.05


def make_transport(settings: GatewaySettings) -> Transport:
    """REST or gRPC to upstream, with the transports `serving_client` uses."""
    if settings.protocol == "grpc":
        from serving_client._grpc import GrpcTransport  # the gRPC extra

        return GrpcTransport(settings.upstream_url, timeout=settings.upstream_timeout, connect_timeout=CONNECT_TIMEOUT)
    return HTTPTransport(timeout=(CONNECT_TIMEOUT, settings.upstream_timeout), pool_maxsize=settings.upstream_concurrency)


class Gateway:
    """State shared by the routes: one backend per model, the pool and limits."""

    def __init__(self, settings: GatewaySettings):
        self.settings = settings
        self.metrics = GatewayMetrics()
        self.backends = {}  # type: Dict[str, ModelBackend]
        self._executor = None  # type: Optional[ThreadPoolExecutor]
        self._watchers = []  # type: list

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        settings = self.settings
        # One thread per upstream call in flight (the version checks run on the loop's default executor).
        self._executor = ThreadPoolExecutor(settings.upstream_concurrency, thread_name_prefix="gateway-upstream")
        slots = asyncio.Semaphore(settings.upstream_concurrency)
        for name in settings.model_names:
            backend = ModelBackend(name, settings, make_transport(settings), self._executor, slots, self.metrics)
            self.backends[name] = backend
            self._watchers.append(asyncio.ensure_future(backend.watch()))
        log.info("text gateway: models %s from %s", ", ".join(settings.model_names), settings.upstream_url)
        try:
            yield
        finally:
            for watcher in self._watchers:
                watcher.cancel()
            await asyncio.gather(*self._watchers, return_exceptions=True)
            for backend in self.backends.values():
                backend.close()
            self._executor.shutdown(wait=False)

    def backend(self, name: str) -> ModelBackend:
        backend = self.backends.get(name)
        if backend is None:
            raise ModelNotFound("model %r is not served here; models: %s" % (name, ", ".join(self.backends)))
        return backend

    async def read_body(self, request: Request) -> bytes:
        limit = self.settings.max_body_bytes
        declared = request.headers.get("content-length")
        if declared is not None:
            try:
                size = int(declared)
            except ValueError:
                raise BadRequest("Content-Length %r is not a number" % declared)
            if size > limit:
                raise TooLarge("the body has %d bytes; the limit is %d" % (size, limit))
        parts = []
        received = 0
        async for part in request.stream():
            received += len(part)
            if received > limit:
                raise TooLarge("the body has more than %d bytes, the limit" % limit)
            parts.append(part)
        return b"".join(parts)

    # -- routes -----------------------------------------------------------------

    async def liveness(self, request: Request) -> Response:
        return JSONResponse({"status": "alive"})

    async def readiness(self, request: Request) -> Response:
        models = {name: backend.status() for name, backend in self.backends.items()}
        ready = all(status["ready"] for status in models.values())
        return JSONResponse({"ready": ready, "models": models}, status_code=200 if ready else 503)

    async def list_models(self, request: Request) -> Response:
        return JSONResponse({"models": list(self.backends)})

    async def model_status(self, request: Request) -> Response:
        backend = self.backend(request.path_params["name"])
        status = backend.status()
        if not status["ready"]:
            body = {"error": "model %s is not ready: %s" % (backend.name, backend.reason)}
            body.update(status)
            return JSONResponse(body, status_code=503, headers={"Retry-After": "1"})
        return JSONResponse(status)

    async def predict(self, request: Request) -> Response:
        name = request.path_params["name"]
        return await self._predict(name, request, single=False)

    async def predict_alias(self, request: Request) -> Response:
        return await self._predict(self.settings.model_names[0], request, single=True)

    async def _predict(self, name: str, request: Request, single: bool) -> Response:
        started = time.monotonic()
        status = 500
        label = name if name in self.backends else "(unknown)"
        try:
            backend = self.backend(name)
            document = parse_json(await self.read_body(request))
            if single:
                example, parameters = parse_single(document)
                examples = [example]
            else:
                examples, parameters = parse_predict(document, self.settings.max_instances)
            self.metrics.texts.labels(label).observe(len(examples))
            records = await backend.predict(examples, parameters)
            status = 200
            return JSONResponse(records[0] if single else {"predictions": records})
        except GatewayError as e:
            status = e.status
            raise
        finally:
            self.metrics.requests.labels(label, str(status)).inc()
            self.metrics.latency.labels(label).observe(time.monotonic() - started)

    async def metrics_page(self, request: Request) -> Response:
        return Response(self.metrics.exposition(), media_type=self.metrics.content_type)


def _error_response(status: int, message: str, headers: Optional[Dict[str, str]] = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


async def _gateway_error(request: Request, exc: Any) -> Response:
    return _error_response(exc.status, exc.message, exc.headers)


async def _http_error(request: Request, exc: Any) -> Response:
    message = exc.detail
    if exc.status_code == 404:
        message = "no route %s %s" % (request.method, request.url.path)
    elif exc.status_code == 405:
        message = "method %s is not allowed on %s" % (request.method, request.url.path)
    return _error_response(exc.status_code, message, getattr(exc, "headers", None))


async def _unexpected_error(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return _error_response(500, "internal error: %s" % type(exc).__name__)


def create_app(settings: GatewaySettings) -> Starlette:
    gateway = Gateway(settings)
    routes = [
        Route("/", gateway.liveness, methods=["GET"]),
        Route("/healthz", gateway.liveness, methods=["GET"]),
        Route("/readyz", gateway.readiness, methods=["GET"]),
        Route("/metrics", gateway.metrics_page, methods=["GET"]),
        Route("/v1/models", gateway.list_models, methods=["GET"]),
        Route("/v1/models/{name}:predict", gateway.predict, methods=["POST"]),
        Route("/v1/models/{name}", gateway.model_status, methods=["GET"]),
        Route("/predict", gateway.predict_alias, methods=["POST"]),
    ]
    app = Starlette(
        routes=routes,
        lifespan=gateway.lifespan,
        exception_handlers={GatewayError: _gateway_error, HTTPException: _http_error, Exception: _unexpected_error},
    )
    app.state.gateway = gateway
    return app
