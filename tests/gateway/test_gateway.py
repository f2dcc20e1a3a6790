"""The text gateway over real HTTP, in front of the local model server serving a tiny export."""

import http.server
import json
import socket
import threading
import urllib.request

import pytest

from loopback import raw_exchange, wait_for  # tests/helpers
from serving_client import ServingClient

# The gateway runs on a current Python (`make test-gateway`); the TF 1.15 suite skips it.
pytest.importorskip("starlette", reason="the gateway's packages are not installed (make setup-gateway)")
pytest.importorskip("uvicorn", reason="the gateway's packages are not installed (make setup-gateway)")

MODEL = "tiny"  # the model name the conftest's server serves

TEXTS = ["the movie was good", "awful film , i hate it", "lovely day", "the food is bad", "great great great"]
LONG_TEXT = " ".join(["good"] * 40)  # more tokens than the export's max_seq_length (24)


def gateway_args(server, *extra):
    return ["--model_name=%s" % MODEL, "--predictor_host=%s" % server.rest_host, "--refresh_seconds=0.2"] + list(extra)


def expected_predictions(server, examples):
    with ServingClient("http://" + server.rest_host, MODEL) as client:
        return client.predict_batch([a for a, _ in examples], [b for _, b in examples])


def assert_same(records, predictions):
    assert len(records) == len(predictions)
    for record, prediction in zip(records, predictions):
        assert record["label"] == prediction.label
        assert record["score"] == pytest.approx(prediction.score, abs=1e-6)
        assert record["scores"] == pytest.approx(prediction.probabilities, abs=1e-6)


@pytest.fixture
def gateway(model_server, start_gateway):
    return start_gateway(gateway_args(model_server, "--chunk_size=2")).wait_ready()


def test_predictions_equal_the_clients(gateway, model_server):
    instances = TEXTS + [{"text": "is it good"}, {"text": LONG_TEXT}]
    answer = gateway.post("/v1/models/%s:predict" % MODEL, json={"instances": instances})
    assert answer.status_code == 200, answer.text
    records = answer.json()["predictions"]
    examples = [(t, None) for t in TEXTS] + [("is it good", None), (LONG_TEXT, None)]
    assert_same(records, expected_predictions(model_server, examples))
    assert [r["truncated"] for r in records] == [False] * 6 + [True]
    # The tiny model was trained on single texts (its metadata says so): a second text is refused.
    pair = gateway.post("/v1/models/%s:predict" % MODEL, json={"instances": ["a", {"text": "b", "text_pair": "c"}]})
    assert pair.status_code == 400
    assert pair.json()["error"] == "instances[1] has a text_pair; the sequence classification model was trained on single texts"
    assert list(records[0]["scores"]) == sorted(records[0]["scores"], key=records[0]["scores"].get, reverse=True)


def test_grpc_upstream_gives_the_same_predictions(model_server, start_gateway):
    pytest.importorskip("serving_client._grpc", reason="the gRPC extra is not installed")
    gateway = start_gateway([
        "--model_name=%s" % MODEL, "--predictor_host=%s" % model_server.grpc_host, "--protocol=grpc", "--refresh_seconds=0.2",
    ]).wait_ready()
    answer = gateway.post("/v1/models/%s:predict" % MODEL, json={"instances": TEXTS})
    assert answer.status_code == 200, answer.text
    assert_same(answer.json()["predictions"], expected_predictions(model_server, [(t, None) for t in TEXTS]))


def test_parameters_and_the_predict_alias(gateway, model_server):
    (expected,) = expected_predictions(model_server, [(TEXTS[0], None)])
    top = gateway.post("/v1/models/%s:predict" % MODEL, json={"instances": [TEXTS[0]], "parameters": {"top_k": 1}})
    assert top.json()["predictions"][0]["scores"] == pytest.approx({expected.label: expected.score})
    strict = gateway.post("/v1/models/%s:predict" % MODEL, json={"instances": [TEXTS[0]], "parameters": {"threshold": 1.0}})
    assert strict.json()["predictions"][0]["label"] is None and strict.json()["predictions"][0]["scores"] == {}
    refused = gateway.post("/v1/models/%s:predict" % MODEL,
                           json={"instances": ["ok", LONG_TEXT], "parameters": {"truncation": False}})
    assert refused.status_code == 400 and "instances[1] has 42 tokens" in refused.json()["error"]
    alias = gateway.post("/predict", json={"text": TEXTS[0]})
    assert alias.status_code == 200
    assert alias.json()["label"] == expected.label and alias.json()["truncated"] is False


