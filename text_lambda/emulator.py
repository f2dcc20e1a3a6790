"""The handler under the AWS Lambda Runtime Interface Emulator, on loopback, without Docker.

`aws-lambda-rie` (from the aws-sam-cli wheel; `make setup-lambda`) plays the
Lambda service: it starts `python -m awslambdaric text_lambda.handler.handler`
(the runtime interface client the Lambda Python image runs) on the first
invocation, and takes invocations over HTTP at
`/2015-03-31/functions/function/invocations`. Both of its addresses are
given, so nothing listens beyond 127.0.0.1 (its own default is every
interface). Used by the end-to-end test and bench/lambda_handler.py; standard
library only, so the Python 3.7 benchmarks import it too.

    python -m text_lambda.emulator --env BACKEND=onnx --env MODEL_NAME=m --env MODEL_DIR=... '{"texts": ["hi"]}'
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from typing import Any, Dict, Optional, Tuple

HANDLER = "text_lambda.handler.handler"
INVOKE_PATH = "/2015-03-31/functions/function/invocations"
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def find_rie() -> Optional[str]:
    """$LAMBDA_RIE, else `aws-lambda-rie` beside this Python (the venv's bin), else on PATH."""
    candidates = [os.environ.get("LAMBDA_RIE"), os.path.join(os.path.dirname(sys.executable), "aws-lambda-rie"),
                  shutil.which("aws-lambda-rie")]
    return next((path for path in candidates if path and os.access(path, os.X_OK)), None)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LambdaEmulator:
    """One emulated function: `start()`, `invoke(event)` as often as needed, `stop()` (also on `with`)."""

    def __init__(self, rie: str, python: str, environment: Dict[str, str], log_path: str, start_timeout: float = 60.0):
        self.rie = rie
        self.python = python
        self.environment = environment
        self.log_path = log_path
        self.start_timeout = start_timeout
        self.port = 0
        self.process = None  # type: Optional[subprocess.Popen]

    def start(self) -> "LambdaEmulator":
        self.port = _free_port()
        command = [self.rie, "--runtime-interface-emulator-address", "127.0.0.1:%d" % self.port,
                   "--runtime-api-address", "127.0.0.1:%d" % _free_port(), self.python, "-m", "awslambdaric", HANDLER]
        env = dict(os.environ, PYTHONUNBUFFERED="1", **self.environment)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [REPO, env.get("PYTHONPATH")]))
        with open(self.log_path, "ab") as log:
            # A session of its own: stop() can then make sure the runtime it started is gone too.
            self.process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        deadline = time.monotonic() + self.start_timeout
        while not self._listening():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("aws-lambda-rie did not listen on 127.0.0.1:%d:\n%s" % (self.port, self.log()))
            time.sleep(0.02)
        return self

    def _listening(self) -> bool:
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def invoke(self, event: Any, timeout: float = 300.0) -> Tuple[int, Any]:
        """(HTTP status, the function's JSON answer) for one invocation."""
        request = urllib.request.Request("http://127.0.0.1:%d%s" % (self.port, INVOKE_PATH),
                                         data=json.dumps(event).encode("utf-8"), method="POST")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                return answer.status, json.loads(answer.read().decode("utf-8"))
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read().decode("utf-8") or "null")

    def stop(self) -> None:
        """SIGTERM to the emulator (it kills its runtime), then SIGKILL to whatever of the session is left."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:  # nothing left: the usual case
            pass
        self.process = None

    def log(self) -> str:
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()[-3000:]
        except OSError:
            return ""

    def __enter__(self) -> "LambdaEmulator":
        return self.start()

    def __exit__(self, *exc_info: Any) -> None:
        self.stop()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Invoke the handler once under aws-lambda-rie (loopback only).")
    parser.add_argument("event", help="the event, as JSON")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE", help="the function's environment")
    parser.add_argument("--rie", default=find_rie(), help="the aws-lambda-rie binary (default: found by find_rie)")
    parser.add_argument("--log", default=None,
                        help="where the emulator and the handler log (default: a new file in the temporary directory)")
    args = parser.parse_args(argv)
    if not args.rie:
        parser.error("no aws-lambda-rie found: run `make setup-lambda` or pass --rie")
    environment = dict(item.split("=", 1) for item in args.env)
    if args.log is None:
        fd, args.log = tempfile.mkstemp(prefix="lambda-emulator-", suffix=".log")
        os.close(fd)
    print("%s: the emulator's log: %s" % (parser.prog, args.log), file=sys.stderr)
    with LambdaEmulator(args.rie, sys.executable, environment, args.log) as emulator:
        status, answer = emulator.invoke(json.loads(args.event))
    print(json.dumps(answer, indent=2, ensure_ascii=False))
    return 0 if status == 200 else 1


if __name__ == "__main__":
    sys.exit(main())
