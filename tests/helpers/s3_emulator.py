"""A local S3 emulator for object-store tests: moto's server on a loopback port it picks and reports."""

import contextlib
import re
import subprocess
import sys
import threading
from typing import Iterator

import requests

# What every test hands boto3 and TensorFlow's S3 file system (moto accepts any).
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1"}


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """host:port of a moto S3 server on 127.0.0.1, up until the block ends (this Python's moto)."""
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        universal_newlines=True,
    )
    log = []
    try:
        port = None
        for line in process.stdout:  # werkzeug reports the port it bound
            log.append(line)
            found = re.search(r"Running on http://127\.0\.0\.1:(\d+)", line)
            if found:
                port = int(found.group(1))
                break
        assert port, "moto server exited (%s) without reporting a port:\n%s" % (process.poll(), "".join(log))
        # Keep reading its access log, or the server blocks on a full pipe.
        drain = threading.Thread(target=log.extend, args=(process.stdout,), daemon=True)
        drain.start()
        endpoint = "127.0.0.1:%d" % port
        # Ready is a fact: the server answers a request.
        assert requests.get("http://%s/" % endpoint, timeout=30).status_code == 200
        yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
