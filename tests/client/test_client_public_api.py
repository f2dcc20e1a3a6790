"""The public surface of `serving_client`, and that REST use never imports TF or grpc."""

import os
import subprocess
import sys

import serving_client
from serving_client import _errors

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

PUBLIC = [
    "ConnectError",
    "ConnectionLost",
    "EntitySpan",
    "FailedPrediction",
    "HTTPTransport",
    "InputError",
    "LabelSet",
    "MockTransport",
    "ModelMismatchError",
    "Prediction",
    "ProtocolError",
    "ReadTimeout",
    "Request",
    "Response",
    "Retry",
    "RetryTransport",
    "ServerError",
    "ServingClient",
    "ServingClientError",
    "TaggedText",
    "Transport",
    "TransportError",
]


def test_public_names_are_pinned():
    assert sorted(serving_client.__all__) == PUBLIC
    for name in PUBLIC:
        # EntitySpan is the shared decoder's (tagging.decode), re-exported; results are their decoders'.
        assert getattr(serving_client, name).__module__.startswith(("serving_client._", "serving_client.decoders.", "tagging."))


def test_exception_hierarchy_matches_its_documented_tree():
    s = serving_client
    assert issubclass(s.TransportError, s.ServingClientError)
    assert issubclass(s.ConnectError, s.TransportError)
    assert issubclass(s.ReadTimeout, s.TransportError)
    assert s.ConnectionLost.__bases__ == (s.TransportError,)
    for name in ("ServerError", "ProtocolError", "ModelMismatchError", "InputError"):
        assert getattr(s, name).__bases__ == (s.ServingClientError,)
    for name in PUBLIC:
        if name.endswith("Error") or name in ("ReadTimeout", "ConnectionLost"):
            assert name in _errors.__doc__


def test_rest_client_imports_neither_tensorflow_nor_grpc(tiny_vocab_file):
    code = r"""
import sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
from client_fakes import FakeServing
from serving_client import MockTransport, ServingClient, HTTPTransport
from serving_client import cli  # noqa: F401
fake = FakeServing(sys.argv[3])
client = ServingClient("http://serving", "sms", sys.argv[3], transport=MockTransport(fake.handler))
assert client.predict("good").label == "spam"
HTTPTransport().close()
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "grpc", "tensorflow_serving", "numpy"))
assert not loaded, loaded
"""
    here = os.path.dirname(os.path.abspath(__file__))
    env = dict(os.environ, PYTHONPATH=REPO)
    result = subprocess.run(
        [sys.executable, "-c", code, here, REPO, tiny_vocab_file],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, env=env, timeout=60,
    )
    assert result.returncode == 0, result.stderr
