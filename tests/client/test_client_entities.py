"""The client against a token classifier: windows, requests, entity spans, mismatches."""

import pytest

from featurizer import Featurizer
from serving_client import FailedPrediction, ModelMismatchError, Response
from serving_client._entities import EntitySpan, TaggedText
from tagging_fakes import FakeTagger

from client_fakes import FakeServing


@pytest.fixture
def vocab(tiny_vocab_file):
    return Featurizer(tiny_vocab_file).vocab


@pytest.fixture
def tagger(tiny_vocab_file, vocab):
    # "good movie" is a person, "day" a place; "un ##want ##ed" a person whose later pieces say loc.
    return FakeTagger(tiny_vocab_file, {
        vocab["good"]: "B-per", vocab["movie"]: "I-per", vocab["day"]: "B-loc",
        vocab["un"]: "B-per", vocab["##want"]: "B-loc", vocab["##ed"]: "B-loc",
    })


def test_entities_have_exact_offsets_in_the_original_text(tagger, connect):
    client = connect(tagger)
    text = "\u00bfG\u00f6\u00f6d\u0301? GOOD\u200b  Movie on the DAY!"
    result = client.entities(text)
    assert client.task_kind == "token_classification"
    # Accents are stripped for the model (uncased), never from the spans.
    assert result == TaggedText(text, [
        EntitySpan(1, 6, "per", "G\u00f6\u00f6d\u0301", pytest.approx(0.8)),
        EntitySpan(8, 20, "per", "GOOD\u200b  Movie", pytest.approx(0.8)),
        EntitySpan(28, 31, "loc", "DAY", pytest.approx(0.8))])
    for entity in result.entities:
        assert text[entity.start:entity.end] == entity.text


def test_label_ids_go_as_rows_of_zeros_and_windows_fill_requests(tagger, connect):
    client = connect(tagger, batch_size=3)
    long_text = " ".join(["the good movie is on the day"] * 4)  # 32 pieces ("on" is o ##n), 10 per window
    results = client.entities_batch(["good", long_text, "day"])
    bodies = tagger.predict_bodies()
    rows = [len(body["inputs"]["input_ids"]) for body in bodies]
    # The long text has 7 windows (stride 4): more than batch_size, so it goes alone.
    assert rows == [1, 7, 1]
    assert all(body["inputs"]["label_ids"] == [[0] * 12] * len(body["inputs"]["input_ids"]) for body in bodies)
    assert [e.text for e in results[0].entities] == ["good"]
    assert [(e.label, e.text) for e in results[1].entities] == [("per", "good movie"), ("loc", "day")] * 4
    assert [e.start for e in results[1].entities] == [29 * i + offset for i in range(4) for offset in (4, 25)]
    assert [e.label for e in results[2].entities] == ["loc"]


def test_aggregation_changes_how_a_split_word_is_read(tagger, connect):
    assert [e.label for e in connect(tagger).entities("unwanted").entities] == ["per"]
    assert [e.label for e in connect(tagger, aggregation="average").entities("unwanted").entities] == ["loc"]
    with pytest.raises(ValueError, match="aggregation must be one of first, average, max"):
        connect(tagger, aggregation="mean")


def test_a_model_of_the_other_kind_is_refused_before_sending(tagger, connect, tiny_vocab_file):
    with pytest.raises(ModelMismatchError, match="is a token classification model, not a sequence classification model"):
        connect(tagger).predict("good movie")
    classifier = FakeServing(tiny_vocab_file)
    with pytest.raises(ModelMismatchError, match="is a sequence classification model, not a token classification"):
        connect(classifier).entities("good movie")
    assert tagger.predict_bodies() == [] and classifier.predict_bodies() == []


@pytest.mark.parametrize("overrides,message", [
    ({"tag_scheme": "BIOES"}, "tags are in the BIOES scheme; this client decodes IOB2"),
    ({"labels": ["B-per", "I-per"]}, "have no 'O'"),
    ({"labels": ["O", "per"]}, "tag 'per' is not a IOB2 tag"),
])
def test_metadata_the_client_cannot_decode_is_refused(tiny_vocab_file, connect, overrides, message):
    fake = FakeTagger(tiny_vocab_file, {}, info_overrides=overrides)
    with pytest.raises(ModelMismatchError, match=message):
        connect(fake).entities("good")


def test_an_answer_with_the_wrong_number_of_tags_is_a_mismatch(tagger, connect):
    tagger.before = lambda request: (
        Response(200, json={"outputs": [[[0.5, 0.5]] * 12]}) if request.method == "POST"
        and request.json.get("signature_name") == "serving_default" else None)
    with pytest.raises(ModelMismatchError, match="2 probabilities per token but the model has 5 tags"):
        connect(tagger).entities("good")


def test_collect_keeps_failed_texts_in_their_places(tagger, connect):
    calls = []

    def fail_second(request):
        if request.method == "POST" and request.json.get("signature_name") == "serving_default":
            calls.append(request)
            if len(calls) == 2:
                return Response(500, json={"error": "boom"})
        return None

    tagger.before = fail_second
    results = connect(tagger, batch_size=1, max_in_flight=1).entities_batch(["good", "day", "movie"], on_error="collect")
    assert isinstance(results[1], FailedPrediction) and results[1].index == 1 and "boom" in str(results[1].error)
    assert [e.text for e in results[0].entities] == ["good"]
    # "movie" alone is tagged I-per: repaired into an entity of its own, never dropped.
    assert [(e.label, e.text) for e in results[2].entities] == [("per", "movie")]


def test_foreign_export_without_metadata_is_a_tagger_by_its_output_rank(tiny_vocab_file, connect):
    fake = FakeTagger(tiny_vocab_file, {Featurizer(tiny_vocab_file).vocab["good"]: "B-per"}, with_metadata=False)
    with pytest.raises(ModelMismatchError, match="token classifier without a 'metadata' signature: give its tags with --labels"):
        connect(fake).entities("good")
    client = connect(fake, labels=fake.labels)
    assert [e.text for e in client.entities("so good").entities] == ["good"]
