"""One served model upstream: its metadata, its readiness, and predictions in chunks.

`serving_client` does the talking (REST or gRPC, metadata, the vocab the
export carries, checks, decoding); this module is the gateway's backend of the
text API (`text_api.backend`): it runs the client from the event
loop in a thread pool, splits long batches into upstream chunks, bounds the
upstream calls in flight (one semaphore for all models) and maps failures to
gateway errors. A watcher asks upstream for the model's current version every
`refresh_seconds`: the model is ready while that answers and the version's
metadata is loaded here; a new version is loaded before it is used.
"""

import asyncio
import logging
import time
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence
from urllib.parse import quote

from serving_client import Request, Retry, RetryTransport, ServerError, ServingClient, ServingClientError, Transport

from text_api.backend import Backend, LoadedModel, call_model, load_model
from text_api.errors import ApiError, BadGateway, Unavailable, UpstreamTimeout, upstream_error
from text_api.payload import Example, Parameters
from text_gateway.settings import GatewaySettings

if TYPE_CHECKING:  # prometheus_client is the app's business
    from text_gateway.metrics import GatewayMetrics

log = logging.getLogger("text_gateway")


class ModelBackend(Backend):
    """The text API's backend for one model behind TF Serving; `predict` is a coroutine."""

    def __init__(
        self,
        name: str,
        settings: GatewaySettings,
        transport: Transport,
        executor: Executor,
        slots: asyncio.Semaphore,
        metrics: "GatewayMetrics",
    ):
        self.name = name
        self.settings = settings
        self._executor = executor
        self._slots = slots
        self._metrics = metrics
        # A lost connection is resent too: predict and the version check have no side effects, and a pooled
        # connection the upstream's keep-alive timer closes as a request goes out loses it unread
        # (bench/soak.py --gateway).
        retry = Retry(max_retries=settings.upstream_retries, backoff_factor=0.05, retry_sent=True)
        self.client = ServingClient(
            settings.upstream_url,
            name,
            settings.vocab_file,
            batch_size=settings.chunk_size,
            max_in_flight=settings.upstream_concurrency,
            timeout=settings.upstream_timeout,
            retry=retry,
            transport=transport,
        )
        # One lost check would otherwise make the model not ready, every request a 503, until the next one.
        self._checks = RetryTransport(transport, retry)
        self.loaded = None  # type: Optional[LoadedModel]
        self.ready = False
        self.reason = "not checked yet"
        self._wake = asyncio.Event()
        self._loop = None  # type: Optional[asyncio.AbstractEventLoop]
        self._metadata_url = "%s/v1/models/%s/metadata" % (settings.upstream_url, quote(name, safe=""))

    # -- status ---------------------------------------------------------------

    def status(self) -> Dict[str, Any]:
        body = {"name": self.name, "ready": self.ready}  # type: Dict[str, Any]
        if self.loaded is not None:
            body.update(self.loaded.status(self.name), ready=self.ready)
        if not self.ready:
            body["reason"] = self.reason
        return body

    async def watch(self) -> None:
        """Checks the upstream version until cancelled; sooner when a predict saw trouble."""
        self._loop = asyncio.get_running_loop()
        while True:
            await self.refresh()
            try:
                await asyncio.wait_for(self._wake.wait(), self.settings.refresh_seconds)
            except asyncio.TimeoutError:
                pass
            self._wake.clear()

    async def refresh(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            # The default executor, not the predict pool: a busy or stalled upstream must not delay this check.
            version = await loop.run_in_executor(None, self._upstream_version)
            if self.loaded is None or self.loaded.version != version:
                if self.loaded is None:
                    self._set_ready(False, "loading version %s" % version)
                # Until the new version is loaded the old one answers; a request for it after upstream
                # unloaded it is resent to the new one (serving_client follows the 404).
                loaded = await loop.run_in_executor(None, self._load)
                log.info("model %s: serving upstream version %s (%s, labels %s)",
                         self.name, loaded.version, loaded.task_kind, ",".join(loaded.labels))
                self.loaded = loaded
                self._metrics.version.labels(self.name).set(loaded.version or 0)
        except (ServingClientError, ApiError) as e:
            if self.ready:
                log.warning("model %s: not ready: %s", self.name, e)
            self._set_ready(False, str(e))
            return
        self._set_ready(True, "")

    def _set_ready(self, ready: bool, reason: str) -> None:
        self.ready = ready
        self.reason = reason
        self._metrics.ready.labels(self.name).set(1 if ready else 0)

    def _upstream_version(self) -> Optional[int]:
        """The version upstream serves now (GET .../metadata answers only for an AVAILABLE one)."""
        request = Request("GET", self._metadata_url)
        response = self._checks.send(request)
        if response.status_code != 200:
            raise ServerError(response.status_code, response.content.decode("utf-8", "replace")[:300], request)
        try:
            version = response.json()["model_spec"].get("version")
            return int(version) if version not in (None, "") else None
        except (KeyError, TypeError, ValueError, AttributeError):
            raise BadGateway("upstream metadata of model %s has no model_spec.version" % self.name)

    def _load(self) -> LoadedModel:
        self.client.reload()
        return load_model(self.client)

    # -- predict ----------------------------------------------------------------

    async def predict(self, examples: Sequence[Example], parameters: Parameters) -> List[Dict[str, Any]]:
        model = self.loaded
        if not self.ready or model is None:
            raise Unavailable("model %s is not ready: %s" % (self.name, self.reason), self.settings.retry_after_seconds)
        truncated = model.check(examples, parameters)
        size = self.settings.chunk_size
        chunks = [examples[i : i + size] for i in range(0, len(examples), size)]
        outcomes = await asyncio.gather(
            *(self._predict_chunk(model, chunk, truncated[i * size :], parameters) for i, chunk in enumerate(chunks)),
            return_exceptions=True,
        )
        records = []  # type: List[Dict[str, Any]]
        for outcome in outcomes:
            if isinstance(outcome, BaseException):
                raise outcome
            records.extend(outcome)
        return records

    async def _predict_chunk(
        self, model: LoadedModel, chunk: Sequence[Example], truncated: List[bool], parameters: Parameters
    ) -> List[Dict[str, Any]]:
        loop = asyncio.get_running_loop()
        async with self._slots:
            started = time.monotonic()
            call = loop.run_in_executor(self._executor, self._call_upstream, model, chunk)
            try:
                # The client's own read timeout fires first; this bounds a trickling answer.
                predictions = await asyncio.wait_for(call, self.settings.upstream_timeout * (self.settings.upstream_retries + 1) + 1.0)
            except asyncio.TimeoutError:
                self._metrics.upstream_errors.labels(self.name, "timeout").inc()
                raise UpstreamTimeout("upstream did not answer within %gs" % self.settings.upstream_timeout)
            finally:
                self._metrics.upstream_latency.labels(self.name).observe(time.monotonic() - started)
        return model.answers(predictions, truncated, parameters)

    def _call_upstream(self, model: LoadedModel, chunk: Sequence[Example]) -> List[Any]:
        try:
            return call_model(self.client, chunk)
        except ServingClientError as e:
            raise self._gateway_error(e)

    def _gateway_error(self, error: ServingClientError) -> ApiError:
        """The gateway's answer to an upstream failure; trouble that may be a new version wakes the watcher."""
        kind, result = upstream_error(error, self.settings.upstream_timeout, self.settings.retry_after_seconds)
        self._metrics.upstream_errors.labels(self.name, kind).inc()
        if kind == "unavailable":
            self._wake_soon()
        return result

    def _wake_soon(self) -> None:
        """From a worker thread: have the watcher check upstream now."""
        if self._loop is not None:
            try:
                self._loop.call_soon_threadsafe(self._wake.set)
            except RuntimeError:  # the loop is closed: shutting down
                pass

    def close(self) -> None:
        self.client.close()
