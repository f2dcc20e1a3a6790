"""The gateway's model backend through a hot swap upstream (against a fake TF Serving): it keeps answering.

bench/soak.py --gateway found legit requests answered 503 "not ready: loading version N" at every swap:
the backend went not ready while it read the new version's metadata, although the old version answered.
"""

import asyncio
import os
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "client"))

from client_fakes import FakeServing  # noqa: E402  (tests/client)
from serving_client import MockTransport  # noqa: E402
from text_api.payload import Parameters  # noqa: E402

pytest.importorskip("prometheus_client", reason="the gateway's packages are not installed (make setup-gateway)")

from text_gateway.metrics import GatewayMetrics  # noqa: E402
from text_gateway.settings import GatewaySettings  # noqa: E402
from text_gateway.upstream import ModelBackend  # noqa: E402


def run_against(fake, scenario):
    """`scenario(backend, loop)`'s result: a coroutine run with the gateway's backend of model "sms" in front of `fake`."""
    settings = GatewaySettings(("sms",), "serving", refresh_seconds=60)
    with ThreadPoolExecutor(4) as executor:
        loop = asyncio.new_event_loop()
        backend = ModelBackend("sms", settings, MockTransport(fake.handler), executor, asyncio.Semaphore(4),
                               GatewayMetrics())
        try:
            return loop.run_until_complete(scenario(backend, loop)), backend.status()
        finally:
            loop.close()
            backend.close()


def test_a_new_upstream_version_loads_while_the_old_one_keeps_answering(tiny_vocab_file):
    fake = FakeServing(tiny_vocab_file, with_vocab=True, version=7)
    seen_while_loading = []

    async def swap(backend, loop):
        admitted = []

        def while_loading(request):
            reading = request.method == "GET" or request.json.get("signature_name") in ("metadata", "vocab")
            if reading and "/versions/8" in request.url:  # the backend is reading version 8's metadata or vocab
                seen_while_loading.append(backend.status())
                # A request arriving now: admitted, and answered once the new version is loaded.
                admitted.append(asyncio.run_coroutine_threadsafe(backend.predict([("good movie", None)], Parameters()), loop))
            return None

        await backend.refresh()
        assert backend.status()["ready"] and backend.status()["version"] == 7
        fake.version = 8  # upstream swapped: version 7 is gone (404), 8 answers
        fake.before = while_loading
        await backend.refresh()
        return [await asyncio.wait_for(asyncio.wrap_future(future), 10) for future in admitted]

    answers, status = run_against(fake, swap)
    assert seen_while_loading and all(s["ready"] and s["version"] == 7 for s in seen_while_loading)
    assert answers and all(a[0]["label"] in ("ham", "spam") for a in answers)
    assert status["ready"] and status["version"] == 8


def test_a_version_check_lost_once_is_resent_and_the_model_stays_ready(tiny_vocab_file):
    """The watcher's GET .../metadata over a pooled connection can meet the upstream's keep-alive close too;
    one such loss must not make the model not ready (every request a 503 until the next check)."""
    from serving_client import ConnectionLost

    fake = FakeServing(tiny_vocab_file, with_vocab=True, version=7)
    lost = []

    def lose_the_first_check(request):
        if request.method == "GET" and request.url.endswith("/v1/models/sms/metadata") and not lost:
            lost.append(request.url)
            raise ConnectionLost("the connection to %s broke after the request was sent" % request.url, request)
        return None

    async def two_checks(backend, loop):
        await backend.refresh()
        fake.before = lose_the_first_check
        await backend.refresh()
        return backend.status(), await backend.predict([("good movie", None)], Parameters())

    (status, answer), _ = run_against(fake, two_checks)
    assert lost, "the fake did not lose a version check"
    assert status["ready"] and status["version"] == 7, status
    assert answer[0]["label"] in ("ham", "spam")
