"""The gateway's upstream connection pool holds every connection the backend uses at once.

The 1800 s gateway soak logged urllib3's "Connection pool is full, discarding connection ... pool size: 32"
12 times: --upstream_concurrency predicts plus the watcher's version check or metadata read were in
flight at once, and the pool, sized for the predicts only, dropped a connection each time.
"""

import logging
import os
import sys
import threading

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "client"))

from client_fakes import LocalServer  # noqa: E402  (tests/client)
from serving_client import Request  # noqa: E402

pytest.importorskip("starlette", reason="the gateway's packages are not installed (make setup-gateway)")

from text_gateway.app import make_transport  # noqa: E402
from text_gateway.settings import GatewaySettings  # noqa: E402


def test_predicts_and_the_watcher_in_flight_at_once_keep_their_connections(caplog):
    concurrency = 3
    with LocalServer(body={"outputs": []}, hold=True, hold_seconds=1.0) as server:
        settings = GatewaySettings(("m",), server.url.split("//", 1)[1], upstream_concurrency=concurrency)
        transport = make_transport(settings)
        urls = ["%s/v1/models/m/versions/1:predict" % server.url] * concurrency + ["%s/v1/models/m/metadata" % server.url]
        statuses = []

        def send(url):
            statuses.append(transport.send(Request("POST" if url.endswith(":predict") else "GET", url, {})).status_code)

        threads = [threading.Thread(target=send, args=(url,)) for url in urls]
        with caplog.at_level(logging.WARNING, logger="urllib3.connectionpool"):
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(30)
        transport.close()
    assert statuses == [200] * len(urls)
    assert len(server.requests) == len(urls)  # each held 1 s by the server: all in flight together
    assert not [r.getMessage() for r in caplog.records if "pool is full" in r.getMessage()]