def test_model_listing_status_health_and_metrics(gateway, model_server):
    assert gateway.get("/").json() == {"status": "alive"}
    assert gateway.get("/v1/models").json() == {"models": [MODEL]}
    status = gateway.get("/v1/models/%s" % MODEL).json()
    with ServingClient("http://" + model_server.rest_host, MODEL) as client:
        assert status == {"name": MODEL, "ready": True, "version": client.model_version,
                          "task": "sequence_classification", "labels": client.labels}
    assert gateway.get("/readyz").status_code == 200
    gateway.post("/v1/models/%s:predict" % MODEL, json={"instances": TEXTS})
    gateway.post("/v1/models/%s:predict" % MODEL, data=b"{")
    metrics = gateway.get("/metrics").text
    assert 'text_gateway_requests_total{model="tiny",status="200"} 1.0' in metrics
    assert 'text_gateway_requests_total{model="tiny",status="400"} 1.0' in metrics
    assert 'text_gateway_texts_per_request_sum{model="tiny"} 5.0' in metrics
    # --chunk_size=2: five texts went upstream in three calls.
    assert 'text_gateway_upstream_duration_seconds_count{model="tiny"} 3.0' in metrics
    assert 'text_gateway_request_duration_seconds_count{model="tiny"}' in metrics
    assert 'text_gateway_model_ready{model="tiny"} 1.0' in metrics


BAD_REQUESTS = [
    ("not json", b"{", 400, "not valid JSON"),
    ("not an object", json.dumps(["a"]).encode(), 400, 'expected a JSON object with "instances"'),
    ("no instances", json.dumps({"texts": ["a"]}).encode(), 400, "unknown field(s) texts"),
    ("empty", json.dumps({"instances": []}).encode(), 400, '"instances" is empty'),
    ("number", json.dumps({"instances": ["a", 3]}).encode(), 400, "instances[1]: expected a text"),
    ("pair type", json.dumps({"instances": [{"text": "a", "text_pair": 1}]}).encode(), 400, "instances[0].text_pair"),
    ("top_k", json.dumps({"instances": ["a"], "parameters": {"top_k": 0}}).encode(), 400, "parameters.top_k"),
    ("threshold", json.dumps({"instances": ["a"], "parameters": {"threshold": 2}}).encode(), 400, "parameters.threshold"),
    ("unknown parameter", json.dumps({"instances": ["a"], "parameters": {"temperature": 1}}).encode(), 400, "temperature"),
    ("not utf-8", b'{"instances": ["\xff"]}', 400, "not UTF-8"),
    ("nested too deeply", b'{"instances": ' + b"[" * 1016 + b"]" * 1016 + b"}", 400, "nested too deeply"),
    ("too many", json.dumps({"instances": ["a"] * 9}).encode(), 413, "9 instances in one request; the limit is 8"),
    ("too big", json.dumps({"instances": ["a" * 3000]}).encode(), 413, "the limit is 2048"),
]


