"""Gateway fixtures: the gateway itself as a subprocess of this (TensorFlow-free) Python,
in front of the tiny export and local model server of tests/conftest.py (`model_server`).
Every process started here binds 127.0.0.1 and is stopped at the end.
"""

import os
import subprocess
import sys
from typing import List

import pytest
import requests

from loopback import REPO, child_environment, free_port, tail, terminate, wait_for  # tests/helpers

MODEL = "tiny"  # the model name tests/conftest.py's model server serves


class Gateway:
    """`python -m text_gateway` under this interpreter, on a free loopback port."""

    def __init__(self, args: List[str], log_dir: str):
        self.port = free_port()
        self.log_path = os.path.join(log_dir, "gateway-%d.log" % self.port)
        command = [sys.executable, "-m", "text_gateway", "--http_port=%d" % self.port] + list(args)
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(command, cwd=REPO, env=child_environment(), stdout=log, stderr=subprocess.STDOUT)

    @property
    def url(self) -> str:
        return "http://127.0.0.1:%d" % self.port

    def get(self, path: str, **kwargs) -> requests.Response:
        return requests.get(self.url + path, timeout=kwargs.pop("timeout", 30), **kwargs)

    def post(self, path: str, **kwargs) -> requests.Response:
        return requests.post(self.url + path, timeout=kwargs.pop("timeout", 30), **kwargs)

    def wait_live(self) -> "Gateway":
        wait_for(lambda: self.get("/healthz", timeout=2).status_code == 200, 60, "gateway liveness", self.process, self.log_path)
        return self

    def wait_ready(self, ready: bool = True, timeout: float = 60, model: str = MODEL) -> "Gateway":
        wait_for(lambda: self.get("/v1/models/%s" % model, timeout=5).json()["ready"] is ready, timeout,
                 "gateway model %s ready=%s" % (model, ready), self.process, self.log_path)
        return self

    def log(self) -> str:
        return tail(self.log_path)

    def stop(self) -> int:
        """SIGTERM, as Kubernetes sends it; returns the exit code."""
        return terminate(self.process)


@pytest.fixture
def start_gateway(tmp_path):
    """start_gateway(args) -> a live Gateway; every one is stopped after the test."""
    started = []

    def start(args: List[str]) -> Gateway:
        gateway = Gateway(args, str(tmp_path))
        started.append(gateway)
        return gateway.wait_live()

    yield start
    for gateway in started:
        gateway.stop()
