"""Decoding per-token probabilities into entities with exact offsets (no server needed)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from featurizer import Featurizer
from hostile_text import hostile_texts  # tests/helpers
from serving_client._entities import EntitySpan, decode, word_probabilities

TAGS = ["O", "B-per", "I-per", "B-loc", "I-loc"]


def one_hot(tag, confidence=0.9):
    rest = (1.0 - confidence) / (len(TAGS) - 1)
    return [confidence if t == tag else rest for t in TAGS]


def answer(windowed, word_tag, confidence=0.9):
    """What a model would answer: every piece of word w gets one_hot(word_tag(w)); [CLS]/[SEP]/padding O."""
    outputs = []
    for index, window in enumerate(windowed.windows):
        rows = [one_hot("O")] * len(windowed.encoded[index].input_ids)
        rows = list(rows)
        for position in range(window.start, window.end):
            rows[position - window.start + 1] = one_hot(word_tag(windowed.pieces.word_index[position]), confidence)
        outputs.append(rows)
    return outputs


@pytest.fixture(scope="module")
def featurizer(tiny_vocab_file):
    return Featurizer(tiny_vocab_file, do_lower_case=True, max_seq_length=10)


def test_entities_point_into_the_original_text(featurizer):
    text = "\u00a0Jos\u00e9\u200b Stra\u00dfe \u4e2d\u6587, and\tMAR\u00cdA-Jose\u0301!"
    windowed = featurizer.encode_windows(featurizer.text_pieces(text), doc_stride=3)
    words = [text[a:b] for a, b in windowed.pieces.words]
    assert words == ["Jos\u00e9", "Stra\u00dfe", "\u4e2d", "\u6587", ",", "and", "MAR\u00cdA", "-", "Jose\u0301", "!"]
    tags = {0: "B-per", 1: "I-per", 2: "B-loc", 3: "I-loc", 6: "B-per", 7: "I-per", 8: "I-per"}
    found = decode(text, windowed, answer(windowed, lambda w: tags.get(w, "O")), TAGS)
    assert [(e.label, e.text) for e in found] == [
        ("per", "Jos\u00e9\u200b Stra\u00dfe"), ("loc", "\u4e2d\u6587"), ("per", "MAR\u00cdA-Jose\u0301")]
    for entity in found:
        assert entity.text == text[entity.start : entity.end]
        assert entity.score == pytest.approx(0.9)
    assert found[0].to_dict() == {"start": 1, "end": 13, "label": "per", "text": found[0].text, "score": found[0].score}


def test_a_stray_inside_tag_starts_an_entity(featurizer):
    text = "the good movie"
    windowed = featurizer.encode_windows(featurizer.text_pieces(text), doc_stride=3)
    found = decode(text, windowed, answer(windowed, lambda w: ["O", "I-loc", "I-per"][w]), TAGS)
    assert found == [EntitySpan(4, 8, "loc", "good", pytest.approx(0.9)), EntitySpan(9, 14, "per", "movie", pytest.approx(0.9))]


def test_aggregation_first_average_max(featurizer):
    text = "unwanted"  # un ##want ##ed
    windowed = featurizer.encode_windows(featurizer.text_pieces(text), doc_stride=3)
    rows = [one_hot("O"), [0.3, 0.4, 0.0, 0.3, 0.0], [0.0, 0.0, 0.0, 0.95, 0.05], [0.4, 0.0, 0.0, 0.6, 0.0], one_hot("O")]
    assert word_probabilities(windowed, [rows], "first") == [[0.3, 0.4, 0.0, 0.3, 0.0]]
    assert word_probabilities(windowed, [rows], "average")[0] == pytest.approx([0.7 / 3, 0.4 / 3, 0.0, 1.85 / 3, 0.05 / 3])
    assert word_probabilities(windowed, [rows], "max") == [[0.0, 0.0, 0.0, 0.95, 0.05]]
    assert [e.label for e in decode(text, windowed, [rows], TAGS, "first")] == ["per"]
    assert [e.label for e in decode(text, windowed, [rows], TAGS, "average")] == ["loc"]


def test_long_text_reads_each_word_from_its_best_window(featurizer):
    words = ["good", "movie", "today", "lol", "the", "day", "is", "fine", "ok", "yes", "no", "nice"]
    text = " ".join(words)
    windowed = featurizer.encode_windows(featurizer.text_pieces(text), doc_stride=3)
    assert len(windowed.windows) > 2
    # Each window calls every word an entity of its own type: "per" in even windows, "loc" in odd ones.
    outputs = []
    for index, window in enumerate(windowed.windows):
        tag = "B-per" if index % 2 == 0 else "B-loc"
        outputs.append([one_hot(tag)] * len(windowed.encoded[index].input_ids))
    found = decode(text, windowed, outputs, TAGS)
    assert [e.text for e in found] == words
    for word, entity in enumerate(found):
        index, _ = windowed.reading[word]
        assert entity.label == ("per" if index % 2 == 0 else "loc")
    # The middle of the text is read away from window edges.
    assert windowed.reading[0][0] == 0 and windowed.reading[-1][0] == len(windowed.windows) - 1


@settings(max_examples=150, deadline=None)
@given(hostile_texts, st.integers(1, 6), st.integers(0, 2 ** 16))
def test_every_entity_is_an_exact_slice_of_hostile_text(featurizer, text, stride, seed):
    windowed = featurizer.encode_windows(featurizer.text_pieces(text), doc_stride=stride)
    choice = lambda w: TAGS[(w * 7 + seed) % len(TAGS)]  # noqa: E731  (any tags, valid or not)
    found = decode(text, windowed, answer(windowed, choice), TAGS)
    previous_end = 0
    for entity in found:
        assert entity.text == text[entity.start : entity.end] and entity.text
        assert previous_end <= entity.start < entity.end <= len(text)
        previous_end = entity.end
