"""The HTTP/REST front end (a plain ASGI app on uvicorn), TFS's REST API (contract 7, 8).

Handlers are async; JSON decoding of large bodies, tensor conversion and the
model run happen on worker threads (or the batcher's), never on the event
loop. Every response is JSON, errors are {"error": ...} with TFS's codes.
The event loop's time is every request's time on a busy server, so the
request path speaks ASGI directly instead of through framework objects.
"""

import asyncio
import fcntl
import logging
import re
import struct
import termios
import threading
import time
import zlib

from bert_contract import DEFAULT_SIGNATURE
from model_server import examples, memory, rest_routes, tensor_json
from model_server.elastic_pool import ElasticThreadPool
from model_server.errors import ServingError, from_exception
from model_server.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from model_server.runner import start_predict
from model_server.service import message_to_json, signature_map_to_json

log = logging.getLogger(__name__)

JSON = b"application/json"
_HTTP_ORIGIN = re.compile(rb"https?://")
_INLINE_BODY_BYTES = 128 * 1024  # smaller bodies are decoded on the loop: a thread hop costs more
_INFLATE_CHUNK_BYTES = 1024 * 1024  # gunzip output taken (and counted against the budget) at a time
RETRY_AFTER_SECONDS = 1
# An ASGI scope key set by the HTTP protocol on connections over --rest_api_max_connections.
OVER_CONNECTION_LIMIT = "model_server.over_connection_limit"
_CORS = [(b"access-control-allow-origin", b"*"), (b"access-control-allow-methods", b"POST, GET"),
         (b"access-control-allow-headers", b"Content-Type")]


class BodyTooLarge(Exception):
    pass


class BodyStalled(Exception):
    pass


class ClientGone(Exception):
    pass


class OverBudget(Exception):
    """The request's body would take the in-flight bodies over --rest_api_max_inflight_body_bytes."""


class BodyBudget(object):
    """Bytes of request bodies held at once by all requests (read and inflated), under one limit.

    Thread-safe: gunzip threads reserve too. Each request reserves through a
    `Held`, which gives everything back when the request ends.
    """

    def __init__(self, limit):
        self.limit = limit
        self.used = 0
        self._lock = threading.Lock()
        self.large = memory.large_bodies()

    def reserve(self, size):
        with self._lock:
            if self.used + size > self.limit:
                raise OverBudget(size)
            self.used += size

    def release(self, size):
        with self._lock:
            self.used -= size


class Held(object):
    """One request's share of the BodyBudget."""

    def __init__(self, budget):
        self._budget = budget
        self.size = 0
        self._large = False  # counted in the budget's LargeBodies

    def reserve(self, size):
        self._budget.reserve(size)
        self.size += size
        if not self._large and self.size >= memory.LARGE_BODY_BYTES:
            self._large = True
            self._budget.large.started()

    def release(self, size=None):
        size = self.size if size is None else size
        self.size -= size
        self._budget.release(size)
        if self._large and not self.size:  # the request is over: its parsed body is freed
            self._large = False
            self._budget.large.ended()


class _StallGuard(object):
    """`async with`: raise BodyStalled when the block awaits one read longer than `seconds`.

    One timer for the whole body instead of asyncio.wait_for, which would wrap
    every read in a new task: each read only notes the time, and the timer,
    when it fires, re-arms itself for what is left since the last read or
    cancels the request's task, which is turned into BodyStalled here.
    """

    def __init__(self, seconds):
        self._seconds = seconds
        self._stalled = False

    async def __aenter__(self):
        self._task = asyncio.current_task()
        self._loop = asyncio.get_event_loop()
        self._last = self._loop.time()
        self._timer = self._loop.call_later(self._seconds, self._check)
        return self

    def progress(self):
        self._last = self._loop.time()

    def _check(self):
        left = self._last + self._seconds - self._loop.time()
        if left > 0:
            self._timer = self._loop.call_later(left, self._check)
            return
        self._stalled = True
        self._task.cancel()

    async def __aexit__(self, kind, value, traceback):
        self._timer.cancel()
        if kind is asyncio.CancelledError and self._stalled:
            raise BodyStalled() from None
        return False


class Reply(object):
    """A response: status, body, content type (JSON unless told) and extra headers."""
    __slots__ = ("status", "body", "content_type", "headers")

    def __init__(self, status, body, content_type=JSON, headers=()):
        self.status = status
        self.body = body
        self.content_type = content_type
        self.headers = headers


