"""Bounded retries with exponential backoff, as a transport wrapper.

It sits above any transport (REST, gRPC, mock), so one policy covers both
protocols and the tests. Only failures where the model never ran are retried:
failures to connect, 503 (TF Serving's UNAVAILABLE, e.g. a full batch queue)
and 429 (RESOURCE_EXHAUSTED). A connection that breaks after the request was
sent (`ConnectionLost`) is not: the request may be what crashed the server,
and resending would replay it; `Retry(retry_sent=True)` opts in. Read
timeouts are not retried: the server is busy, and resending would add load. The final outcome
says how many resends were made: "(gave up after N retries)" in a
`ConnectError`, `Response.retries` for a status (the client's `ServerError`
then says the same).
"""

import logging
import time
from typing import Callable, FrozenSet, NamedTuple, Optional

from serving_client._errors import ConnectError, ConnectionLost
from serving_client._transport import Request, Response, Transport

logger = logging.getLogger("serving_client")


class Retry(NamedTuple):
    """At most `max_retries` resends; the n-th waits min(max_backoff, backoff_factor * 2**n) s.

    `retry_sent` also resends requests whose connection broke after they were sent.
    """

    max_retries: int = 3
    backoff_factor: float = 0.25
    max_backoff: float = 8.0
    statuses: FrozenSet[int] = frozenset({503, 429})
    retry_sent: bool = False

    def backoff(self, attempt: int) -> float:
        return min(self.max_backoff, self.backoff_factor * (2 ** attempt))


class RetryTransport(Transport):
    """Resends on `ConnectError` (and `ConnectionLost` if opted in) and on the policy's statuses.

    Returns/raises the last outcome.

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
            except (ConnectError, ConnectionLost) as e:
                if attempt >= self.retry.max_retries or (isinstance(e, ConnectionLost) and not self.retry.retry_sent):
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
