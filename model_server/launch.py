"""Start "the model server": the real `tensorflow_model_server` when it is on PATH,
this local server otherwise, with the same arguments.

    python -m model_server.launch --port=8500 --rest_api_port=8501 \
        --model_name=sms_spam --model_base_path=/abs/exports/sms_spam

MODEL_SERVER_BIN overrides the choice: a path/command name, or "local".
The process is replaced (exec), so signals reach the server directly.

From Python (scripts, benchmarks, tests), `running_server(args)` starts one on
ports nobody else holds and returns once it serves (every model AVAILABLE):

    with running_server(["--model_name=m", "--model_base_path=/abs/m"]) as server:
        requests.get(server.rest_url + "/v1/models/m")
"""

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

TFS_BINARY = "tensorflow_model_server"


def server_command(binary=None):
    """argv prefix of the server to run (see module docstring for the choice)."""
    choice = binary or os.environ.get("MODEL_SERVER_BIN", "")
    if choice == "local":
        return [sys.executable, "-m", "model_server"]
    if choice:
        return [choice]
    found = shutil.which(TFS_BINARY)
    return [found] if found else [sys.executable, "-m", "model_server"]


def is_local(command):
    """True for this package's server, which can bind `auto` ports and write --port_file."""
    return command[1:] == ["-m", "model_server"]


def free_port():
    """A TCP port free on 127.0.0.1 right now: only for servers that cannot bind `auto`
    (tensorflow_model_server); another process may take it before the server binds it."""
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _accepts_connections(port):
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class ServerProcess(object):
    """A server subprocess; its stdout and stderr go to `log_path`.

    The ports are known once `wait_serving()` returned: the local server binds
    `auto` ports and reports them in its --port_file; for tensorflow_model_server
    they were picked before the start.
    """

    def __init__(self, process, log_path, port_file=None, grpc_port=None, rest_port=None):
        self.process = process
        self.log_path = log_path
        self.port_file = port_file
        self.grpc_port = grpc_port
        self.rest_port = rest_port

    @property
    def rest_url(self):
        return "http://127.0.0.1:%d" % self.rest_port

    @property
    def grpc_target(self):
        return "127.0.0.1:%d" % self.grpc_port

    def log(self):
        with open(self.log_path, "r", errors="replace") as f:
            return f.read()

    def serving(self):
        """True once the server serves: its port file exists (local) or its last port opened."""
        if self.port_file is not None:
            try:
                with open(self.port_file) as f:
                    ports = json.load(f)
            except (OSError, ValueError):
                return False
            self.grpc_port, self.rest_port = ports["grpc_port"], ports["rest_api_port"]
            return True
        return _accepts_connections(self.rest_port or self.grpc_port)

    def wait_serving(self, timeout=60.0):
        """Returns self once every model is AVAILABLE and the ports are open (both servers open
        them only then); raises RuntimeError with the log's tail if the server exits or times out."""
        deadline = time.monotonic() + timeout
        while not self.serving():
            if self.process.poll() is not None:
                raise RuntimeError("model server exited with %s before serving:\n%s"
                                   % (self.process.returncode, self.log()[-4000:]))
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("model server not serving after %.0f s:\n%s" % (timeout, self.log()[-4000:]))
            time.sleep(0.05)
        return self

    def stop(self, sig=signal.SIGTERM, timeout=30.0):
        """Signals the server and waits; kills it if it does not stop in time. Returns the exit code."""
        return terminate(self.process, sig, timeout)


def terminate(process, sig=signal.SIGTERM, timeout=30.0):
    """Signals a child process and waits; kills it if it does not stop in time. Returns the exit code."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


def start_server(args, binary=None, log_dir=None, env=None, rest=True):
    """Starts a server with `args` plus its port flags (loopback); does not wait.

    The local server gets --port=auto, --rest_api_port=auto (0 = off without
    `rest`) and a --port_file beside its log; other binaries get free ports.
    """
    command = server_command(binary)
    handle, log_path = tempfile.mkstemp(prefix="model_server-", suffix=".log", dir=log_dir)
    port_file = grpc_port = rest_port = None
    if is_local(command):
        port_file = log_path[: -len(".log")] + ".ports.json"
        ports = ["--port=auto", "--rest_api_port=%s" % ("auto" if rest else 0), "--port_file=" + port_file]
    else:
        grpc_port, rest_port = free_port(), (free_port() if rest else 0)
        ports = ["--port=%d" % grpc_port, "--rest_api_port=%d" % rest_port]
    environment = dict(os.environ, **(env or {}))
    environment.setdefault("PYTHONUNBUFFERED", "1")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [root, environment.get("PYTHONPATH")]))
    process = subprocess.Popen(command + ports + list(args), stdout=handle, stderr=subprocess.STDOUT, env=environment)
    os.close(handle)
    return ServerProcess(process, log_path, port_file, grpc_port, rest_port)


@contextlib.contextmanager
def running_server(args, binary=None, timeout=60.0, keep_log=False, **kwargs):
    """start_server() + wait_serving() as a context manager that always stops the process.

    The log file is removed after a block that ends normally (unless keep_log)
    and kept, its path in the error, when the start or the block fails.
    """
    server = start_server(args, binary=binary, **kwargs)
    try:
        yield server.wait_serving(timeout)
    except BaseException:
        server.stop()
        raise
    server.stop()
    if not keep_log:
        with contextlib.suppress(OSError):
            os.remove(server.log_path)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    command = server_command() + list(argv)
    print("starting model server: %s" % " ".join(command), file=sys.stderr)
    sys.stderr.flush()
    os.execvp(command[0], command)


if __name__ == "__main__":
    main()
