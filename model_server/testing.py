"""Start a model server subprocess on free loopback ports and wait until it serves.

For tests and scripts (server, client and end-to-end tests share it):

    with running_server(["--model_name=m", "--model_base_path=/abs/m"]) as server:
        requests.get(server.rest_url + "/v1/models/m")

`binary` picks the implementation: None/"local" = this package's server,
or a command such as "tensorflow_model_server" (see model_server.launch).
"""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

from model_server.launch import server_command

# Where start_server() writes server logs when no log_dir is given (None: the
# system temp dir). Test suites point it at their own temporary directory.
LOG_DIR = None


def free_port():
    """A TCP port free on 127.0.0.1 right now."""
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _listening(port):
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class ServerProcess(object):
    """A running server subprocess; its stderr/stdout go to `log_path`."""

    def __init__(self, process, grpc_port, rest_port, log_path):
        self.process = process
        self.grpc_port = grpc_port
        self.rest_port = rest_port
        self.log_path = log_path

    @property
    def rest_url(self):
        return "http://127.0.0.1:%d" % self.rest_port

    @property
    def grpc_target(self):
        return "127.0.0.1:%d" % self.grpc_port

    def log(self):
        with open(self.log_path, "r", errors="replace") as f:
            return f.read()

    def wait_ready(self, timeout=60.0):
        """Wait until the last port the server opens (REST, else gRPC) accepts connections."""
        port = self.rest_port or self.grpc_port
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("model server exited with %s before serving:\n%s"
                                   % (self.process.returncode, self.log()[-4000:]))
            if _listening(port):
                return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("model server not ready after %.0f s:\n%s" % (timeout, self.log()[-4000:]))

    def stop(self, sig=signal.SIGTERM, timeout=30.0):
        """Signal the server and wait; kills it if it does not stop in time. Returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def start_server(args, binary=None, rest=True, wait=True, timeout=60.0, env=None, log_dir=None):
    """Start a server with `args` plus --port/--rest_api_port on free loopback ports."""
    grpc_port = free_port()
    rest_port = free_port() if rest else 0
    command = server_command(binary) + ["--port=%d" % grpc_port, "--rest_api_port=%d" % rest_port] + list(args)
    handle, log_path = tempfile.mkstemp(prefix="model_server-", suffix=".log", dir=log_dir or LOG_DIR)
    environment = dict(os.environ, **(env or {}))
    environment.setdefault("PYTHONUNBUFFERED", "1")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [root, environment.get("PYTHONPATH")]))
    process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, env=environment)
    os.close(handle)
    server = ServerProcess(process, grpc_port, rest_port, log_path)
    if wait:
        server.wait_ready(timeout)
    return server


@contextlib.contextmanager
def running_server(args, **kwargs):
    """start_server() as a context manager that always stops the process.

    The server's log file is removed after a block that ends normally and kept
    (its path is server.log_path) when the block raises.
    """
    server = start_server(args, wait=False, **{k: v for k, v in kwargs.items() if k != "wait"})
    try:
        if kwargs.get("wait", True):
            server.wait_ready(kwargs.get("timeout", 60.0))
        yield server
    except BaseException:
        server.stop()
        raise
    server.stop()
    with contextlib.suppress(OSError):
        os.remove(server.log_path)


if __name__ == "__main__":  # python -m model_server.testing --model_name=... : start, print ports, wait
    srv = start_server(sys.argv[1:])
    print("REST %s  gRPC %s  log %s" % (srv.rest_url, srv.grpc_target, srv.log_path))
    try:
        srv.process.wait()
    except KeyboardInterrupt:
        srv.stop()
