"""Bounded retries with exponential backoff, as a transport wrapper.

It sits above any transport (REST, gRPC, mock), so one policy covers both
protocols and the tests. Only failures where the model never ran are retried:
connection errors and 503 (TF Serving's UNAVAILABLE, e.g. a full batch queue).
Predict is a pure function, so resending it is safe. Read timeouts are not
retried: the server is busy, and resending would add load. The final outcome
says how many resends were made: "(gave up after N retries)" in a
`ConnectError`, `Response.retries` for a status (the client's `ServerError`
then says the same).
"""

import logging
import time
from typing import Callable, FrozenSet, NamedTuple, Optional

from serving_client._errors import ConnectError
from serving_client._transport import Request, Response, Transport

logger = logging.getLogger("serving_client")


class Retry(NamedTuple):
    """At most `max_retries` resends; the n-th waits min(max_backoff, backoff_factor * 2**n) s."""

    max_retries: int = 3
    backoff_factor: float = 0.25
    max_backoff: float = 8.0
    statuses: FrozenSet[int] = frozenset({503})

    def backoff(self, attempt: int) -> float:
        return min(self.max_backoff, self.backoff_factor * (2 ** attempt))


class RetryTransport(Transport):
    """Resends on `ConnectError` and on the policy's statuses; returns/raises the last outcome.

    `sleep` defaults to `time.sleep`, looked up when waiting so tests can swap it.
    """

    def __init__(self, inner: Transport, retry: Retry = Retry(), sleep: Optional[Callable[[float], None]] = None):
        if retry.max_retries < 0:
            raise ValueError("max_retries must be >= 0, got %d" % retry.max_retries)
        self.inner = inner
        self.retry = retry
        self._sleep = sleep

    def send(self, request: Request) -> Response:
        attempt = 0
        while True:
            try:
                response = self.inner.send(request)
            except ConnectError as e:
                if attempt >= self.retry.max_retries:
                    if attempt:
                        e.message = "%s (gave up after %d retries)" % (e.message, attempt)
                        e.args = (e.message,)
                    raise
                why = str(e)
            else:
                if response.status_code not in self.retry.statuses or attempt >= self.retry.max_retries:
                    response.retries = attempt
                    return response
                why = "HTTP %d" % response.status_code
            delay = self.retry.backoff(attempt)
            logger.debug("retry %d/%d of %r in %.2fs: %s", attempt + 1, self.retry.max_retries, request, delay, why)
            (self._sleep or time.sleep)(delay)
            attempt += 1

    def close(self) -> None:
        self.inner.close()