class _Request(object):
    """What the handlers read of an ASGI request: method, raw path, two headers, and `receive`."""
    __slots__ = ("method", "path", "content_length", "content_encoding", "origin", "receive",
                 "over_connection_limit")

    def __init__(self, scope, receive):
        self.method = scope["method"]
        self.over_connection_limit = scope.get(OVER_CONNECTION_LIMIT, False)
        raw_path = scope.get("raw_path") or scope["path"].encode("utf-8")
        self.path = raw_path.decode("latin-1").split("?", 1)[0]
        self.content_length = self.content_encoding = self.origin = None
        for name, value in scope["headers"]:  # ASGI header names are lower-case
            if name == b"content-length":
                self.content_length = value
            elif name == b"content-encoding":
                self.content_encoding = value
            elif name == b"origin":
                self.origin = value
        self.receive = receive


def http_protocol(read_timeout, max_connections):
    """uvicorn's HTTP protocol class, closing connections that hold a socket without sending a request.

    uvicorn times out idle keep-alive connections only after a first response,
    and never a request head sent one byte at a time. Here the keep-alive
    timeout (5 s) also runs from the connection's start, and every request head
    (from the connection's start or the previous response to the end of its
    headers) must arrive within `read_timeout` seconds; a connection whose
    next request is already in its socket is not idle. Requests on a
    connection opened while `max_connections` others were open are marked in
    their scope (OVER_CONNECTION_LIMIT): the app answers them 503 and closes.
    """
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol  # uvicorn[standard] has httptools

    class GuardedHttp(HttpToolsProtocol):
        head_timer = None
        over_limit = False

        def connection_made(self, transport):
            super().connection_made(transport)
            self.over_limit = len(self.connections) > max_connections
            self.timeout_keep_alive_task = self.loop.call_later(
                self.timeout_keep_alive, self.timeout_keep_alive_handler)
            self._wait_for_head()

        def on_headers_complete(self):
            self._head_arrived()
            if self.over_limit:
                self.scope[OVER_CONNECTION_LIMIT] = True
            super().on_headers_complete()

        def on_response_complete(self):
            super().on_response_complete()
            if not self.transport.is_closing():
                self._wait_for_head()

        def connection_lost(self, exc):
            self._head_arrived()
            super().connection_lost(exc)

        def timeout_keep_alive_handler(self):
            # A request waiting in the socket is no idleness: a busy loop runs due timers before it reads
            # (libuv does so in every iteration), and closing with unread bytes resets the connection
            # under a request the client has sent (it sees "connection aborted", and may not resend).
            if _unread_bytes(self.transport):
                self.timeout_keep_alive_task = None
                return
            super().timeout_keep_alive_handler()

        def _wait_for_head(self):
            self._head_arrived()
            self.head_timer = self.loop.call_later(read_timeout, self._head_timed_out)

        def _head_arrived(self):
            if self.head_timer is not None:
                self.head_timer.cancel()
                self.head_timer = None

        def _head_timed_out(self):
            self.head_timer = None
            if not self.transport.is_closing():
                self.transport.close()

    return GuardedHttp


def _unread_bytes(transport):
    """Bytes received on the transport's socket that the loop has not read yet (0 when unknown)."""
    sock = transport.get_extra_info("socket")
    try:
        return struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.FIONREAD, b"\0\0\0\0"))[0]
    except (AttributeError, OSError, ValueError):
        return 0


