"""Processes that TensorFlow-free tests start on loopback: free ports, waiting on facts, stopping.

Used from the current-Python suites (the gateway, the serverless handler), which
drive the TF 1.15 venv (`BERT_PY37`) as child processes: the tiny export is
built there and the local model server runs there. Every process started here
binds 127.0.0.1 and is stopped by its owner.
"""

import contextlib
import json
import os
import signal
import socket
import subprocess
import time
from typing import Callable, List, Optional, Sequence

import requests

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
START_TIMEOUT = 240.0


def free_port() -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def raw_exchange(port: int, data: bytes) -> bytes:
    """Sends `data` as it is (a request asking to close) on a new loopback connection; everything answered."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(data)
        answer = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
    return answer


def wait_for(check: Callable, timeout: float, what: str, process: Optional[subprocess.Popen] = None, log_path: str = ""):
    """Polls `check()` until it returns a truthy value (an observable fact), or fails naming `what`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise AssertionError("%s: the process exited with %s\n%s" % (what, process.returncode, tail(log_path)))
        try:
            value = check()
        except (requests.RequestException, OSError):
            value = None
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("%s: not within %.0fs\n%s" % (what, timeout, tail(log_path)))


def tail(path: str) -> str:
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


def py37_interpreter() -> Optional[str]:
    """The TF 1.15 interpreter (`BERT_PY37`, default the repository's `.venv`), or None when absent."""
    path = os.environ.get("BERT_PY37") or os.path.join(REPO, ".venv", "bin", "python")
    return path if os.path.exists(path) else None


def child_environment(**extra: str) -> dict:
    """This environment with the repository first on PYTHONPATH (and `extra` variables)."""
    env = dict(os.environ, PYTHONUNBUFFERED="1", **extra)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [REPO, env.get("PYTHONPATH")]))
    return env


def build_tiny_export(py37: str, root: str, *args: str) -> dict:
    """tests/helpers/build_tiny_export.py under the TF 1.15 interpreter; its JSON summary."""
    result = subprocess.run(
        [py37, os.path.join(REPO, "tests", "helpers", "build_tiny_export.py"), root] + list(args),
        cwd=REPO, env=child_environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=900,
    )
    assert result.returncode == 0, result.stderr.decode("utf-8", "replace")[-3000:]
    return json.loads(result.stdout.decode("utf-8").strip().splitlines()[-1])


class ModelServer:
    """The local model server (TF 1.15 venv) on fixed free ports, restartable on the same ports."""

    def __init__(self, py37: str, export_base: str, log_dir: str, model: str, extra_args: Sequence[str] = ()):
        self.py37 = py37
        self.export_base = export_base
        self.model = model
        self.extra_args = list(extra_args)  # e.g. --enable_batching
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
                   "--model_name=%s" % self.model, "--model_base_path=%s" % self.export_base] + self.extra_args  # type: List[str]
        with open(self.log_path, "a") as log:
            self.process = subprocess.Popen(command, cwd=REPO, env=child_environment(), stdout=log, stderr=subprocess.STDOUT)
        wait_for(self._available, START_TIMEOUT, "model server", self.process, self.log_path)
        return self

    def _available(self) -> bool:
        body = requests.get("http://%s/v1/models/%s" % (self.rest_host, self.model), timeout=2).json()
        return any(v.get("state") == "AVAILABLE" for v in body.get("model_version_status", []))

    def stop(self) -> None:
        if self.process is not None:
            terminate(self.process)
        self.process = None
