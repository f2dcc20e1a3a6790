"""ServingClient against the fake server: features, metadata checks, batching, errors."""

import logging
import threading

import pytest

from client_fakes import FakeServing, token_count_probabilities
from featurizer import Featurizer, pad_batch
from serving_client import (
    ConnectError,
    InputError,
    MockTransport,
    ModelMismatchError,
    ProtocolError,
    ReadTimeout,
    Response,
    ServerError,
    ServingClient,
)

TEXTS = ["good movie", "the film is bad", "lol", "i hate this awful day today", "free prize call now or never"]


def expected_features(vocab_file, texts, texts_b=None, length=16, lower=True):
    featurizer = Featurizer(vocab_file, lower, length, use_fast=False)
    return pad_batch(featurizer.encode_batch(texts, texts_b), length)


def test_sends_exactly_the_featurizer_ids_padded_to_the_signature_length(make_client, fake, tiny_vocab_file):
    client = make_client()
    predictions = client.predict_batch(TEXTS)
    (body,) = fake.predict_bodies()
    expected = expected_features(tiny_vocab_file, TEXTS)
    assert {k: body["inputs"][k] for k in expected} == expected
    assert body["inputs"]["label_ids"] == [0] * len(TEXTS)
    assert [p.text for p in predictions] == TEXTS
    assert [p.label for p in predictions] == ["spam"] * len(TEXTS)
    assert predictions[0].probabilities == dict(zip(["ham", "spam"], token_count_probabilities(expected["input_mask"][0], 2)))
    assert predictions[0].score == predictions[0].probabilities["spam"]


def test_text_pairs_get_segment_ids(make_client, fake, tiny_vocab_file):
    client = make_client()
    prediction = client.predict("is it good", "yes it is")
    assert prediction.text_b == "yes it is"
    body = fake.predict_bodies()[0]
    expected = expected_features(tiny_vocab_file, ["is it good"], ["yes it is"])
    assert body["inputs"]["segment_ids"] == expected["segment_ids"]
    assert 1 in body["inputs"]["segment_ids"][0]


def test_long_texts_are_truncated_to_the_signature_length(make_client, fake):
    make_client().predict(" ".join(["good"] * 100))
    ids = fake.predict_bodies()[0]["inputs"]["input_ids"][0]
    assert len(ids) == 16 and ids[-1] != 0  # full, ending in [SEP]


def test_dynamic_length_pads_each_batch_to_its_longest_text(tiny_vocab_file):
    fake = FakeServing(tiny_vocab_file, seq_length=-1)
    client = ServingClient("http://serving", "sms", tiny_vocab_file, transport=MockTransport(fake.handler), batch_size=2)
    client.predict_batch(["good", "the film is not bad", "a " * 100])
    widths = [len(body["inputs"]["input_ids"][0]) for body in fake.predict_bodies()]
    assert widths == [7, 32]  # [CLS] 5 words [SEP]; then truncated to the model's max_seq_length
    assert client.sequence_length is None
    assert client.model_info.dynamic_seq_length


def test_metadata_is_read_once_and_predicts_go_to_the_checked_version(make_client, fake):
    client = make_client()
    client.predict("good")
    client.predict_batch(TEXTS)
    assert len(fake.metadata_requests()) == 1
    assert fake.metadata_requests()[0].url == "http://serving/v1/models/sms/metadata"
    assert {r.url for r in fake.requests if r.method == "POST"} == {"http://serving/v1/models/sms/versions/7:predict"}
    assert client.model_version == 7
    assert client.labels == ["ham", "spam"]
    assert client.model_info.task_name == "sms"


def test_explicit_version_is_used_for_metadata(make_client, fake):
    make_client(version=7).predict("good")
    assert fake.metadata_requests()[0].url == "http://serving/v1/models/sms/versions/7/metadata"


def test_casing_is_taken_from_the_model_when_not_given(tiny_vocab_file):
    fake = FakeServing(tiny_vocab_file, do_lower_case=False)
    client = ServingClient("http://serving", "sms", tiny_vocab_file, transport=MockTransport(fake.handler))
    client.predict("GOOD")
    ids = fake.predict_bodies()[0]["inputs"]["input_ids"][0]
    assert ids[:3] == expected_features(tiny_vocab_file, ["GOOD"], lower=False)["input_ids"][0][:3]


def test_fast_tokenizer_flag_reaches_the_featurizer(make_client):
    pytest.importorskip("tokenizers")
    client = make_client(use_fast=True)
    client.predict("good")
    assert client._loaded().featurizer.uses_fast_path
    assert not make_client()._loaded().featurizer.uses_fast_path


# -- refusing to send wrong ids --------------------------------------------------


def assert_refused(fake, client, *words):
    with pytest.raises(ModelMismatchError) as info:
        client.predict("good")
    for word in words:
        assert word in str(info.value)
    assert info.value.url.endswith("/metadata") or info.value.url.endswith(":predict")
    assert fake.predict_bodies() == []  # nothing was classified


