"""The Lambda handler on fixture events (payload v2, v1, direct, base64), against a fake TF Serving."""

import json
import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "client"))

from client_fakes import FakeServing  # noqa: E402  (tests/client)
from serving_client import ConnectError, ConnectionLost, MockTransport  # noqa: E402
from text_lambda.handler import ClientBackend, handle  # noqa: E402

from lambda_events import v1_event, v2_event  # noqa: E402  (tests/serverless)


@pytest.fixture
def fake(tiny_vocab_file):
    return FakeServing(tiny_vocab_file, with_vocab=True)


@pytest.fixture
def backend(fake):
    return ClientBackend("http://serving", fake.model, transport=MockTransport(fake.handler))


def records(answer):
    assert answer["statusCode"] == 200, answer
    assert answer["headers"]["Content-Type"] == "application/json"
    return json.loads(answer["body"])


@pytest.mark.parametrize("make_event", [v2_event, v1_event])
@pytest.mark.parametrize("base64_body", [False, True])
def test_http_events_answer_like_the_gateway(backend, make_event, base64_body):
    body = {"instances": ["good movie", {"text": "is it good", "text_pair": "yes"}], "parameters": {"top_k": 1}}
    document = records(handle(backend, make_event("POST", "/v1/models/sms:predict", body, base64_body)))
    first, second = document["predictions"]
    assert first["label"] == "spam" and list(first["scores"]) == ["spam"] and first["truncated"] is False
    assert first["score"] == pytest.approx(0.8)  # the fake's score for 4 tokens: 4/5
    assert second["score"] == pytest.approx(7 / 8.0)  # [CLS] is it good [SEP] yes [SEP]


def test_direct_invocation_and_the_single_text_route(backend):
    direct = handle(backend, {"texts": ["good movie", "bad"], "parameters": {"threshold": 0.99}})
    assert [p["label"] for p in direct["predictions"]] == [None, None]
    single = records(handle(backend, v2_event("POST", "/predict", {"text": "good movie"})))
    assert single["label"] == "spam" and set(single["scores"]) == {"ham", "spam"}
    status = records(handle(backend, v1_event("GET", "/v1/models/sms")))
    assert status == {"name": "sms", "ready": True, "version": 7, "task": "sequence_classification",
                      "labels": ["ham", "spam"]}


@pytest.mark.parametrize("event, status, message", [
    (v2_event("POST", "/v1/models/sms:predict", {"instances": "x"}), 400, '"instances" must be a list'),
    (dict(v2_event("POST", "/predict"), body="{"), 400, "not valid JSON"),
    (dict(v2_event("POST", "/predict"), body="[" * 100000), 400, "nested too deeply"),
    (dict(v1_event("POST", "/predict"), body="%%%", isBase64Encoded=True), 400, "not valid base64"),
    (v2_event("POST", "/v1/models/other:predict", {"instances": ["a"]}), 404, "model 'other' is not served here"),
    (v2_event("DELETE", "/v1/models/sms"), 405, "method DELETE is not allowed on /v1/models/sms; use GET"),
    (v2_event("GET", "/v1/models/sms:predict"), 405, "method GET is not allowed on /v1/models/sms:predict; use POST"),
    (v1_event("GET", "/predict"), 405, "use POST"),
    (v2_event("GET", "/v2/anything"), 404, "no route GET /v2/anything"),
    (v2_event("GET", "/metrics"), 404, "no route GET /metrics"),  # the gateway's page only
])
def test_bad_http_events_get_json_errors(backend, event, status, message):
    answer = handle(backend, event)
    assert answer["statusCode"] == status and message in json.loads(answer["body"])["error"]
    if status == 405:
        assert answer["headers"]["Allow"] in ("GET", "POST")


def test_bad_direct_events_get_errors_with_their_status(backend):
    assert handle(backend, {"texts": []}) == {"error": '"texts" must be a non-empty list of strings', "status": 400}
    assert handle(backend, {"texts": ["a"], "text_pairs": ["b", "c"]})["status"] == 400
    assert handle(backend, {"texts": ["a"] * 300})["status"] == 413
    # Not an object at all: still a direct invocation's answer, as documented.
    assert handle(backend, ["not", "an", "object"]) == {"error": 'expected a JSON object with "texts", got a list',
                                                        "status": 400}
    assert handle(backend, "text")["status"] == 400 and handle(backend, None)["status"] == 400