def test_every_bad_request_gets_4xx_json_and_the_gateway_keeps_serving(model_server, start_gateway):
    gateway = start_gateway(gateway_args(model_server, "--max_instances=8", "--max_body_bytes=2048")).wait_ready()
    for name, body, status, message in BAD_REQUESTS:
        answer = gateway.post("/v1/models/%s:predict" % MODEL, data=body, headers={"Content-Type": "application/json"})
        assert answer.status_code == status, name
        assert message in answer.json()["error"], (name, answer.json())
    # A body that announces no length (chunked) is cut off at the limit too.
    chunked = gateway.post("/v1/models/%s:predict" % MODEL, data=iter([b'{"instances": ["', b"a" * 3000, b'"]}']))
    assert chunked.status_code == 413 and "the limit" in chunked.json()["error"]
    unknown = gateway.post("/v1/models/nope:predict", json={"instances": ["a"]})
    assert unknown.status_code == 404 and "model 'nope' is not served here" in unknown.json()["error"]
    assert gateway.get("/v1/models/nope").status_code == 404
    assert "no route" in gateway.get("/v2/anything").json()["error"]
    assert gateway.get("/predict").status_code == 405 and "not allowed" in gateway.get("/predict").json()["error"]
    # The predict route with another method is that route's 405, not an unknown model "tiny:predict".
    wrong = gateway.get("/v1/models/%s:predict" % MODEL)
    assert wrong.status_code == 405 and wrong.headers["Allow"] == "POST"
    assert wrong.json()["error"] == "method GET is not allowed on /v1/models/tiny:predict; use POST"
    # A Content-Length that is not a number: uvicorn's parser refuses it, with the API's JSON error.
    status, headers, body = raw_request(gateway.port, b"POST /v1/models/tiny:predict HTTP/1.1\r\nHost: x\r\n"
                                                      b"Content-Type: application/json\r\nContent-Length: 1x\r\n\r\n{}")
    assert status == 400 and headers["content-type"] == "application/json"
    assert "not a valid HTTP/1.1 request" in json.loads(body)["error"]
    assert gateway.post("/predict", json={"text": 1}).status_code == 400
    # A body over the limit is not read to its end: the 413 closes the connection (raw_request reads until the
    # gateway closes it), so a client can neither make it read the 1 MB it declared nor have the rest read as
    # its next request.
    status, headers, body = raw_request(gateway.port, b"POST /v1/models/tiny:predict HTTP/1.1\r\nHost: x\r\n"
                                                      b"Content-Length: 1000000\r\n\r\n" + b"a" * 100)
    assert status == 413 and headers["connection"] == "close" and "the limit is 2048" in json.loads(body)["error"]
    # A client that hangs up halfway through its body: counted a 400, not an unexpected error.
    answered_400 = lambda: requests_counted(gateway, "400")  # noqa: E731
    before = answered_400()
    with socket.create_connection(("127.0.0.1", gateway.port)) as sock:
        sock.sendall(b"POST /v1/models/tiny:predict HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"inst")
    wait_for(lambda: answered_400() == before + 1, 30, "the hung-up request counted", gateway.process, gateway.log_path)
    assert "unexpected error" not in gateway.log()
    good = gateway.post("/v1/models/%s:predict" % MODEL, json={"instances": TEXTS[:2]})
    assert good.status_code == 200 and len(good.json()["predictions"]) == 2
    # Graceful: SIGTERM ends it through the app's shutdown (uvicorn then re-raises the signal).
    assert gateway.stop() in (0, -15)
    assert "Application shutdown complete" in gateway.log()


def requests_counted(gateway, status):
    """The gateway's text_gateway_requests_total for MODEL and `status` (its /metrics)."""
    prefix = 'text_gateway_requests_total{model="%s",status="%s"} ' % (MODEL, status)
    lines = [line for line in gateway.get("/metrics").text.splitlines() if line.startswith(prefix)]
    return float(lines[0][len(prefix):]) if lines else 0.0


def test_readiness_follows_the_upstream(model_server, start_gateway):
    gateway = start_gateway(gateway_args(model_server, "--upstream_retries=0")).wait_ready()
    model_server.stop()
    try:
        gateway.wait_ready(False)
        assert gateway.get("/readyz").status_code == 503
        down = gateway.post("/v1/models/%s:predict" % MODEL, json={"instances": TEXTS[:1]})
        assert down.status_code == 503 and down.headers["Retry-After"] == "1"
        assert "not ready" in down.json()["error"]
        assert gateway.get("/healthz").status_code == 200  # alive, only not ready
    finally:
        model_server.start()
    gateway.wait_ready(True)
    again = gateway.post("/v1/models/%s:predict" % MODEL, json={"instances": TEXTS[:1]})
    assert again.status_code == 200
    assert_same(again.json()["predictions"], expected_predictions(model_server, [(TEXTS[0], None)]))


def raw_request(port, data):
    """(status, lower-cased headers, body) of bytes sent as they are, for requests `requests` will not send."""
    head, _, body = raw_exchange(port, data).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict((k.strip().lower(), v.strip()) for k, v in (line.split(":", 1) for line in lines[1:]))
    return int(lines[0].split()[1]), headers, body


class StallingUpstream:
    """Forwards to the real server, but holds every `serving_default` predict until closed (`drop`: closes it unanswered)."""

    def __init__(self, target: str, drop: bool = False, drop_first: int = 0):
        self.target = target
        self.drop = drop
        self.drop_first = drop_first  # drop this many predictions, then forward them
        self.dropped = 0
        self.release = threading.Event()
        self.held = threading.Semaphore(0)
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self._forward(None)

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if json.loads(body).get("signature_name", "serving_default") == "serving_default":
                    if outer.dropped < outer.drop_first:  # read, then the connection closes unanswered
                        outer.dropped += 1
                        self.close_connection = True
                        return
                    if outer.drop_first:
                        return self._forward(body)
                    outer.held.release()
                    if outer.drop:  # dies mid-request: the connection closes without an answer
                        self.close_connection = True
                        return
                    outer.release.wait(60)
                    return
                self._forward(body)

            def _forward(self, body):
                request = urllib.request.Request("http://%s%s" % (outer.target, self.path), data=body,
                                                 headers={"Content-Type": "application/json"})
                with urllib.request.urlopen(request, timeout=30) as answer:
                    payload = answer.read()
                    self.send_response(answer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def host(self) -> str:
        return "127.0.0.1:%d" % self.server.server_address[1]

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc_info):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)


