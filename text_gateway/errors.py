"""Failures the gateway answers as `{"error": ...}` with an HTTP status."""

from typing import Dict, Optional


class GatewayError(Exception):
    """One JSON error answer: `status`, a one-line `message`, optional extra headers."""

    status = 500

    def __init__(self, message: str, status: Optional[int] = None, headers: Optional[Dict[str, str]] = None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        self.headers = dict(headers or {})


class BadRequest(GatewayError):
    status = 400


class TooLarge(GatewayError):
    status = 413


class ModelNotFound(GatewayError):
    status = 404


class Unavailable(GatewayError):
    """Upstream down or the model not loaded there: worth retrying later (503 + Retry-After)."""

    status = 503

    def __init__(self, message: str, retry_after: float = 1.0):
        super().__init__(message, headers={"Retry-After": "%d" % max(1, round(retry_after))})


class UpstreamTimeout(GatewayError):
    status = 504


class BadGateway(GatewayError):
    """Upstream answered something the gateway cannot use (wrong model, malformed answer)."""

    status = 502