def test_refuses_a_different_vocab(make_client, fake, tmp_path, tiny_vocab_file):
    other = tmp_path / "other_vocab.txt"
    other.write_text(open(tiny_vocab_file, encoding="utf-8").read() + "extra\n", encoding="utf-8")
    assert_refused(fake, make_client(vocab_file=str(other)), "vocab sha256", "other_vocab.txt", "nothing was sent")


def test_refuses_explicit_casing_that_differs(make_client, fake):
    assert_refused(fake, make_client(do_lower_case=False), "do_lower_case=False", "model 'sms' version 7")


def test_refuses_a_longer_sequence_than_the_signature(make_client, fake):
    assert_refused(fake, make_client(max_seq_length=64), "max_seq_length=64 exceeds the signature's sequence length 16")


def test_refuses_labels_that_differ_from_the_model(make_client, fake):
    assert_refused(fake, make_client(labels=["spam", "ham"]), "labels spam,ham differ from the model's ham,spam")


def test_refuses_a_newer_featurizer_version(tiny_vocab_file):
    fake = FakeServing(tiny_vocab_file, info_overrides={"featurizer_version": 99})
    client = ServingClient("http://serving", "sms", tiny_vocab_file, transport=MockTransport(fake.handler))
    assert_refused(fake, client, "featurizer version 99")


def test_refuses_a_missing_signature(make_client, fake):
    assert_refused(fake, make_client(signature="classify"), "has no signature 'classify'; it has: metadata, serving_default")


def test_a_shorter_max_seq_length_truncates_but_still_pads_to_the_signature(make_client, fake):
    make_client(max_seq_length=4).predict("the film is very bad")
    mask = fake.predict_bodies()[0]["inputs"]["input_mask"][0]
    assert sum(mask) == 4 and len(mask) == 16


def test_unreadable_vocab_is_an_input_error(make_client, tmp_path):
    with pytest.raises(InputError) as info:
        make_client(vocab_file=str(tmp_path / "missing.txt")).predict("good")
    assert "missing.txt" in str(info.value)


# -- exports without a metadata signature ------------------------------------------


def foreign_client(tiny_vocab_file, **kwargs):
    fake = FakeServing(tiny_vocab_file, with_metadata=False, num_outputs=kwargs.pop("num_outputs", None))
    return fake, ServingClient("http://serving", "sms", tiny_vocab_file, transport=MockTransport(fake.handler), **kwargs)


def test_foreign_export_uses_class_indices_with_one_warning(tiny_vocab_file, caplog):
    fake, client = foreign_client(tiny_vocab_file)
    with caplog.at_level(logging.WARNING, logger="serving_client"):
        predictions = client.predict_batch(["good", "bad"])
        client.predict("again")
    assert [p.label for p in predictions] == ["1", "1"]
    assert list(predictions[0].probabilities) == ["0", "1"]
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1
    assert "has no 'metadata' signature" in warnings[0] and "class indices" in warnings[0]
    assert client.model_info is None


def test_foreign_export_uses_labels_given_by_the_user(tiny_vocab_file, caplog):
    fake, client = foreign_client(tiny_vocab_file, labels=["neg", "pos"])
    with caplog.at_level(logging.WARNING, logger="serving_client"):
        assert client.predict("good").label == "pos"
    assert "from the labels given" in caplog.records[0].getMessage()


def test_foreign_export_with_the_wrong_number_of_labels_fails_clearly(tiny_vocab_file):
    fake, client = foreign_client(tiny_vocab_file, labels=["a", "b"], num_outputs=3)
    with pytest.raises(ModelMismatchError) as info:
        client.predict("good")
    assert "3 probabilities per text but the model has 2 labels (a,b)" in str(info.value)


# -- batching, concurrency, order ----------------------------------------------------


def test_batches_are_sent_concurrently_and_results_keep_input_order(make_client, fake):
    texts = ["good " * (i % 9 + 1) for i in range(40)]
    # Early batches answer last, so completion order is the reverse of input order.
    fake.delay = lambda index: 0.05 * max(0, 4 - index)
    done = []
    client = make_client(batch_size=5, max_in_flight=4)
    predictions = list(client.iter_predict(texts, progress=done.append))
    assert [p.text for p in predictions] == texts
    for text, prediction in zip(texts, predictions):
        tokens = len(text.split()) + 2
        assert prediction.probabilities["spam"] == pytest.approx(tokens / (tokens + 1.0))
    bodies = fake.predict_bodies()
    assert [len(b["inputs"]["input_ids"]) for b in bodies] == [5] * 8
    assert 1 < fake.max_in_flight <= 4
    assert done == [5] * 8


def test_iter_predict_streams_from_a_generator(make_client, fake):
    sent = []

    def examples():
        for i in range(12):
            sent.append(i)
            yield ("good", "bad") if i % 2 else "good"

    client = make_client(batch_size=2, max_in_flight=2)
    stream = client.iter_predict(examples())
    first = next(stream)
    assert first.text == "good" and first.text_b is None
    assert len(sent) < 12  # not all read before the first answer
    rest = list(stream)
    assert [p.text_b for p in rest][:2] == ["bad", None]
    assert len(rest) == 11