def test_a_stalled_upstream_gives_504_and_the_gateway_keeps_serving(model_server, start_gateway):
    with StallingUpstream(model_server.rest_host) as upstream:
        gateway = start_gateway([
            "--model_name=%s" % MODEL, "--predictor_host=%s" % upstream.host, "--predictor_request_timeout_seconds=1",
            "--upstream_retries=0",
        ]).wait_ready()
        answer = gateway.post("/v1/models/%s:predict" % MODEL, json={"instances": TEXTS[:1]})
        assert answer.status_code == 504, answer.text
        assert "did not answer within 1s" in answer.json()["error"]
        assert upstream.held.acquire(timeout=1)
        assert gateway.get("/v1/models/%s" % MODEL).json()["ready"] is True
        metrics = gateway.get("/metrics").text
        assert 'text_gateway_requests_total{model="tiny",status="504"} 1.0' in metrics
        assert 'text_gateway_upstream_errors_total{kind="timeout",model="tiny"} 1.0' in metrics


def test_an_upstream_that_dies_mid_request_gives_502_with_retry_after(model_server, start_gateway):
    with StallingUpstream(model_server.rest_host, drop=True) as upstream:
        gateway = start_gateway(["--model_name=%s" % MODEL, "--predictor_host=%s" % upstream.host,
                                 "--upstream_retries=0"]).wait_ready()
        answer = gateway.post("/v1/models/%s:predict" % MODEL, json={"instances": TEXTS[:1]})
        assert answer.status_code == 502 and answer.headers["Retry-After"] == "1", answer.text
        assert "upstream closed the connection before answering" in answer.json()["error"]
        assert upstream.held.acquire(timeout=1)
        metrics = gateway.get("/metrics").text
        assert 'text_gateway_upstream_errors_total{kind="connection_lost",model="tiny"} 1.0' in metrics


def test_a_request_lost_by_the_upstream_unread_is_resent(model_server, start_gateway):
    """A pooled connection the upstream closes as a request goes out (its keep-alive timer) loses the request
    unanswered; predict has no side effects, so the gateway resends it (--upstream_retries, default 1)."""
    with StallingUpstream(model_server.rest_host, drop_first=1) as upstream:
        gateway = start_gateway(["--model_name=%s" % MODEL, "--predictor_host=%s" % upstream.host]).wait_ready()
        answer = gateway.post("/v1/models/%s:predict" % MODEL, json={"instances": TEXTS[:1]})
        assert answer.status_code == 200, answer.text
        assert upstream.dropped == 1
        assert len(answer.json()["predictions"]) == 1


def test_a_bearer_token_guards_the_api_but_not_the_probes(model_server, start_gateway, tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("gateway-token\n")
    gateway = start_gateway(gateway_args(model_server, "--auth_token_file=%s" % token_file))
    for path in ("/healthz", "/readyz", "/metrics"):
        wait_ok = gateway.get(path)
        assert wait_ok.status_code in (200, 503), path  # /readyz is 503 until the model is loaded
    denied = gateway.post("/v1/models/%s:predict" % MODEL, json={"instances": TEXTS[:1]})
    assert denied.status_code == 401 and denied.headers["WWW-Authenticate"] == 'Bearer realm="text-api"'
    wrong = gateway.get("/v1/models", headers={"Authorization": "Bearer guess"})
    assert wrong.status_code == 401 and 'error="invalid_token"' in wrong.headers["WWW-Authenticate"]
    good = {"Authorization": "Bearer gateway-token"}
    wait_for(lambda: gateway.get("/v1/models/%s" % MODEL, headers=good).json()["ready"], 60, "model ready",
             gateway.process, gateway.log_path)
    answer = gateway.post("/v1/models/%s:predict" % MODEL, json={"instances": TEXTS[:1]}, headers=good)
    assert answer.status_code == 200 and len(answer.json()["predictions"]) == 1
    assert gateway.get("/readyz").status_code == 200


def test_an_unreadable_token_file_stops_the_gateway_with_one_line(model_server, tmp_path):
    import subprocess
    import sys

    from loopback import REPO, child_environment  # tests/helpers

    result = subprocess.run([sys.executable, "-m", "text_gateway"] + gateway_args(model_server, "--auth_token_file=%s"
                                                                                  % (tmp_path / "missing")),
                            cwd=REPO, env=child_environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            universal_newlines=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "text_gateway: error: the API token file %s cannot be read: No such file or directory" % (tmp_path / "missing")]
