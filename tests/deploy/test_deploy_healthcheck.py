"""deploy/docker/tfs_healthcheck.sh, the serving image's HEALTHCHECK, against fake status servers.

The script is what Docker (and anyone running the image outside Kubernetes) uses to decide
whether the model server is up; it must say healthy only when the model has an AVAILABLE
version, and never hang.
"""

import json
import os
import socket
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from deploy_files import repo_path

SCRIPT = repo_path("deploy", "docker", "tfs_healthcheck.sh")
MODEL = "bert_classifier"


def status_body(*states):
    """A TF Serving status answer, versions highest first, pretty-printed as TF Serving does."""
    versions = [{"version": str(1700000000 + i), "state": state,
                 "status": {"error_code": "OK", "error_message": ""}}
                for i, state in reversed(list(enumerate(states)))]
    return json.dumps({"model_version_status": versions}, indent=1)


def serve(answer):
    """An HTTP server on a free loopback port; answer(path) -> (code, body)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            code, body = answer(self.path)
            data = body.encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return server, thread


@pytest.fixture
def status_server():
    """Starts fake status servers for a test and stops every one of them afterwards."""
    started = []

    def start(answer):
        server, thread = serve(answer)
        started.append((server, thread))
        return server.server_address[1]

    try:
        yield start
    finally:
        for server, thread in started:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)


def run_check(port, *args, timeout="2"):
    env = dict(os.environ, TFS_HEALTHCHECK_TIMEOUT=timeout, MODEL_NAME=MODEL)
    return subprocess.run(["bash", SCRIPT] + list(args or [MODEL, str(port)]), env=env,
                          capture_output=True, text=True, timeout=30)


def model_status(*states):
    def answer(path):
        if path == "/v1/models/" + MODEL:
            return 200, status_body(*states)
        return 404, json.dumps({"error": "Could not find any versions of model x"})
    return answer


@pytest.mark.parametrize("states", [("AVAILABLE",), ("END", "AVAILABLE"), ("AVAILABLE", "LOADING")])
def test_healthy_when_a_version_is_available(status_server, states):
    result = run_check(status_server(model_status(*states)))
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("states", [("LOADING",), ("END",), ("START", "UNLOADING")])
def test_unhealthy_without_an_available_version(status_server, states):
    result = run_check(status_server(model_status(*states)))
    assert result.returncode == 1
    assert "no AVAILABLE version" in result.stderr


def test_unhealthy_for_an_unknown_model(status_server):
    port = status_server(model_status("AVAILABLE"))
    result = run_check(port, "other_model", str(port))
    assert result.returncode == 1
    assert "404" in result.stderr


def test_model_name_and_port_default_to_the_environment(status_server):
    port = status_server(model_status("AVAILABLE"))
    env = dict(os.environ, MODEL_NAME=MODEL, TFS_REST_PORT=str(port))
    result = subprocess.run(["bash", SCRIPT], env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unhealthy_when_nothing_listens():
    result = run_check(free_port())
    assert result.returncode == 1
    assert "no answer" in result.stderr


def test_a_server_that_never_answers_does_not_hang_the_check():
    listener = socket.socket()
    try:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)  # accepts connections (kernel backlog) but never replies
        result = run_check(listener.getsockname()[1], timeout="1")
    finally:
        listener.close()
    assert result.returncode == 1
