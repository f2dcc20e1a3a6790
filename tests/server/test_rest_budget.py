"""REST memory is bounded in total: an in-flight body budget and a connection limit.

A request whose body would take the bodies held at once over
--rest_api_max_inflight_body_bytes, or that arrives on a connection beyond
--rest_api_max_connections, is answered 503 with Retry-After (and its
connection closed); once the others are gone, requests are served again.
gzip bodies count with their inflated size.
"""

import contextlib
import gzip
import json
import socket
import time

import pytest

import toy_savedmodel as toy_models
from conftest import Rest
from loopback import raw_exchange
from model_servers import running_server

pytestmark = pytest.mark.needs_tf

MiB = 1024 * 1024
PREDICT = "/v1/models/toy:predict"
ROW = toy_models.bert_rows(1)[0]
HEAD = b"POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" % PREDICT.encode()
CONNECTIONS = 6


@pytest.fixture(scope="module")
def limited_server(toy_export):
    with running_server(["--model_name=toy", "--model_base_path=" + toy_export,
                         "--rest_api_max_body_bytes=%d" % MiB, "--rest_api_max_inflight_body_bytes=%d" % (2 * MiB),
                         "--rest_api_max_connections=%d" % CONNECTIONS, "--rest_api_read_timeout_seconds=60"]) as server:
        yield server


def until(condition, what, seconds=30):
    """Poll condition() (each call is a request) until it is true; fail after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
    raise AssertionError("not observed within %d s: %s" % (seconds, what))


def raw_request(port, data):
    """Send `data` (a request asking to close) on a new connection; (status line, headers, body) of the answer."""
    head, _, body = raw_exchange(port, data).partition(b"\r\n\r\n")
    return head.split(b"\r\n")[0], head.decode("latin-1").lower(), body


def predict_bytes(body=None, headers=b""):
    body = json.dumps({"instances": [ROW]}).encode() if body is None else body
    return HEAD + headers + b"Connection: close\r\nContent-Length: %d\r\n\r\n" % len(body) + body


def busy(port, data):
    status, headers, body = raw_request(port, data)
    return status.startswith(b"HTTP/1.1 503") and (headers, json.loads(body.decode())["error"])


def test_bodies_over_the_inflight_budget_get_503_with_retry_after(limited_server):
    port = limited_server.rest_port
    rest = Rest(limited_server.rest_url)
    with contextlib.ExitStack() as stack:
        # Two uploads of 1 MiB that never finish hold the whole 2 MiB budget.
        for _ in range(2):
            sock = stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=30))
            sock.sendall(HEAD + b"Content-Length: %d\r\n\r\n[" % MiB)
        headers, message = until(lambda: busy(port, predict_bytes()), "503 while the budget is held")
        assert "retry-after: 1" in headers and "connection: close" in headers
        assert "--rest_api_max_inflight_body_bytes" in message
    # The held uploads are gone: the budget is free again.
    until(lambda: rest.post(PREDICT, {"instances": [ROW]})[0] == 200, "200 after the uploads closed")


def test_gzip_bodies_count_inflated_and_bombs_are_refused(limited_server):
    rest = Rest(limited_server.rest_url)
    good = gzip.compress(json.dumps({"instances": [ROW] * 3}).encode())
    status, body = rest.post(PREDICT, data=good, headers={"Content-Encoding": "gzip"})
    assert status == 200 and len(body["predictions"]) == 3
    bomb = gzip.compress(b" " * (64 * MiB))  # 64 KiB that inflate past the 1 MiB body limit
    status, body = rest.post(PREDICT, data=bomb, headers={"Content-Encoding": "gzip"})
    assert status == 413 and "--rest_api_max_body_bytes" in body["error"]
    assert rest.post(PREDICT, {"instances": [ROW]})[0] == 200


def test_connections_over_the_limit_get_503_and_are_closed(limited_server):
    port = limited_server.rest_port
    rest_after = Rest(limited_server.rest_url)
    with contextlib.ExitStack() as stack:
        for _ in range(CONNECTIONS):  # request heads that keep their connections open
            sock = stack.enter_context(socket.create_connection(("127.0.0.1", port), timeout=30))
            sock.sendall(HEAD)
        headers, message = until(lambda: busy(port, predict_bytes()), "503 over the connection limit")
        assert "retry-after: 1" in headers and "--rest_api_max_connections" in message
    until(lambda: rest_after.post(PREDICT, {"instances": [ROW]})[0] == 200, "200 after the connections closed")
