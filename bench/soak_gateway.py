"""The text gateway's side of bench/soak.py --gateway: its model, its process, legit texts and hostile clients.

The served model `m` is tests/helpers/multi_label_savedmodel.py's golden
multi-label SavedModel: it carries the `metadata` and `vocab` signatures the
gateway reads, TF 1.15 writes it in seconds, and every text's label set is
known by construction, so each legit answer is checked, not just its status.
The gateway (`python -m text_gateway` on the client venv, default flags)
binds 127.0.0.1 and follows the server's hot swaps by itself.

Hostile clients send the gateway what a careless or hostile caller does:
broken JSON, deep nesting, lone surrogates (escaped and as raw bytes), 40 MB
bodies (with Content-Length and chunked), wrong content types, unknown routes
and methods, oversize texts and batches, and slow bodies. None may get a 5xx.
"""

import collections
import itertools
import json
import os
import re
import shutil
import sys
import types

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests", "helpers")]

import multi_label_savedmodel  # noqa: E402  (tests/helpers)
import tiny_bert  # noqa: E402  (tests/helpers)
from bench.gateway import start_gateway  # noqa: E402
from model_server.launch import terminate  # noqa: E402

MODEL = "m"
PYTHON = os.path.join(ROOT, ".venv-client", "bin", "python")
MiB = 1024 * 1024
GATEWAY_ARGS = types.SimpleNamespace(upstream_concurrency=32)  # bench/gateway.start_gateway's flags: the defaults
CHUNKED_BYTES = 2 * MiB  # over the gateway's 1 MiB body limit, sent without Content-Length
EXCEPTION_LINE = re.compile(r"^[\w.]*(Error|Exception|Disconnect)\b")  # a traceback's last line
PROBLEM_LINE = re.compile(r"^\S+ \S+ \S+ (WARNING|ERROR|CRITICAL) ")  # the gateway's log format


def build_versions(source, versions):
    """The golden multi-label model under source/<v> for each of `versions` (identical copies)."""
    os.makedirs(source)
    vocab = tiny_bert.write_vocab(os.path.join(source, "vocab.txt"))
    first = multi_label_savedmodel.build(os.path.join(source, "golden"), vocab)
    for version in versions:
        shutil.copytree(first, os.path.join(source, str(version)))


