"""The ASGI app: the text API's routes (text_api.routes), metrics, and JSON errors for everything.

Every request goes to one endpoint that asks `text_api` which route it is
(404/405 there, as in the Lambda handler), reads the body within
`--max_body_bytes` and answers; `text_api.errors` decides every error's status.
After a request with a large body the heaps are trimmed (`heap_release`).
"""

import asyncio
import contextlib
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, AsyncIterator, Dict, Optional

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

import heap_release
from serving_client import HTTPTransport, Transport
from text_api import routes
from text_api.api import Call, TextApi
from text_api.auth import load_auth
from text_api.errors import ApiError, BadRequest, TooLarge
from text_api.payload import content_length
from text_gateway.metrics import GatewayMetrics
from text_gateway.settings import GatewaySettings
from text_gateway.upstream import ModelBackend

log = logging.getLogger("text_gateway")

CONNECT_TIMEOUT = 3.05
WATCHER_CONNECTIONS = 1  # a model's watcher makes one upstream call at a time
# Every method reaches the route table, which answers 405 for a known path's other methods.
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
# A body this large (a quarter of the default --max_body_bytes; legit batches are tens of KB) holds texts
# whose featurizing frees megabytes into the heaps of the loop's and the upstream pool's threads.
LARGE_BODY_BYTES = 256 * 1024
# glibc's initial thresholds, pinned: unpinned they climb to the largest block freed (a 1 MB text), and the
# upstream threads' heaps, which malloc_trim does not shrink, keep that much garbage each (the soak's 1 MB texts
# left RSS 46 -> 74 MiB; pinned and trimmed, 62 MiB: the rest is CPython's small-object arenas, bench/README.md).
MMAP_THRESHOLD = TRIM_THRESHOLD = 128 * 1024


def make_transport(settings: GatewaySettings) -> Transport:
    """REST or gRPC to upstream, with the transports `serving_client` uses."""
    if settings.protocol == "grpc":
        from serving_client._grpc import GrpcTransport  # the gRPC extra

        return GrpcTransport(settings.upstream_url, timeout=settings.upstream_timeout, connect_timeout=CONNECT_TIMEOUT)
    # A pooled connection for each predict in flight and one for the watcher's version checks and metadata
    # reads: with one too few, urllib3 drops a connection ("Connection pool is full") whenever all run at once.
    return HTTPTransport(timeout=(CONNECT_TIMEOUT, settings.upstream_timeout),
                         pool_maxsize=settings.upstream_concurrency + WATCHER_CONNECTIONS)


class Gateway:
    """State shared by the routes: one backend per model, the pool and limits."""

    def __init__(self, settings: GatewaySettings):
        self.settings = settings
        self.metrics = GatewayMetrics()
        self.backends = {}  # type: Dict[str, ModelBackend]
        self.auth = load_auth(settings.auth_token_file)  # a bad token file stops the start with one line
        self.api = TextApi([], settings.max_instances, auth=self.auth)
        self._executor = None  # type: Optional[ThreadPoolExecutor]
        self._watchers = []  # type: list
        self.trimmer = heap_release.Trimmer()

    @contextlib.asynccontextmanager
    async def lifespan(self, app: Starlette) -> AsyncIterator[None]:
        settings = self.settings
        heap_release.set_thresholds(MMAP_THRESHOLD, TRIM_THRESHOLD)  # in the serving process (each worker's)
        # One thread per upstream call in flight (the version checks run on the loop's default executor).
        self._executor = ThreadPoolExecutor(settings.upstream_concurrency, thread_name_prefix="gateway-upstream")
        slots = asyncio.Semaphore(settings.upstream_concurrency)
        for name in settings.model_names:
            backend = ModelBackend(name, settings, make_transport(settings), self._executor, slots, self.metrics)
            self.backends[name] = backend
            self._watchers.append(asyncio.ensure_future(backend.watch()))
        self.api = TextApi(list(self.backends.values()), settings.max_instances, auth=self.auth)
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

    async def read_body(self, request: Request) -> bytes:
        """The body within --max_body_bytes; `request.state.body_bytes` says how much was read, also on failure."""
        limit = self.settings.max_body_bytes
        parts = []
        received = 0
        try:
            content_length(request.headers.get("content-length"), limit)
            async for part in request.stream():
                received += len(part)
                if received > limit:
                    raise TooLarge("the body has more than %d bytes, the limit" % limit)
                parts.append(part)
        except TooLarge as e:
            # The rest of the body stays unread: the answer closes the connection (as nginx's 413 does) rather
            # than read up to the size the client declared, or read the rest as its next request.
            e.headers["Connection"] = "close"
            raise
        except ClientDisconnect:
            raise BadRequest("the client closed the connection before the body ended")
        finally:
            request.state.body_bytes = received
        return b"".join(parts)

    async def dispatch(self, request: Request) -> Response:
        """Every request: the route table says what it is; errors become {"error": ...} answers."""
        call = self.api.resolve(request.method, request.url.path, request.headers.get("authorization"))
        if call.route == routes.METRICS:
            return Response(self.metrics.exposition(), media_type=self.metrics.content_type)
        if not call.predicts:
            status, document, headers = self.api.info(call)
            return JSONResponse(document, status_code=status, headers=headers)
        return await self._predict(call, request)

    async def _predict(self, call: Call, request: Request) -> Response:
        started = time.monotonic()
        status = 500
        assert call.backend is not None
        label = call.backend.name
        try:
            examples, parameters = self.api.parse(call, await self.read_body(request))
            self.metrics.texts.labels(label).observe(len(examples))
            records = await call.backend.predict(examples, parameters)
            status = 200
            return JSONResponse(self.api.predictions(call, records))
        except ApiError as e:
            status = e.status
            raise
        finally:
            self.metrics.requests.labels(label, str(status)).inc()
            self.metrics.latency.labels(label).observe(time.monotonic() - started)
            if getattr(request.state, "body_bytes", 0) >= LARGE_BODY_BYTES:
                self.trimmer.after_large_request()


def _error_response(status: int, message: str, headers: Optional[Dict[str, str]] = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


async def _api_error(request: Request, exc: Any) -> Response:
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
    app = Starlette(
        routes=[Route("/{path:path}", gateway.dispatch, methods=METHODS)],
        lifespan=gateway.lifespan,
        exception_handlers={ApiError: _api_error, HTTPException: _http_error, Exception: _unexpected_error},
    )
    app.state.gateway = gateway
    return app
