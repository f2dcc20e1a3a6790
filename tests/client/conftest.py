"""Client test fixtures: a fake TF Serving behind MockTransport, no sockets."""

import pytest

from client_fakes import FakeServing
from serving_client import MockTransport, Retry, ServingClient

URL = "http://serving"


@pytest.fixture
def fake(tiny_vocab_file):
    return FakeServing(tiny_vocab_file)


@pytest.fixture
def make_client(fake, tiny_vocab_file):
    """ServingClient(**overrides) wired to `fake`; retries sleep for no time."""
    clients = []

    def make(**overrides):
        options = dict(
            url=URL,
            model=fake.model,
            vocab_file=tiny_vocab_file,
            transport=MockTransport(fake.handler),
            retry=Retry(max_retries=2, backoff_factor=0.0),
        )
        options.update(overrides)
        client = ServingClient(**options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
