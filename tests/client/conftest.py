"""Client test fixtures: a fake TF Serving behind MockTransport, no sockets."""

import types

import pytest

from client_fakes import FakeServing
from serving_client import MockTransport, Retry, ServingClient
from serving_client import _retry as retry_module

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


@pytest.fixture
def connect(tiny_vocab_file):
    """connect(fake, **options): a ServingClient on that fake, no retries; every one is closed after the test."""
    clients = []

    def connect(fake, **options):
        client = ServingClient(
            URL, fake.model, tiny_vocab_file, transport=MockTransport(fake.handler), retry=Retry(max_retries=0), **options)
        clients.append(client)
        return client

    yield connect
    for client in clients:
        client.close()


@pytest.fixture
def sleeps(monkeypatch):
    """Backoff waits of every RetryTransport, recorded instead of slept."""
    waited = []
    monkeypatch.setattr(retry_module, "time", types.SimpleNamespace(sleep=waited.append))
    return waited
