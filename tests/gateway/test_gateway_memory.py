"""The gateway gives the memory of large bodies back: glibc's thresholds pinned while it serves, a trim after
each request whose body passed LARGE_BODY_BYTES (also one refused for its size), none after small ones.

bench/soak.py --gateway found the gateway's RSS 46 -> 74 MiB after 1 MB texts, every object freed. The app
runs here in-process (a hand-made ASGI request, glibc's calls recorded), its upstream a closed port: the
model is not ready, so a predict is answered 503 after its body was read and parsed.
"""

import asyncio
import json
import threading
import time

import pytest

pytest.importorskip("starlette", reason="the gateway's packages are not installed (make setup-gateway)")

import heap_release  # noqa: E402
from text_gateway import app as gateway_app  # noqa: E402
from text_gateway.settings import parse_settings  # noqa: E402


async def post(app, chunks):
    """POST each of `chunks` as one piece of a chunked body; the answer's status."""
    path = "/v1/models/m:predict"
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"content-type", b"application/json")], "client": ("127.0.0.1", 9),
             "server": ("127.0.0.1", 80)}
    messages = [{"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1}
                for i, chunk in enumerate(chunks)]
    statuses = []

    async def receive():
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message):
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    await app(scope, receive, send)
    return statuses[0]


def test_large_bodies_are_trimmed_after_and_the_thresholds_pinned_while_serving(monkeypatch):
    trims, options = [], []
    trimmed = threading.Event()
    monkeypatch.setattr(heap_release, "_TRIM", lambda pad: trims.append(pad) or trimmed.set())
    monkeypatch.setattr(heap_release, "_mallopt", lambda option, value: options.append((option, value)))
    app = gateway_app.create_app(parse_settings(["--model_name=m", "--predictor_host=127.0.0.1:1"]))
    gateway = app.state.gateway
    small = json.dumps({"instances": ["good food"] * 100}).encode()
    large = json.dumps({"instances": ["good food " * 30000]}).encode()  # 300 KB, one text
    assert len(small) < gateway_app.LARGE_BODY_BYTES < len(large) < gateway.settings.max_body_bytes

    async def serve():
        async with gateway.lifespan(app):
            assert options == [(heap_release._M_MMAP_THRESHOLD, gateway_app.MMAP_THRESHOLD),
                               (heap_release._M_TRIM_THRESHOLD, gateway_app.TRIM_THRESHOLD)]
            assert await post(app, [small]) == 503
            # A trim is asked for (synchronously) before the answer goes out: a small body asked for none.
            assert not gateway.trimmer._dirty and not gateway.trimmer._running and trims == []
            assert await post(app, [large[:100000], large[100000:]]) == 503
            assert await asyncio.get_running_loop().run_in_executor(None, trimmed.wait, 10)
            trimmed.clear()
            # Over --max_body_bytes, without Content-Length: refused after 1 MiB was read, and trimmed too.
            assert await post(app, [b'{"instances": ["' + b"a" * 65536] + [b"a" * 65536] * 32) == 413
            assert await asyncio.get_running_loop().run_in_executor(None, trimmed.wait, 10)

    asyncio.run(serve())
    deadline = time.monotonic() + 10
    while gateway.trimmer._running and time.monotonic() < deadline:
        time.sleep(0.01)
    assert gateway.trimmer.trims == len(trims) == 2