class RestApi(object):
    def __init__(self, service, pool, options, monitoring_path=None):
        self._service = service
        self._pool = pool
        self._timeout = options.rest_api_timeout_in_ms / 1000.0
        self._timeout_ms = options.rest_api_timeout_in_ms
        self._max_body = options.rest_api_max_body_bytes
        self._budget = BodyBudget(max(options.rest_api_max_inflight_body_bytes, self._max_body))
        # Inflating gzip bodies is CPU work: off the event loop, on threads of its own, so
        # gzip bombs queue behind each other and not behind other requests' JSON work.
        self._inflater = ElasticThreadPool(2, thread_name_prefix="gunzip")
        self._read_timeout = options.rest_api_read_timeout_seconds
        self._cors = options.rest_api_enable_cors_support
        self._monitoring_path = monitoring_path

    async def app(self, scope, receive, send):
        """The ASGI app: every HTTP request goes to handle(), whatever its path or method.

        Routing is TFS's URL grammar on the raw path (rest_routes), so decoded
        control characters (%0A) and unknown methods still get JSON answers.
        """
        if scope["type"] != "http":
            return
        try:
            reply = await self.handle(_Request(scope, receive))
        except Exception as exc:  # noqa: BLE001  last resort: still a JSON error
            log.exception("REST request failed")
            reply = self._error(exc)
        headers = [(b"content-type", reply.content_type), (b"content-length", b"%d" % len(reply.body))]
        headers += reply.headers
        if self._cors:
            headers += _CORS
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        await send({"type": "http.response.body", "body": reply.body})

    # ------------------------------------------------------------ plumbing

    def _json(self, status, obj):
        return Reply(status, tensor_json.encode(obj))

    def _error(self, error):
        error = from_exception(error)
        return self._json(error.http_status, {"error": error.message})

    async def _offload(self, size, fn, *args):
        if size <= _INLINE_BODY_BYTES:
            return fn(*args)
        return await asyncio.get_event_loop().run_in_executor(self._pool, fn, *args)

    async def _read_body(self, request, held):
        """The whole body (gunzipped), its bytes reserved in `held` before they are read.

        A declared Content-Length is reserved at once, so a request over the
        budget is refused before its body is read; a chunked body as it comes.
        """
        declared = request.content_length
        if declared and declared.isdigit():
            if int(declared) > self._max_body:
                raise BodyTooLarge(int(declared))
            held.reserve(int(declared))
        chunks, total = [], 0
        async with _StallGuard(self._read_timeout) as guard:
            while True:
                message = await request.receive()
                if message["type"] == "http.disconnect":
                    raise ClientGone()
                guard.progress()
                chunk = message.get("body", b"")
                total += len(chunk)
                if total > self._max_body:
                    raise BodyTooLarge(total)
                if total > held.size:
                    held.reserve(total - held.size)
                chunks.append(chunk)
                if not message.get("more_body", False):
                    break
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        if request.content_encoding and request.content_encoding.strip().lower() == b"gzip":
            body = await asyncio.get_event_loop().run_in_executor(self._inflater, self._gunzip, body, held)
        return body

    def _gunzip(self, body, held):
        """Inflate a chunk at a time, reserving each in `held`: over the limit or budget, stop."""
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        parts, size = [], 0
        try:
            data = inflater.decompress(body, _INFLATE_CHUNK_BYTES)
            while data:
                size += len(data)
                if size > self._max_body:
                    raise BodyTooLarge(size)
                held.reserve(len(data))
                parts.append(data)
                data = inflater.decompress(inflater.unconsumed_tail, _INFLATE_CHUNK_BYTES)
        except zlib.error as exc:
            raise ServingError("INVALID_ARGUMENT", "Failed to decompress gzip request body: %s" % exc)
        return b"".join(parts)

    # ------------------------------------------------------------ dispatch

    async def handle(self, request):
        if request.over_connection_limit:
            return self._busy("the server has too many open connections (--rest_api_max_connections)")
        held = Held(self._budget)
        try:
            return await self._handle(request, held)
        finally:
            held.release()

    def _busy(self, why):
        """503 + Retry-After, closing the connection (its body may be unread)."""
        reply = self._json(503, {"error": "Server busy: %s; retry after %d s" % (why, RETRY_AFTER_SECONDS)})
        reply.headers = [(b"retry-after", b"%d" % RETRY_AFTER_SECONDS), (b"connection", b"close")]
        return reply

    async def _handle(self, request, held):
        raw_path, method = request.path, request.method
        if self._monitoring_path and raw_path == self._monitoring_path:  # any method, as in TFS
            return Reply(200, self._service.metrics.exposition(), METRICS_CONTENT_TYPE.encode("latin-1"))
        try:
            if method == "OPTIONS" and raw_path.lower().startswith("/v1/"):
                return self._preflight(request)
            route = rest_routes.route(method, raw_path)
        except rest_routes.NotV1:
            return self._json(404, {"error": "Not found: %s %s (REST API paths start with /v1/)"
                                    % (method, raw_path)})
        except ServingError as exc:
            return self._error(exc)
        try:
            if route.kind == "status":
                response = self._service.status_response(route.model, route.version, route.label)
                return self._json(200, message_to_json(response))
            if route.kind == "metadata":
                return await self._metadata(route)
            body = await self._read_body(request, held)
        except OverBudget:
            return self._busy("request bodies in flight would exceed %d bytes (--rest_api_max_inflight_body_bytes)"
                              % self._budget.limit)
        except BodyTooLarge as exc:
            return self._json(413, {"error": "Request body of %d bytes exceeds the limit of %d bytes "
                                    "(--rest_api_max_body_bytes)" % (exc.args[0], self._max_body)})
        except BodyStalled:
            return self._json(408, {"error": "Request body stalled: no bytes for %d s "
                                    "(--rest_api_read_timeout_seconds)" % self._read_timeout})
        except ClientGone:
            return self._json(400, {"error": "The client closed the connection before sending the whole body"})
        except Exception as exc:  # noqa: BLE001  every failure becomes a JSON error
            return self._error(exc)
        if route.kind == "predict":
            return await self._predict(route, body)
        return await self._classify_regress(route, body)

    def _preflight(self, request):
        """OPTIONS on a /v1/ path: 200 when it names an http(s) Origin, as TFS answers (CORS flag or not)."""
        if request.origin is None or not _HTTP_ORIGIN.search(request.origin):
            raise ServingError("FAILED_PRECONDITION", "Origin header is missing in CORS preflight")
        return self._json(200, {})

    async def _metadata(self, route):
        with self._service.recording(route.model, "GetModelMetadata", "REST") as record:
            try:
                response, signature_map = self._service.metadata_response(route.model, route.version, route.label)
                result = message_to_json(response)
                result["metadata"] = {"signature_def": signature_map_to_json(signature_map)}
                return self._json(200, result)
            except Exception as exc:  # noqa: BLE001
                record.error = exc
                return self._error(exc)

    async def _wait(self, future):
        """The result of a concurrent Future, or DEADLINE_EXCEEDED after --rest_api_timeout_in_ms.

        One loop future and one timer: asyncio.wait_for(wrap_future()) costs a
        task and two chained futures a request. Callers pass the future without
        keeping it in a local: a run's error would hold their frame, and their
        frame the future holding the error (a cycle keeping the request's arrays).
        """
        loop = asyncio.get_event_loop()
        waiter = loop.create_future()
        future.add_done_callback(lambda done: loop.call_soon_threadsafe(_settle, waiter, done))
        timer = loop.call_later(self._timeout, _expire, waiter, self._timeout_ms)
        try:
            return await waiter
        finally:
            timer.cancel()
            # A run's error holds this frame in its traceback and the futures hold the error: drop
            # them, or the cycle keeps the request's arrays until a full garbage collection.
            waiter = future = None

    async def _inference(self, route, body, compute):
        """Frame of :predict/:classify/:regress: metrics, JSON errors, releasing the held version.

        compute(doc, signature_name, hold, deadline) -> Reply, where hold() acquires the
        version the URL asks for (after the body parsed, as TFS orders its checks).
        """
        started = time.monotonic()
        handles = []

        def hold():
            handles.append(self._service.manager.acquire(route.model, route.version, route.label))
            return handles[-1]

        with self._service.recording(route.model, route.kind, "REST") as record:
            try:
                doc = await self._offload(len(body), tensor_json.parse_document, body)
                signature_name = tensor_json.signature_name_of(doc)
                return await compute(doc, signature_name, hold, started + self._timeout)
            except Exception as exc:  # noqa: BLE001
                record.error = exc
                return self._error(exc)
            finally:
                for handle in handles:
                    handle.release()

    async def _predict(self, route, body):
        async def compute(doc, signature_name, hold, deadline):
            handle = hold()
            signature = handle.servable.signatures.get(signature_name or DEFAULT_SIGNATURE)
            if signature is None:
                raise ServingError("INVALID_ARGUMENT", 'Serving signature name: "%s" not found in signature def'
                                   % (signature_name or DEFAULT_SIGNATURE))
            dtypes = {alias: info.dtype for alias, info in signature.inputs.items()}
            fmt, inputs = await self._offload(len(body), tensor_json.parse_predict_inputs, doc, dtypes)
            outputs = await self._wait(start_predict(handle.runner, signature_name, inputs, deadline=deadline)[1])
            payload = await self._offload(
                len(body), lambda: tensor_json.encode(tensor_json.predict_response(outputs, fmt)))
            return Reply(200, payload)

        return await self._inference(route, body, compute)

    async def _classify_regress(self, route, body):
        classify = route.kind == "classify"

        async def compute(doc, signature_name, hold, deadline):
            input_proto = await self._offload(len(body), examples.input_from_json, doc, route.kind)
            start = examples.start_classify if classify else examples.start_regress
            started = start(hold().runner, signature_name, input_proto, deadline)
            try:
                result = started[2](await self._wait(started[1]))
            finally:
                started = None  # the future holds a run's error, whose traceback holds this frame
            return self._json(200, examples.classify_json(result) if classify else examples.regress_json(result))

        return await self._inference(route, body, compute)


def _settle(waiter, done):
    """Copy a finished concurrent Future into `waiter` (on the loop), unless it expired."""
    if waiter.done():
        return
    if done.cancelled():
        waiter.set_exception(ServingError("CANCELLED", "The model run was cancelled"))
        return
    error = done.exception()
    if error is not None:
        waiter.set_exception(error)
    else:
        waiter.set_result(done.result())


def _expire(waiter, timeout_ms):
    if not waiter.done():
        waiter.set_exception(ServingError(
            "DEADLINE_EXCEEDED", "Model run did not finish within %d ms (--rest_api_timeout_in_ms)" % timeout_ms))
