"""Exceptions of the serving client.

    ServingClientError            base; .request and .url say what call failed
    +-- TransportError            no usable answer came back
    |   +-- ConnectError          could not connect (retried)
    |   +-- ConnectionLost        the connection broke after the request was sent (not retried by default)
    |   +-- ReadTimeout           the server took longer than the read timeout
    +-- ServerError               the server answered with an error status
    +-- ProtocolError             the answer is not what TensorFlow Serving sends
    +-- ModelMismatchError        the model does not fit the local vocab/settings/labels
    +-- InputError                an input file or argument cannot be read (no request)

Each message is one line that names the URL, so the CLI can print it as is.
"""

from typing import Any, Optional


class ServingClientError(Exception):
    """Base class; `request` is the request that failed (None for local input errors)."""

    def __init__(self, message: str, request: Optional[Any] = None):
        super().__init__(message)
        self.message = message
        self.request = request

    @property
    def url(self) -> Optional[str]:
        return None if self.request is None else self.request.url


class TransportError(ServingClientError):
    """The request got no HTTP/gRPC answer."""


class ConnectError(TransportError):
    """Connection refused or timed out while connecting: the server never saw the request; safe to retry."""


class ConnectionLost(TransportError):
    """The connection broke after the request was sent: the server may have run it (or crashed on it)."""


class ReadTimeout(TransportError):
    """The server accepted the request but did not answer within the read timeout."""


class ServerError(ServingClientError):
    """The server answered with an error: HTTP `status_code`, gRPC `grpc_code`, its `server_message`.

    `retries` counts the resends made before this answer (e.g. of a 503).
    """

    def __init__(
        self,
        status_code: int,
        server_message: str,
        request: Optional[Any] = None,
        grpc_code: Optional[str] = None,
        retries: int = 0,
    ):
        status = "HTTP %d" % status_code
        if grpc_code:
            status += " (gRPC %s)" % grpc_code
        where = " from %s %s" % (request.method, request.url) if request is not None else ""
        gave_up = " (gave up after %d retries)" % retries if retries else ""
        super().__init__("%s%s: %s%s" % (status, where, server_message, gave_up), request)
        self.status_code = status_code
        self.grpc_code = grpc_code
        self.server_message = server_message
        self.retries = retries


class ProtocolError(ServingClientError):
    """The server's answer is malformed or has an unexpected shape."""


class ModelMismatchError(ServingClientError):
    """Sending would produce wrong predictions (vocab, casing, length, labels, inputs)."""


class InputError(ServingClientError):
    """Local input (file, column, argument) is unusable; the message names file and line."""