def test_predict_batch_checks_pair_lengths(make_client):
    with pytest.raises(ValueError):
        make_client().predict_batch(["a", "b"], ["c"])


def test_client_is_thread_safe_and_loads_metadata_once(make_client, fake):
    client = make_client()
    errors = []

    def work():
        try:
            client.predict_batch(TEXTS)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(fake.metadata_requests()) == 1


# -- errors --------------------------------------------------------------------------


def test_server_error_carries_status_message_and_url(make_client, fake):
    with pytest.raises(ServerError) as info:
        make_client(model="nope").predict("good")
    error = info.value
    assert error.status_code == 404
    assert error.server_message.startswith("Servable not found for request")
    assert error.server_message == "Servable not found for request: Latest(nope)"
    assert error.url == "http://serving/v1/models/nope/metadata"
    assert str(error) == "HTTP 404 from GET http://serving/v1/models/nope/metadata: " + error.server_message
    assert "\n" not in str(error)


def test_predict_error_names_the_predict_url(make_client, fake):
    def reject(request):
        if request.method == "POST" and request.json["signature_name"] == "serving_default":
            return Response(400, json={"error": "JSON Value: 1.5 Type: Number is not of expected type: int32"})
        return None

    fake.before = reject
    with pytest.raises(ServerError) as info:
        make_client().predict("good")
    assert info.value.status_code == 400
    assert info.value.request.method == "POST"
    assert info.value.url == "http://serving/v1/models/sms/versions/7:predict"
    assert "not of expected type: int32" in str(info.value)


def test_non_json_error_bodies_are_reported_raw(make_client, fake):
    fake.before = lambda request: Response(502, content=b"<html>Bad Gateway</html>")
    with pytest.raises(ServerError) as info:
        make_client().predict("good")
    assert info.value.status_code == 502 and info.value.server_message == "<html>Bad Gateway</html>"


def test_503_and_connection_errors_are_retried_by_the_client(make_client, fake):
    failures = [Response(503, json={"error": "queue full"}), ConnectError("refused")]

    def flaky(request):
        if request.method == "POST" and failures:
            outcome = failures.pop(0)
            if isinstance(outcome, Exception):
                raise outcome
            return outcome
        return None

    fake.before = flaky
    assert make_client().predict("good").label == "spam"
    assert failures == []


def test_retries_exhausted_on_503_raise_server_error(make_client, fake):
    fake.before = lambda request: Response(503, json={"error": "Servable is unavailable"})
    with pytest.raises(ServerError) as info:
        make_client().predict("good")
    assert info.value.status_code == 503
    assert len(fake.requests) == 3  # 1 + 2 retries


def test_read_timeouts_surface_unretried(make_client, fake):
    def slow(request):
        if request.method == "POST":
            raise ReadTimeout("no answer from %s within 1s (read timeout)" % request.url, request)
        return None

    fake.before = slow
    with pytest.raises(ReadTimeout) as info:
        make_client().predict("good")
    assert info.value.url.endswith(":predict")


@pytest.mark.parametrize(
    "answer, message",
    [
        (Response(200, content=b"not json"), "is not JSON"),
        (Response(200, json=[1, 2]), "is not a JSON object"),
        (Response(200, json={"outputs": [[0.5, 0.5], [0.5, 0.5]]}), "has 2 rows for 1 texts"),
        (Response(200, json={"predictions": [[0.5, 0.5]]}), "has no 'outputs'"),
        (Response(200, json={"outputs": [["a", "b"]]}), "not a [texts, labels] list of numbers"),
    ],
)
def test_malformed_predict_answers_are_protocol_errors(make_client, fake, answer, message):
    fake.before = lambda request: answer if request.method == "POST" and request.json["signature_name"] != "metadata" else None
    with pytest.raises(ProtocolError) as info:
        make_client().predict("good")
    assert message in str(info.value)
    assert info.value.url.endswith(":predict")


def test_bad_metadata_json_is_a_protocol_error(make_client, fake):
    fake.before = lambda request: (
        Response(200, json={"outputs": ["{not json"]}) if request.method == "POST" and request.json["signature_name"] == "metadata" else None
    )
    with pytest.raises(ProtocolError) as info:
        make_client().predict("good")
    assert "bad metadata_json" in str(info.value)


def test_unsupported_url_scheme(tiny_vocab_file):
    with pytest.raises(ValueError) as info:
        ServingClient("ftp://host", "m", tiny_vocab_file)
    assert "http://, https:// or grpc://" in str(info.value)


def test_a_second_text_for_a_model_trained_on_single_texts_is_refused_before_sending(fake, make_client):
    from serving_client import InputError

    fake.info = fake.info._replace(text_pairs=False)
    client = make_client()
    assert client.predict("good movie").label == "spam"
    with pytest.raises(InputError, match="the sequence classification model was trained on single texts; it takes no "
                                         "second text"):
        client.predict("is it good", "yes")
    assert len(fake.predict_bodies()) == 1
