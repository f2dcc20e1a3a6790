"""HTTPTransport over a fake requests adapter, and the retry policy over MockTransport."""

import json

import pytest
import requests
import requests.adapters

from serving_client import ConnectError, HTTPTransport, MockTransport, ReadTimeout, Request, Response, Retry
from serving_client._retry import RetryTransport


class FakeAdapter(requests.adapters.BaseAdapter):
    """Records what requests would send and answers (or raises) without a socket."""

    def __init__(self, outcomes):
        super().__init__()
        self.outcomes = list(outcomes)
        self.sent = []

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        self.sent.append((request, timeout))
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        status, body = outcome
        response = requests.Response()
        response.status_code = status
        response._content = json.dumps(body).encode()
        response.headers["Content-Type"] = "application/json"
        response.request = request
        response.url = request.url
        return response

    def close(self):
        pass


def transport_with(outcomes, **kwargs):
    session = requests.Session()
    adapter = FakeAdapter(outcomes)
    session.mount("http://", adapter)
    return HTTPTransport(session=session, **kwargs), adapter


def test_http_transport_sends_compact_json_with_connect_and_read_timeouts():
    transport, adapter = transport_with([(200, {"outputs": [[0.1, 0.9]]})], timeout=(1.5, 7.0))
    response = transport.send(Request("POST", "http://s/v1/models/m:predict", {"inputs": {"a": [1, 2]}}))
    assert response.status_code == 200
    assert response.json() == {"outputs": [[0.1, 0.9]]}
    sent, timeout = adapter.sent[0]
    assert timeout == (1.5, 7.0)
    assert sent.body == b'{"inputs":{"a":[1,2]}}'
    assert sent.headers["Content-Type"] == "application/json"


def test_http_transport_returns_error_statuses_as_responses():
    transport, _ = transport_with([(404, {"error": "Servable not found for request: Latest(m)"})])
    response = transport.send(Request("GET", "http://s/v1/models/m/metadata"))
    assert response.status_code == 404
    assert response.json()["error"].startswith("Servable not found")


@pytest.mark.parametrize(
    "raised, expected, words",
    [
        (requests.exceptions.ConnectionError("Connection refused"), ConnectError, "Connection refused"),
        (requests.exceptions.ConnectTimeout("slow"), ConnectError, "no connection within 2.0s"),
        (requests.exceptions.ReadTimeout("slow"), ReadTimeout, "within 9.0s (read timeout)"),
    ],
)
def test_http_transport_maps_network_failures(raised, expected, words):
    transport, _ = transport_with([raised], timeout=(2.0, 9.0))
    request = Request("POST", "http://s/v1/models/m:predict", {})
    with pytest.raises(expected) as info:
        transport.send(request)
    assert words in str(info.value)
    assert info.value.request is request
    assert info.value.url == "http://s/v1/models/m:predict"


def test_http_transport_reuses_one_session_for_keep_alive():
    transport, adapter = transport_with([(200, {}), (200, {})])
    transport.send(Request("GET", "http://s/v1/models/m/metadata"))
    transport.send(Request("GET", "http://s/v1/models/m/metadata"))
    assert len(adapter.sent) == 2  # both through the same mounted session/pool


def test_default_adapter_pool_matches_in_flight_requests():
    transport = HTTPTransport(pool_maxsize=6)
    adapter = transport._session.get_adapter("http://s")
    assert adapter._pool_maxsize == 6
    assert adapter.max_retries.total == 0  # retries are RetryTransport's job


class Script:
    """A handler playing a list of outcomes (Response or exception), recording sleeps."""

    def __init__(self, outcomes):
        self.outcomes = list(outcomes)
        self.calls = 0
        self.sleeps = []

    def handler(self, request):
        self.calls += 1
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            outcome.request = request
            raise outcome
        return outcome


def retrying(script, **policy):
    return RetryTransport(MockTransport(script.handler), Retry(**policy), sleep=script.sleeps.append)


def test_connection_errors_are_retried_with_exponential_backoff():
    script = Script([ConnectError("refused"), ConnectError("refused"), Response(200, json={"ok": 1})])
    response = retrying(script, max_retries=3, backoff_factor=0.5).send(Request("GET", "http://s/x"))
    assert response.json() == {"ok": 1}
    assert script.sleeps == [0.5, 1.0]


def test_503_is_retried_then_success():
    script = Script([Response(503, json={"error": "queue full"}), Response(200, json={})])
    assert retrying(script, max_retries=2, backoff_factor=0.1).send(Request("GET", "http://s/x")).status_code == 200
    assert script.sleeps == [0.1]


def test_retries_are_bounded_and_the_last_error_says_so():
    script = Script([ConnectError("cannot connect to http://s/x: refused")] * 4)
    with pytest.raises(ConnectError) as info:
        retrying(script, max_retries=3, backoff_factor=1.0, max_backoff=3.0).send(Request("GET", "http://s/x"))
    assert script.calls == 4
    assert script.sleeps == [1.0, 2.0, 3.0]  # capped by max_backoff
    assert "gave up after 3 retries" in str(info.value)


def test_503_after_the_last_retry_is_returned_to_the_caller():
    script = Script([Response(503, json={"error": "busy"})] * 3)
    response = retrying(script, max_retries=2, backoff_factor=0).send(Request("GET", "http://s/x"))
    assert response.status_code == 503
    assert script.calls == 3


@pytest.mark.parametrize("outcome", [Response(500, json={"error": "boom"}), Response(400, json={"error": "bad"})])
def test_other_errors_are_not_retried(outcome):
    script = Script([outcome])
    assert retrying(script, max_retries=3).send(Request("GET", "http://s/x")) is outcome
    assert script.calls == 1


def test_read_timeouts_are_not_retried():
    script = Script([ReadTimeout("slow")])
    with pytest.raises(ReadTimeout):
        retrying(script, max_retries=3).send(Request("GET", "http://s/x"))
    assert script.calls == 1 and script.sleeps == []


def test_zero_retries_sends_once():
    script = Script([ConnectError("refused")])
    with pytest.raises(ConnectError) as info:
        retrying(script, max_retries=0).send(Request("GET", "http://s/x"))
    assert "gave up" not in str(info.value)
