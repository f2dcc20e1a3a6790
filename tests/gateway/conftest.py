"""Gateway fixtures: a tiny export and the local model server from the TF 1.15 venv,
the gateway itself as a subprocess of this (TensorFlow-free) Python.

The export is built and served by `BERT_PY37` (default: the repo's `.venv`);
the tests skip when that interpreter is missing. Every process started here
binds 127.0.0.1 and is stopped at the end.
"""

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from typing import List, Optional

import pytest
import requests

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MODEL = "tiny"
START_TIMEOUT = 240.0


def free_port() -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(check, timeout: float, what: str, process: Optional[subprocess.Popen] = None, log_path: str = ""):
    """Polls `check()` until it returns a truthy value (an observable fact), or fails naming `what`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise AssertionError("%s: the process exited with %s\n%s" % (what, process.returncode, _tail(log_path)))
        try:
            value = check()
        except requests.RequestException:
            value = None
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("%s: not within %.0fs\n%s" % (what, timeout, _tail(log_path)))


def _tail(path: str) -> str:
    if not path or not os.path.exists(path):
        return ""
    with open(path, errors="replace") as f:
        return f.read()[-3000:]


def terminate(process: subprocess.Popen) -> int:
    """SIGTERM, then SIGKILL after 30 s; returns the exit code."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


def _environment() -> dict:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [REPO, env.get("PYTHONPATH")]))
    return env


@pytest.fixture(scope="session")
def py37() -> str:
    path = os.environ.get("BERT_PY37") or os.path.join(REPO, ".venv", "bin", "python")
    if not os.path.exists(path):
        pytest.skip("no TF 1.15 interpreter at %s (set BERT_PY37) to build and serve the tiny export" % path)
    return path


@pytest.fixture(scope="session")
def tiny_export(py37, tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("gateway_export")
    result = subprocess.run(
        [py37, os.path.join(REPO, "tests", "helpers", "build_tiny_export.py"), str(root)],
        cwd=REPO, env=_environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=900,
    )
    assert result.returncode == 0, result.stderr.decode("utf-8", "replace")[-3000:]
    return json.loads(result.stdout.decode("utf-8").strip().splitlines()[-1])


class ModelServer:
    """The local model server (TF 1.15 venv) on fixed free ports, restartable on the same ports."""

    def __init__(self, py37: str, export_base: str, log_dir: str):
        self.py37 = py37
        self.export_base = export_base
        self.rest_port = free_port()
        self.grpc_port = free_port()
        self.log_path = os.path.join(log_dir, "model_server.log")
        self.process = None  # type: Optional[subprocess.Popen]

    @property
    def rest_host(self) -> str:
        return "127.0.0.1:%d" % self.rest_port

    @property
    def grpc_host(self) -> str:
        return "127.0.0.1:%d" % self.grpc_port

    def start(self) -> "ModelServer":
        command = [self.py37, "-m", "model_server", "--port=%d" % self.grpc_port, "--rest_api_port=%d" % self.rest_port,
                   "--model_name=%s" % MODEL, "--model_base_path=%s" % self.export_base]
        with open(self.log_path, "a") as log:
            self.process = subprocess.Popen(command, cwd=REPO, env=_environment(), stdout=log, stderr=subprocess.STDOUT)
        wait_for(self._available, START_TIMEOUT, "model server", self.process, self.log_path)
        return self

    def _available(self) -> bool:
        body = requests.get("http://%s/v1/models/%s" % (self.rest_host, MODEL), timeout=2).json()
        return any(v.get("state") == "AVAILABLE" for v in body.get("model_version_status", []))

    def stop(self) -> None:
        if self.process is not None:
            terminate(self.process)
        self.process = None


@pytest.fixture(scope="session")
def model_server(py37, tiny_export, tmp_path_factory):
    server = ModelServer(py37, tiny_export["export_base"], str(tmp_path_factory.mktemp("model_server_log")))
    server.start()
    yield server
    server.stop()


class Gateway:
    """`python -m text_gateway` under this interpreter, on a free loopback port."""

    def __init__(self, args: List[str], log_dir: str):
        self.port = free_port()
        self.log_path = os.path.join(log_dir, "gateway-%d.log" % self.port)
        command = [sys.executable, "-m", "text_gateway", "--http_port=%d" % self.port] + list(args)
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(command, cwd=REPO, env=_environment(), stdout=log, stderr=subprocess.STDOUT)

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

    def wait_ready(self, ready: bool = True, timeout: float = 60) -> "Gateway":
        wait_for(lambda: self.get("/v1/models/%s" % MODEL, timeout=5).json()["ready"] is ready, timeout,
                 "gateway model ready=%s" % ready, self.process, self.log_path)
        return self

    def log(self) -> str:
        return _tail(self.log_path)

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