@pytest.mark.parametrize("error, status, message", [
    (ConnectError, 503, "upstream is unreachable"),
    # Dropped after the request was sent, every time: resent once here, then safe for the caller to resend.
    (ConnectionLost, 502, "upstream closed the connection before answering"),
])
def test_upstream_down_or_lost_mid_request_is_retry_after(backend, fake, error, status, message):
    def fail(request):
        if request.method == "POST" and request.json.get("signature_name", "serving_default") == "serving_default":
            raise error("the connection to %s failed" % request.url, request)

    fake.before = fail
    answer = handle(backend, v2_event("POST", "/v1/models/sms:predict", {"instances": ["a"]}))
    assert answer["statusCode"] == status and answer["headers"]["Retry-After"] == "1"
    assert message in json.loads(answer["body"])["error"]


def test_a_request_lost_once_after_sending_is_resent(backend, fake):
    """A kept-alive connection the server closes as a request goes out loses it unread; predict has no side
    effects, so the handler resends it once."""
    lost = []

    def lose_the_first(request):
        if request.method == "POST" and not lost:
            lost.append(request.url)
            raise ConnectionLost("the connection to %s broke after the request was sent" % request.url, request)

    fake.before = lose_the_first
    answer = handle(backend, v2_event("POST", "/v1/models/sms:predict", {"instances": ["a"]}))
    assert answer["statusCode"] == 200 and len(lost) == 1, answer


def test_a_token_classifier_answers_entity_spans(tiny_vocab_file):
    from featurizer import Featurizer
    from tagging_fakes import FakeTagger  # tests/client
    from serving_client import ServingClient

    vocab = Featurizer(tiny_vocab_file).vocab
    tagger = FakeTagger(tiny_vocab_file, {vocab["good"]: "B-per", vocab["movie"]: "I-per", vocab["day"]: "B-loc"},
                        with_vocab=True)
    backend = ClientBackend("http://serving", tagger.model, transport=MockTransport(tagger.handler))
    text = "a GOOD movie on the day"
    document = records(handle(backend, v2_event("POST", "/v1/models/ner:predict", {"instances": [text]})))
    with ServingClient("http://serving", tagger.model, transport=MockTransport(tagger.handler)) as client:
        expected = [span.to_dict() for span in client.entities(text).entities]
    assert document == {"predictions": [{"entities": expected, "truncated": False}]}
    assert [(e["label"], e["text"]) for e in expected] == [("per", "GOOD movie"), ("loc", "day")]
    assert records(handle(backend, v1_event("GET", "/v1/models/ner")))["task"] == "token_classification"
    pair = handle(backend, v2_event("POST", "/v1/models/ner:predict", {"instances": [{"text": "a", "text_pair": "b"}]}))
    assert pair["statusCode"] == 400 and "takes single texts" in json.loads(pair["body"])["error"]


def test_a_multi_label_classifier_answers_label_sets_and_takes_a_threshold(tiny_vocab_file):
    from multi_label_fakes import FakeMultiLabel  # tests/client

    fake = FakeMultiLabel(tiny_vocab_file, with_vocab=True)
    backend = ClientBackend("http://serving", fake.model, transport=MockTransport(fake.handler))
    texts = ["good movie", "the movie was very good"]
    document = records(handle(backend, v2_event("POST", "/v1/models/tickets:predict", {"instances": texts})))
    first, second = document["predictions"]
    assert first == {"labels": ["billing", "account"], "truncated": False,
                     "scores": pytest.approx({"billing": 0.8, "account": 0.4, "bug": 0.1})}
    assert list(first["scores"]) == ["billing", "account", "bug"] and second["labels"] == ["bug", "billing", "account"]
    # parameters.threshold decides every label at that value instead of the model's; top_k cuts scores only.
    strict = handle(backend, {"texts": texts, "parameters": {"threshold": 0.85, "top_k": 1}})
    assert [p["labels"] for p in strict["predictions"]] == [[], ["bug", "billing"]]
    assert [list(p["scores"]) for p in strict["predictions"]] == [["billing"], ["bug"]]
    assert records(handle(backend, v1_event("GET", "/v1/models/tickets")))["task"] == "multi_label_classification"


def test_a_classifier_trained_on_single_texts_refuses_a_second_text(tiny_vocab_file):
    fake = FakeServing(tiny_vocab_file, with_vocab=True, info_overrides={"text_pairs": False})
    backend = ClientBackend("http://serving", fake.model, transport=MockTransport(fake.handler))
    pair = handle(backend, v2_event("POST", "/v1/models/sms:predict", {"instances": ["a", {"text": "b", "text_pair": "c"}]}))
    assert pair["statusCode"] == 400 and json.loads(pair["body"])["error"] == \
        "instances[1] has a text_pair; the sequence classification model was trained on single texts"
    assert handle(backend, {"texts": ["a"], "text_pairs": [None]})["predictions"][0]["label"] == "spam"
    assert fake.predict_bodies() != [] and len(fake.predict_bodies()) == 1  # the refused one was never sent
