"""A TF Serving stand-in for `MockTransport`: one BERT classifier, REST JSON shapes.

It checks every predict body the way the real server would (inputs present,
int values, shapes equal to the signature's) and answers with probabilities
that depend on each row's token count, so a test can tell rows apart and
check order. Knobs inject failures, delays and foreign exports. `LocalServer`
and `closed_port` are the real-socket cases: slow, 503 and down servers.
"""

import base64
import http.server
import json
import socket
import threading
import time
from typing import Callable, Dict, List, Optional

from featurizer import ModelInfo, vocab_sha256
from serving_client import Request, Response

FEATURES = ("input_ids", "input_mask", "segment_ids")


def tensor(dtype, *dims):
    return {"dtype": dtype, "name": "x:0", "tensor_shape": {"dim": [{"size": str(d), "name": ""} for d in dims], "unknown_rank": False}}


def bert_signature(seq_length, outputs=None):
    inputs = {name: tensor("DT_INT32", -1, seq_length) for name in FEATURES}
    inputs["label_ids"] = tensor("DT_INT32", -1)
    return {
        "inputs": inputs,
        "outputs": outputs or {"output": tensor("DT_FLOAT", -1, 2)},
        "method_name": "tensorflow/serving/predict",
    }


def metadata_body(model, version, signatures):
    return {
        "model_spec": {"name": model, "signature_name": "", "version": str(version)},
        "metadata": {"signature_def": {"signature_def": signatures}},
    }


def token_count_probabilities(mask_row, num_labels):
    """Probabilities that encode the row's token count n: last class n/(n+1)."""
    n = sum(mask_row)
    last = n / (n + 1.0)
    rest = (1.0 - last) / (num_labels - 1)
    return [rest] * (num_labels - 1) + [last]


