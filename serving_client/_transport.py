"""The network behind one small interface: `Transport.send(Request) -> Response`.

As in httpx, the client builds TensorFlow Serving REST requests and never
touches sockets itself, so tests plug in `MockTransport(handler)` and the gRPC
transport translates the same requests into `PredictionService` calls.
"""

import json as jsonlib
from typing import Any, Callable, Dict, Mapping, Optional, Tuple, Union

import requests
import requests.adapters
import urllib3.exceptions

from serving_client._errors import ConnectError, ConnectionLost, ProtocolError, ReadTimeout, TransportError

# (connect, read) seconds, as requests takes them.
Timeout = Union[float, Tuple[float, float]]


class Request:
    """One TF Serving REST call: GET .../metadata or POST ...:predict with a JSON body."""

    __slots__ = ("method", "url", "json")

    def __init__(self, method: str, url: str, json: Optional[Any] = None):
        self.method = method
        self.url = url
        self.json = json

    def __repr__(self) -> str:
        return "<Request %s %s>" % (self.method, self.url)


class Response:
    """Status plus a JSON body, given either as bytes (`content`) or already parsed (`json`).

    `retries` is how many times `RetryTransport` resent the request before this answer.
    """

    __slots__ = ("status_code", "content", "headers", "grpc_code", "retries", "_json")

    def __init__(
        self,
        status_code: int,
        content: Optional[bytes] = None,
        json: Optional[Any] = None,
        headers: Optional[Mapping[str, str]] = None,
        grpc_code: Optional[str] = None,
    ):
        self.status_code = status_code
        self.headers = dict(headers or {})
        self.grpc_code = grpc_code
        self.retries = 0
        self._json = json
        if content is None:
            content = b"" if json is None else jsonlib.dumps(json).encode("utf-8")
        self.content = content

    def json(self) -> Any:
        if self._json is None:
            self._json = jsonlib.loads(self.content.decode("utf-8"))
        return self._json

    def __repr__(self) -> str:
        return "<Response %d>" % self.status_code


class Transport:
    """Sends one request and returns the server's response, whatever its status.

    Raises `TransportError` subclasses when no response arrives at all.
    """

    def send(self, request: Request) -> Response:
        raise NotImplementedError

    def close(self) -> None:
        """Releases connections; the default has none."""


class MockTransport(Transport):
    """Answers every request with `handler(request)`; the handler may also raise."""

    def __init__(self, handler: Callable[[Request], Response]):
        self.handler = handler

    def send(self, request: Request) -> Response:
        return self.handler(request)


class HTTPTransport(Transport):
    """REST over one keep-alive `requests.Session` shared by all worker threads.

    Retries are left to `RetryTransport` (urllib3's own are off) so that they
    behave the same for REST, gRPC and tests. A `session` passed in is used
    as it is (its adapters, pool sizes and auth), e.g. for TLS client certs.
    """

    def __init__(
        self,
        timeout: Timeout = (3.05, 30.0),
        pool_maxsize: int = 10,
        session: Optional[requests.Session] = None,
        headers: Optional[Dict[str, str]] = None,
    ):
        self.timeout = timeout
        self._session = session if session is not None else requests.Session()
        if session is None:
            # One pooled connection per thread in flight, none retried here.
            adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=pool_maxsize, max_retries=0)
            self._session.mount("http://", adapter)
            self._session.mount("https://", adapter)
        self._headers = {"Content-Type": "application/json", "Accept": "application/json"}
        self._headers.update(headers or {})

    def send(self, request: Request) -> Response:
        data = None
        if request.json is not None:
            try:
                data = jsonlib.dumps(request.json, separators=(",", ":"), allow_nan=False).encode("utf-8")
            except ValueError as e:
                raise ProtocolError("cannot encode the request body as JSON: %s" % e, request)
        try:
            answer = self._session.request(
                request.method, request.url, data=data, headers=self._headers, timeout=self.timeout
            )
        except requests.exceptions.ConnectTimeout:
            raise ConnectError(
                "cannot connect to %s: no connection within %ss" % (request.url, _split(self.timeout)[0]),
                request,
            )
        except requests.exceptions.ConnectionError as e:
            if _after_send(e):
                raise ConnectionLost("the connection to %s broke after the request was sent: %s"
                                     % (request.url, _reason(e)), request)
            raise ConnectError("cannot connect to %s: %s" % (request.url, _reason(e)), request)
        except requests.exceptions.Timeout:
            raise ReadTimeout(
                "no answer from %s within %ss (read timeout)" % (request.url, _split(self.timeout)[1]),
                request,
            )
        except requests.exceptions.RequestException as e:
            raise TransportError("request to %s failed: %s" % (request.url, _reason(e)), request)
        return Response(answer.status_code, content=answer.content, headers=answer.headers)

    def close(self) -> None:
        self._session.close()


def _split(timeout: Timeout) -> Tuple[float, float]:
    """(connect, read) seconds; one number means both, as in requests."""
    return timeout if isinstance(timeout, tuple) else (timeout, timeout)


def _after_send(error: Exception) -> bool:
    """Whether a requests ConnectionError came after the request went out.

    urllib3 raises connect-phase failures as MaxRetryError(NewConnectionError /
    ConnectTimeoutError) and a connection that breaks while the answer is
    awaited as ProtocolError("Connection aborted.", ...).
    """
    reason = error  # type: Any
    while reason is not None:
        if isinstance(reason, urllib3.exceptions.ProtocolError):
            return True
        reason = reason.args[0] if reason.args and isinstance(reason.args[0], Exception) else None
    return False


def _reason(error: Exception) -> str:
    """The innermost reason of a requests/urllib3 error, without the nested reprs."""
    reason = error
    while reason.args and isinstance(reason.args[0], Exception):
        reason = reason.args[0]
    inner = getattr(reason, "reason", None)
    if isinstance(inner, Exception):
        reason = inner
    text = str(reason)
    # urllib3 prefixes "<urllib3.connection.HTTPConnection object at 0x...>: ".
    if ">: " in text:
        text = text.split(">: ", 1)[1]
    return text or type(reason).__name__
