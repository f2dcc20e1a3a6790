"""The optional bearer-token check of the text API, on the Lambda handler (the gateway's: tests/gateway)."""

import json
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "client"))

from client_fakes import FakeServing  # noqa: E402  (tests/client)
from serving_client import MockTransport  # noqa: E402
from text_api.auth import BearerAuth, load_auth  # noqa: E402
from text_api.errors import ConfigurationError  # noqa: E402
from text_lambda.handler import ClientBackend, handle  # noqa: E402

from lambda_events import v1_event, v2_event  # noqa: E402  (tests/serverless)

TOKEN = "s3cret-token"


@pytest.fixture
def backend(tiny_vocab_file):
    fake = FakeServing(tiny_vocab_file, with_vocab=True)
    return ClientBackend("http://serving", fake.model, transport=MockTransport(fake.handler))


def with_token(event, value, header="authorization"):
    return dict(event, headers=dict(event.get("headers") or {}, **{header: value}))


def test_without_a_token_set_nothing_is_checked(backend):
    assert handle(backend, v2_event("GET", "/v1/models/sms"), BearerAuth(None))["statusCode"] == 200


def test_api_routes_need_the_token_and_probes_stay_open(backend):
    auth = BearerAuth(TOKEN)
    predict = v2_event("POST", "/v1/models/sms:predict", {"instances": ["good"]})
    missing = handle(backend, predict, auth)
    assert missing["statusCode"] == 401 and missing["headers"]["WWW-Authenticate"] == 'Bearer realm="text-api"'
    assert "Authorization: Bearer <token>" in json.loads(missing["body"])["error"]
    wrong = handle(backend, with_token(predict, "Bearer nope"), auth)
    assert wrong["statusCode"] == 401 and 'error="invalid_token"' in wrong["headers"]["WWW-Authenticate"]
    assert handle(backend, with_token(predict, "Basic " + TOKEN), auth)["statusCode"] == 401
    assert handle(backend, with_token(predict, "Bearer " + TOKEN), auth)["statusCode"] == 200
    # REST API events keep the client's header case.
    assert handle(backend, with_token(v1_event("GET", "/v1/models"), "bearer " + TOKEN, "Authorization"), auth)["statusCode"] == 200
    assert handle(backend, v1_event("GET", "/v1/models/other"), auth)["statusCode"] == 401  # before the model lookup
    for path in ("/", "/healthz", "/readyz"):
        assert handle(backend, v2_event("GET", path), auth)["statusCode"] == 200, path
    # A direct invocation is already its caller's IAM permission to invoke the function.
    assert handle(backend, {"texts": ["good"]}, auth)["predictions"][0]["label"] == "spam"


def test_the_token_comes_from_a_file_or_the_environment(tmp_path):
    path = tmp_path / "token"
    path.write_text(TOKEN + "\n")
    assert load_auth(str(path), {}).token == TOKEN.encode()
    assert load_auth(None, {"TEXT_API_TOKEN_FILE": str(path), "TEXT_API_TOKEN": "other"}).token == TOKEN.encode()
    assert load_auth(None, {"TEXT_API_TOKEN": "other"}).token == b"other"
    assert not load_auth(None, {}).enabled
    path.write_text("\n")
    with pytest.raises(ConfigurationError, match="the API token file .*token is empty"):
        load_auth(str(path), {})
    with pytest.raises(ConfigurationError, match="cannot be read: No such file"):
        load_auth(str(tmp_path / "nowhere"), {})