class FakeServing:
    def __init__(
        self,
        vocab_file: str,
        model: str = "sms",
        version: int = 7,
        labels=("ham", "spam"),
        seq_length: int = 16,
        do_lower_case: bool = True,
        with_metadata: bool = True,
        num_outputs: Optional[int] = None,
        info_overrides: Optional[Dict] = None,
        with_vocab: bool = False,
    ):
        self.vocab_file = vocab_file
        self.model = model
        self.version = version
        self.labels = list(labels)
        self.seq_length = seq_length  # -1: dynamic
        self.num_outputs = num_outputs or len(self.labels)
        info = ModelInfo(
            labels=self.labels,
            vocab_sha256=vocab_sha256(vocab_file),
            do_lower_case=do_lower_case,
            max_seq_length=seq_length if seq_length > 0 else 32,
            task_name="sms",
            dynamic_seq_length=seq_length < 0,
        )
        self.info = info._replace(**(info_overrides or {}))
        self.with_metadata = with_metadata
        # A `vocab` signature answering these bytes (a test may swap them).
        self.vocab_bytes = open(vocab_file, "rb").read() if with_vocab else None
        self.requests = []  # type: List[Request]
        # Called before answering; may raise (e.g. ConnectError) or return a Response to send instead.
        self.before = None  # type: Optional[Callable[[Request], Optional[Response]]]
        # Seconds to wait before answering the n-th predict (by arrival).
        self.delay = None  # type: Optional[Callable[[int], float]]
        self._lock = threading.Lock()
        self._predicts = 0
        self.in_flight = 0
        self.max_in_flight = 0

    # -- what a test inspects ---------------------------------------------------

    def predict_bodies(self, signature="serving_default"):
        return [
            r.json for r in self.requests
            if r.method == "POST" and r.json.get("signature_name", "serving_default") == signature
        ]

    def metadata_requests(self):
        return [r for r in self.requests if r.method == "GET"]

    # -- the handler ------------------------------------------------------------

    def handler(self, request: Request) -> Response:
        with self._lock:
            self.requests.append(request)
        if self.before is not None:
            replacement = self.before(request)
            if replacement is not None:
                return replacement
        base = "http://serving/v1/models/%s" % self.model
        if request.method == "GET" and request.url in (base + "/metadata", "%s/versions/%d/metadata" % (base, self.version)):
            return Response(200, json=metadata_body(self.model, self.version, self.signatures()))
        if request.method == "POST" and request.url in (base + ":predict", "%s/versions/%d:predict" % (base, self.version)):
            return self._predict(request)
        name = request.url.split("/v1/models/", 1)[-1].split("/")[0].split(":")[0]
        return Response(404, json={"error": "Servable not found for request: Latest(%s)" % name})

    def signatures(self):
        signatures = {"serving_default": bert_signature(self.seq_length)}
        if self.with_metadata:
            meta = bert_signature(self.seq_length, {"metadata_json": tensor("DT_STRING", -1)})
            signatures["metadata"] = meta
        if self.vocab_bytes is not None:
            signatures["vocab"] = bert_signature(self.seq_length, {"vocab_bytes": tensor("DT_STRING", -1)})
        return signatures

    def outputs(self, inputs):
        """The `output` rows of a predict: probabilities that encode each row's token count."""
        return [token_count_probabilities(mask, self.num_outputs) for mask in inputs["input_mask"]]

    def _predict(self, request: Request) -> Response:
        body = request.json
        # Round-trip through JSON text, as the wire would.
        body = json.loads(json.dumps(body))
        inputs = body["inputs"]
        rows = len(inputs["input_ids"])
        if body.get("signature_name") == "metadata":
            return Response(200, json={"outputs": [self.info.to_json()] * rows})
        if body.get("signature_name") == "vocab" and self.vocab_bytes is not None:
            return Response(200, json={"outputs": [{"b64": base64.b64encode(self.vocab_bytes).decode("ascii")}] * rows})
        for name in FEATURES + ("label_ids",):
            if name not in inputs:
                return Response(400, json={"error": "Missing named input: %s in 'inputs' object." % name})
        widths = {len(row) for name in FEATURES for row in inputs[name]}
        if len(widths) != 1 or (self.seq_length > 0 and widths != {self.seq_length}):
            return Response(400, json={"error": "Expecting shape [-1,%d] but got rows of %s" % (self.seq_length, sorted(widths))})
        with self._lock:
            index = self._predicts
            self._predicts += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.delay is not None:
                time.sleep(self.delay(index))
            outputs = self.outputs(inputs)
        finally:
            with self._lock:
                self.in_flight -= 1
        return Response(200, json={"outputs": outputs})


# -- real sockets on 127.0.0.1, for the fault tests ---------------------------------


def closed_port() -> int:
    """A loopback port nothing listens on (bound once to find it free, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalServer:
    """A tiny HTTP server on a free loopback port answering every request with one canned reply.

    `hold=True` makes it accept the request and answer only when stopped (or after
    `hold_seconds`), i.e. a server slower than any read timeout the test uses. Use it
    as a context manager: leaving the block releases held requests and stops it.
    """

    def __init__(self, status: int = 200, body: Optional[Dict] = None, hold: bool = False, hold_seconds: float = 30.0):
        self.status = status
        self.body = json.dumps(body if body is not None else {}).encode("utf-8")
        self.hold = hold
        self.hold_seconds = hold_seconds
        self.requests = []  # type: List[str]
        self._release = threading.Event()
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="local-http", daemon=True
        )

    @property
    def url(self) -> str:
        return "http://127.0.0.1:%d" % self._server.server_address[1]

    def __enter__(self) -> "LocalServer":
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(10)

    def _handler_class(self):
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                if length:
                    self.rfile.read(length)
                owner.requests.append("%s %s" % (self.command, self.path))
                if owner.hold:
                    owner._release.wait(owner.hold_seconds)
                try:
                    self.send_response(owner.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(owner.body)))
                    self.end_headers()
                    self.wfile.write(owner.body)
                except OSError:
                    pass  # the client gave up waiting and closed the connection

            do_GET = do_POST = _answer

            def log_message(self, *args):
                pass

        return Handler
