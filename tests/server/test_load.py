"""Load with faults: 64 concurrent REST clients while versions come and go.

During the load two new versions are exported (copied atomically via temp-*
dirs + rename, as run_classifier.py does) and a broken one appears (a numeric
dir whose saved_model.pb is garbage). No request may fail, every answer comes
from a good version, the broken one ends in END with an error in the status
API, and the server's resident memory after all requests stays within 10% of
its value after the first tenth of them.

CI size: LOAD_REQUESTS=6000 within LOAD_SECONDS=20. Full size (figures in
model_server/README.md):
    LOAD_REQUESTS=20000 LOAD_SECONDS=600 .venv/bin/python -m pytest -s tests/server/test_load.py
"""

import os
import shutil
import threading
import time

import numpy as np
import pytest
import requests

import toy_savedmodel as toy_models
from conftest import Rest, write
from model_servers import running_server
from test_versions import FAST_POLL, states, wait_for

pytestmark = pytest.mark.needs_tf

CLIENTS = 64
REQUESTS = int(os.environ.get("LOAD_REQUESTS", "6000"))
SECONDS = float(os.environ.get("LOAD_SECONDS", "20"))
ROW = toy_models.bert_rows(1)[0]
GOOD_BIASES = {0.1, 0.2, 0.3}


def bias_of(prediction):
    p0, p1 = prediction
    return round(float(np.log(p1 / p0)) + 0.001 * sum(ROW["input_ids"]), 3)


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS in /proc/%d/status" % pid)


class Load(object):
    """CLIENTS threads sending predicts until `total` requests are sent or `seconds` pass."""

    def __init__(self, url, total, seconds):
        self.url = url + "/v1/models/m:predict"
        self.total = total
        self.deadline = time.monotonic() + seconds
        self.lock = threading.Lock()
        self.sent = 0
        self.latencies = []
        self.failures = []
        self.biases = set()
        self.threads = [threading.Thread(target=self._client, daemon=True) for _ in range(CLIENTS)]

    def _next(self):
        with self.lock:
            if self.sent >= self.total or time.monotonic() > self.deadline:
                return False
            self.sent += 1
            return True

    def _client(self):
        session = requests.Session()
        while self._next():
            started = time.monotonic()
            try:
                response = session.post(self.url, json={"instances": [ROW]}, timeout=60)
                bias = bias_of(response.json()["predictions"][0]) if response.status_code == 200 else None
            except Exception as exc:  # noqa: BLE001  counted as a failure
                response, bias = exc, None
            with self.lock:
                self.latencies.append(time.monotonic() - started)
                if bias is None:
                    self.failures.append(str(getattr(response, "text", response))[:200])
                else:
                    self.biases.add(bias)

    def done(self):
        with self.lock:
            return len(self.latencies)

    def start(self):
        self.started = time.monotonic()
        for thread in self.threads:
            thread.start()

    def join(self):
        for thread in self.threads:
            thread.join()
        self.elapsed = time.monotonic() - self.started


def export(source, base, version, corrupt=False):
    """Write <base>/<version> as an export does: fill temp-<version>, then rename."""
    temp = os.path.join(base, "temp-%d" % version)
    shutil.copytree(source, temp)
    if corrupt:
        write(os.path.join(temp, "saved_model.pb"), "\x08\x01 truncated protobuf")
    os.rename(temp, os.path.join(base, str(version)))


def test_versions_change_under_load_without_failures(fresh_base, version_source, local_only):
    base, add = fresh_base
    add(1)
    with running_server(["--model_name=m", "--model_base_path=" + base] + FAST_POLL) as server:
        rest = Rest(server.rest_url)
        load = Load(server.rest_url, REQUESTS, SECONDS)
        baseline_at = max(1, REQUESTS // 10)
        steps = [(0.2, lambda: export(os.path.join(version_source, "2"), base, 2)),
                 (0.4, lambda: export(os.path.join(version_source, "3"), base, 3)),
                 (0.6, lambda: export(os.path.join(version_source, "1"), base, 4, corrupt=True))]
        rss_baseline = None
        load.start()
        while any(thread.is_alive() for thread in load.threads):
            done = load.done()
            if rss_baseline is None and done >= baseline_at:
                rss_baseline = rss_kib(server.process.pid)
            while steps and (done >= steps[0][0] * REQUESTS
                             or time.monotonic() - load.started >= steps[0][0] * SECONDS):
                steps.pop(0)[1]()
            time.sleep(0.02)
        load.join()
        rss_end = rss_kib(server.process.pid)
        for _, step in steps:  # a load that ended early still gets every export
            step()

        count = len(load.latencies)
        p50, p99 = np.percentile(load.latencies, [50, 99]) * 1000
        print("\nload: %d requests, %d failed, %.0f req/s, p50 %.1f ms, p99 %.1f ms; RSS after %d: %d KiB, "
              "after %d: %d KiB, ratio %.3f; versions served: %s"
              % (count, len(load.failures), count / load.elapsed, p50, p99, baseline_at, rss_baseline or 0,
                 count, rss_end, rss_end / float(rss_baseline or rss_end), sorted(load.biases)))
        assert load.failures == []
        assert count >= baseline_at and load.biases <= GOOD_BIASES

        entry = wait_for(lambda: states(rest).get(4, {}).get("state") == "END" and states(rest)[4],
                         what="broken version 4 to fail")
        assert entry["status"]["error_code"] != "OK" and entry["status"]["error_message"]
        wait_for(lambda: states(rest).get(3, {}).get("state") == "AVAILABLE", what="version 3")
        assert rest.post("/v1/models/m/versions/4:predict", {"instances": [ROW]})[0] == 404
        status, body = rest.post("/v1/models/m:predict", {"instances": [ROW]})
        assert status == 200 and bias_of(body["predictions"][0]) == 0.3
        assert rss_baseline is not None and abs(rss_end - rss_baseline) <= 0.1 * rss_baseline
