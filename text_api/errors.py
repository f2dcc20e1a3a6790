"""The error table: every failure the text API answers, as `{"error": ...}` with its status and headers.

| failure | status |
|---|---|
| bad JSON, body, field, parameter or header; input the model cannot take | 400 `BadRequest` |
| no or a wrong bearer token (when one is set) | 401 `Unauthorized` (+ `WWW-Authenticate`) |
| unknown model or route | 404 `NotFound` |
| a route's other method | 405 `MethodNotAllowed` (+ `Allow`) |
| body or batch over the limits | 413 `TooLarge` |
| model not ready; upstream unreachable or answering 503/429/404 | 503 `Unavailable` (+ `Retry-After`) |
| upstream connection lost after the request was sent (the request is safe to resend) | 502 `BadGateway` (+ `Retry-After`) |
| upstream answered something unusable | 502 `BadGateway` |
| upstream too slow | 504 `UpstreamTimeout` |
| misconfigured deployment (the Lambda's environment) | 500 `ConfigurationError` |
"""

from typing import Dict, Optional, Tuple

from serving_client import ConnectError, ConnectionLost, InputError, ReadTimeout, ServerError, ServingClientError


class ApiError(Exception):
    """One JSON error answer: `status`, a one-line `message`, optional extra headers."""

    status = 500

    def __init__(self, message: str, status: Optional[int] = None, headers: Optional[Dict[str, str]] = None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.headers = dict(headers or {})


def _retry_after(seconds: float) -> Dict[str, str]:
    return {"Retry-After": "%d" % max(1, round(seconds))}


class BadRequest(ApiError):
    status = 400


class Unauthorized(ApiError):
    status = 401

    def __init__(self, message: str, challenge: str):
        super().__init__(message, headers={"WWW-Authenticate": challenge})


class NotFound(ApiError):
    status = 404


class MethodNotAllowed(ApiError):
    status = 405

    def __init__(self, message: str, allow: str):
        super().__init__(message, headers={"Allow": allow})


class TooLarge(ApiError):
    status = 413


class ConfigurationError(ApiError):
    """The deployment's own settings are wrong (not the caller's fault, not worth retrying)."""

    status = 500


class Unavailable(ApiError):
    """Upstream down or the model not loaded there: worth retrying later (503 + Retry-After)."""

    status = 503

    def __init__(self, message: str, retry_after: float = 1.0):
        super().__init__(message, headers=_retry_after(retry_after))


class BadGateway(ApiError):
    """Upstream answered something unusable, or (with `retry_after`) broke off an answer that a resend may get."""

    status = 502

    def __init__(self, message: str, retry_after: Optional[float] = None):
        super().__init__(message, headers=_retry_after(retry_after) if retry_after is not None else None)


class UpstreamTimeout(ApiError):
    status = 504


# Upstream answers that mean "not now" rather than "never": 503 + Retry-After here.
RETRY_LATER = (404, 429, 503)


def upstream_error(error: ServingClientError, timeout: float, retry_after: float) -> Tuple[str, ApiError]:
    """(kind for metrics, the answer to send) for a failed upstream call."""
    if isinstance(error, ReadTimeout):
        return "timeout", UpstreamTimeout("upstream did not answer within %gs" % timeout)
    if isinstance(error, ConnectError):
        return "unavailable", Unavailable("upstream is unreachable: %s" % error, retry_after)
    if isinstance(error, ConnectionLost):
        # Predictions change nothing upstream, so a resend is safe, but it is the caller's to make.
        return "connection_lost", BadGateway("upstream closed the connection before answering: %s" % error, retry_after)
    if isinstance(error, ServerError) and error.status_code in RETRY_LATER:
        return "unavailable", Unavailable("upstream answered HTTP %d: %s" % (error.status_code, error.server_message), retry_after)
    if isinstance(error, ServerError) and error.status_code == 504:
        return "timeout", UpstreamTimeout("upstream timed out: %s" % error.server_message)
    if isinstance(error, InputError):
        return "input", BadRequest(str(error))
    return "bad_answer", BadGateway("upstream failed: %s" % error)