class GatewayFront(object):
    """The gateway in front of the soak's server, and what its clients send it."""

    def __init__(self, root, python=PYTHON):
        self.root = root
        self.python = python
        self.process = None
        self.port = None
        self.path = "/v1/models/%s:predict" % MODEL
        self.texts = multi_label_savedmodel.KNOWN_TEXTS
        self.label_sets = [list(labels) for labels in multi_label_savedmodel.KNOWN_LABEL_SETS]
        # One text per request (as bench/gateway.py sends them), and all of them in one.
        self.bodies = [json.dumps({"instances": [text]}).encode() for text in self.texts]
        self.bodies.append(json.dumps({"instances": self.texts}).encode())
        self.expected = [[labels] for labels in self.label_sets] + [self.label_sets]

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    def start(self, server):
        if not os.path.exists(self.python):
            raise SystemExit("bench/soak.py --gateway: no %s (make setup-gateway, or pass --gateway_python)"
                             % self.python)
        self.log_path = os.path.join(self.root, "gateway.log")
        self.process, self.port = start_gateway(self.python, server.rest_port, GATEWAY_ARGS, self.log_path, MODEL)
        return self.process.pid

    def stop(self):
        if self.process is not None:
            terminate(self.process)

    def log_problems(self):
        """{the last line of each traceback and each WARNING/ERROR line, cut at 160 chars: count} of its log."""
        problems = collections.Counter()
        with open(self.log_path, errors="replace") as f:
            for line in f:
                if EXCEPTION_LINE.match(line) or PROBLEM_LINE.match(line):
                    problems[line.strip()[:160]] += 1
        return dict(problems)

    def check(self, index, payload):
        """loadgen.drive's check: the label sets of body `index`, else what was wrong."""
        try:
            got = [p["labels"] for p in json.loads(payload)["predictions"]]
        except (ValueError, KeyError, TypeError):
            return "not a predictions answer: %r" % payload[:120]
        return None if got == self.expected[index] else "labels %s, expected %s" % (got, self.expected[index])

    def legit_after(self):
        """One legit request after an abuse phase: its status, or what was wrong with a 200."""
        answer = requests.post(self.url + self.path, data=self.bodies[0], timeout=30)
        return answer.status_code if answer.status_code != 200 else self.check(0, answer.content) or 200

    def status(self):
        return requests.get(self.url + "/v1/models/" + MODEL, timeout=30).json()

    # ------------------------------------------------------------ hostile requests

    def hostile(self, slow_body, huge_bodies):
        """[(kind, fn, threads)]: fn sends one hostile request and returns its outcome (a status).

        slow_body: a fn that trickles a body to the gateway's port; huge_bodies: 40 MB bodies.
        """
        session = requests.Session()
        url = self.url + self.path

        def post(data, **headers):
            return session.post(url, data=data, headers=headers, timeout=30).status_code

        def post_once(data):
            # On a connection of its own, closed after: one answered 413 before its body was read stays
            # open (uvicorn applies no keep-alive timeout to it) for as long as a pooling client keeps it.
            return requests.post(url, data=data, timeout=30).status_code

        def cycle(*calls):
            calls = itertools.cycle(calls)
            return lambda: next(calls)()

        deep = b'{"instances": ' + b"[" * 100000 + b"]" * 100000 + b"}"
        big_text = "good food " * 100000  # 1,000,000 characters, under the 1 MiB body limit
        huge = itertools.cycle(huge_bodies)

        def chunked():
            yield b'{"instances": ["'
            for _ in range(CHUNKED_BYTES // 65536):
                yield b"a" * 65536
            yield b'"]}'

        def route(method, path):
            return lambda: session.request(method, self.url + path, timeout=30).status_code

        return [
            ("gw_malformed_json", cycle(lambda: post(b'{"instances": ["good food"'), lambda: post(b"instances"),
                                        lambda: post(b""), lambda: post(b'{"instances": "good"}'),
                                        lambda: post(b'{"instances": [{"text": 5}], "parameters": {"top_k": 0}}')), 1),
            ("gw_deep_nesting", lambda: post(deep), 1),
            ("gw_lone_surrogate", cycle(lambda: post(b'{"instances": ["\\ud800 good food \\udfff"]}'),
                                        lambda: post(b'{"instances": ["\xed\xa0\x80 good"]}'),
                                        lambda: post(b'{"instances": ["\xff\xfe bad"]}')), 1),
            ("gw_huge_body", cycle(lambda: post_once(next(huge)), lambda: post_once(chunked())), 1),
            ("gw_wrong_content_type", cycle(lambda: post(self.bodies[0], **{"Content-Type": "text/plain"}),
                                            lambda: post(b"instances=good+food", **{
                                                "Content-Type": "application/x-www-form-urlencoded"}),
                                            lambda: post(b"--x\r\n\r\ngood\r\n--x--", **{
                                                "Content-Type": "multipart/form-data; boundary=x"}),
                                            lambda: post(b"\x1f\x8b\x08\x00junk", **{"Content-Encoding": "gzip"})), 1),
            ("gw_unknown_route", cycle(route("GET", "/nope"), route("POST", "/v1/models/ghost:predict"),
                                       route("GET", self.path), route("DELETE", "/v1/models/" + MODEL),
                                       route("POST", "/v1/models/m%00:predict"), route("PUT", "/readyz")), 1),
            ("gw_oversize", cycle(lambda: post(json.dumps({"instances": [big_text]})),
                                  lambda: post(json.dumps({"instances": [big_text[:5000]],
                                                           "parameters": {"truncation": False}})),
                                  lambda: post(json.dumps({"instances": ["good"] * 300}))), 1),
            ("gw_slow_body", slow_body, 4),
        ]

    def phases(self, slow_body, huge_bodies):
        """[(name, fn, clients)]: the gateway's abuse phases, each run alone by Soak.abuse_phases."""
        kinds = {kind: fn for kind, fn, _ in self.hostile(slow_body, huge_bodies)}
        malformed = [kinds[k] for k in ("gw_malformed_json", "gw_deep_nesting", "gw_lone_surrogate",
                                        "gw_wrong_content_type", "gw_unknown_route", "gw_oversize")]
        mixed = itertools.cycle(malformed)
        return [("gateway: 40 MB and chunked 2 MB bodies", kinds["gw_huge_body"], 6),
                ("gateway: malformed requests (JSON, nesting, surrogates, types, routes, oversize)",
                 lambda: next(mixed)(), 8),
                ("gateway: slow clients", slow_body, 32)]
