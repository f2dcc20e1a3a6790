"""WordPieces map back to exact character spans of the original text; windows cover long texts."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from featurizer import Featurizer, FeaturizerError, Window, best_windows, offsets
from featurizer.wordpiece import basic_tokenize
from hostile_text import EDGE_CASES, conll_words, hostile_texts  # tests/helpers


@pytest.fixture(scope="module")
def featurizers(tiny_vocab_file):
    return {lower: Featurizer(tiny_vocab_file, do_lower_case=lower, max_seq_length=8) for lower in (True, False)}


def surfaces(text, pieces):
    return [text[start:end] for start, end in zip(pieces.starts, pieces.ends)]


def test_spans_point_into_the_original_text(tiny_vocab_file):
    featurizer = Featurizer(tiny_vocab_file, do_lower_case=True)
    text = "UNwant\u00e9d,running"
    pieces = featurizer.text_pieces(text)
    assert featurizer.tokenize(text) == ["un", "##want", "##ed", ",", "runn", "##ing"]
    assert surfaces(text, pieces) == ["UN", "want", "\u00e9d", ",", "runn", "ing"]
    assert [text[a:b] for a, b in pieces.words] == ["UNwant\u00e9d", ",", "running"]
    assert pieces.word_index == [0, 0, 0, 1, 2, 2]
    assert pieces.first_pieces() == [0, 3, 4]


def test_stripped_accents_stay_with_their_letter_and_dropped_characters_between_words(tiny_vocab_file):
    featurizer = Featurizer(tiny_vocab_file, do_lower_case=True)
    text = "\x00Jose\u0301\u200b \u4e2d\u6587!\x07"
    pieces = featurizer.text_pieces(text)
    assert [text[a:b] for a, b in pieces.words] == ["Jose\u0301", "\u4e2d", "\u6587", "!"]
    assert surfaces(text, pieces)[:4] == ["J", "o", "s", "e\u0301"]


def test_one_character_split_into_several_pieces_never_overlaps(tmp_path):
    # NFD turns the Hangul syllable into three jamo; this vocab splits it between them.
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "\u1112", "##\u1161", "##\u11ab", "a"]) + "\n")
    featurizer = Featurizer(str(vocab), do_lower_case=True)
    text = "a \ud55c"
    pieces = featurizer.text_pieces(text)
    assert pieces.ids == featurizer.token_ids([text])[0] == [7, 4, 5, 6]
    assert list(zip(pieces.starts, pieces.ends)) == [(0, 1), (2, 3), (3, 3), (3, 3)]
    assert pieces.words == [(0, 1), (2, 3)]


def test_marks_after_a_split_syllable_stay_with_it(tmp_path):
    """'어' + three combining marks: the marks belong to the syllable, so its first jamo's piece
    spans all of it and the second gets the empty span at its end, as for '국'."""
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "\u110b", "##\u1165", "\u1100", "##\u116e",
                                "##\u11a8"]) + "\n")
    featurizer = Featurizer(str(vocab), do_lower_case=True)
    text = "\uc5b4\u0327\u0327\u0308"
    pieces = featurizer.text_pieces(text)
    assert featurizer.tokenize(text) == ["\u110b", "##\u1165"]
    assert list(zip(pieces.starts, pieces.ends)) == [(0, 4), (4, 4)]
    assert list(zip(featurizer.text_pieces("\uad6d").starts, featurizer.text_pieces("\uad6d").ends)) == [
        (0, 1), (1, 1), (1, 1)]


# Hangul syllables (three or two jamo under NFD), combining marks, letters with and without accents,
# punctuation and spaces, with a vocab of every single normalized character: WordPiece splits
# between every two characters, so every span rule is exercised.
_JAMO_VOCAB = ([chr(c) for c in range(0x1100, 0x1113)] + ["##" + chr(c) for c in range(0x1161, 0x1176)]
               + ["##" + chr(c) for c in range(0x11A8, 0x11C3)] + list("abce!") + ["##" + c for c in "abce"])
_SOURCE_CHARS = st.one_of(st.sampled_from("\uc5b4\uad6d\ud55c\uac00\ub098\uae00abcE\u00c9\u00e9! "),
                          st.sampled_from("\u0300\u0301\u0308\u0327\u0323"))


@pytest.fixture(scope="module")
def jamo_featurizer(tmp_path_factory):
    vocab = tmp_path_factory.mktemp("jamo") / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]"] + _JAMO_VOCAB) + "\n")
    return Featurizer(str(vocab), do_lower_case=True)


@settings(max_examples=500, deadline=None)
@given(st.lists(_SOURCE_CHARS, max_size=12).map("".join))
def test_each_piece_span_covers_its_source(jamo_featurizer, text):
    """text[start:end] normalizes to text holding the piece; an empty span sits at the end of the
    previous piece of its word, whose span holds it (one character split into several pieces)."""
    from featurizer.offsets import _normalize

    pieces = jamo_featurizer.text_pieces(text)
    check_spans(text, pieces, True)
    tokens = jamo_featurizer.tokenize(text)
    source = None  # the span of the last piece with characters, in this word
    for k, (token, start, end) in enumerate(zip(tokens, pieces.starts, pieces.ends)):
        piece = token[2:] if token.startswith("##") else token
        if k == 0 or pieces.word_index[k] != pieces.word_index[k - 1]:
            source = None
        if token == "[UNK]":
            continue
        if start < end:
            source = (start, end)
        else:
            assert source is not None and source[1] == start, (text, tokens, pieces)
        assert piece in _normalize(text[source[0]:source[1]], True), (text, token, source)


def check_spans(text, pieces, do_lower_case):
    spans = list(zip(pieces.starts, pieces.ends))
    previous_end = 0
    for start, end in spans:
        assert previous_end <= start <= end <= len(text)
        previous_end = end
    previous_end = 0
    for start, end in pieces.words:
        assert previous_end <= start < end <= len(text)
        previous_end = end
    for (start, end), word in zip(spans, pieces.word_index):
        word_start, word_end = pieces.words[word]
        assert word_start <= start and end <= word_end


def same_word(surface, word, do_lower_case):
    """The surface tokenizes to exactly this word (Greek final sigma depends on context)."""
    return [w.replace("\u03c2", "\u03c3") for w in basic_tokenize(surface, do_lower_case)] == [
        word.replace("\u03c2", "\u03c3")
    ]


@settings(max_examples=400, deadline=None)
@given(hostile_texts, st.booleans())
def test_text_pieces_have_the_ids_of_encode_and_exact_disjoint_spans(featurizers, text, do_lower_case):
    featurizer = featurizers[do_lower_case]
    pieces = featurizer.text_pieces(text)
    assert pieces.ids == featurizer.token_ids([text])[0]
    check_spans(text, pieces, do_lower_case)
    words = basic_tokenize(text, do_lower_case)
    assert len(pieces.words) == len(words)
    for (start, end), word in zip(pieces.words, words):
        assert same_word(text[start:end], word, do_lower_case), (text[start:end], word)


# ASCII texts: vocab words, their capitals, runs the vocab must split or cannot read, over-long words,
# punctuation, whitespace, and control characters the clean-up drops (which take the general path).
ascii_texts = st.lists(st.one_of(
    st.sampled_from(["unwanted", "Running", "RUNNED", "lol", "u.s.a", "don't", "x" * 201, "Xy" * 150, "$5",
                     " ", "  ", "\t", "\n", "\r\n", "\x00", "\x0b", "\x1f", "\x7f", "\x0c"]),
    st.text(st.characters(min_codepoint=0, max_codepoint=127), max_size=12)), max_size=24).map("".join)


@settings(max_examples=400, deadline=None)
@given(ascii_texts, st.booleans())
def test_ascii_texts_take_a_shortcut_with_the_general_paths_pieces_spans_and_words(featurizers, text, do_lower_case):
    tokenizer = featurizers[do_lower_case]._wordpiece
    assert offsets.text_pieces(tokenizer, text) == offsets._general_text_pieces(tokenizer, text)


def test_the_ascii_shortcut_is_taken_only_where_positions_survive(featurizers, monkeypatch):
    taken = []
    shortcut = offsets._ascii_text_pieces
    monkeypatch.setattr(offsets, "_ascii_text_pieces", lambda *a: taken.append(a[1]) or shortcut(*a))
    for text in ("Un-wanted,\trunning!", "caf\u00e9", "a\x00b", "a\x7fb"):
        featurizers[True].text_pieces(text)
    assert taken == ["Un-wanted,\trunning!"]


@pytest.mark.parametrize("text", EDGE_CASES)
@pytest.mark.parametrize("do_lower_case", [True, False])
def test_edge_cases_spans(featurizers, text, do_lower_case):
    featurizer = featurizers[do_lower_case]
    pieces = featurizer.text_pieces(text)
    assert pieces.ids == featurizer.token_ids([text])[0]
    check_spans(text, pieces, do_lower_case)


@settings(max_examples=300, deadline=None)
@given(conll_words, st.booleans())
def test_pre_split_words_keep_their_own_index_and_place(featurizers, words, do_lower_case):
    featurizer = featurizers[do_lower_case]
    pieces = featurizer.word_pieces(words)
    joined = " ".join(words)
    assert [joined[a:b] for a, b in pieces.words] == words
    expected_ids = [i for word in words for i in featurizer.token_ids([word])[0]]
    assert pieces.ids == expected_ids
    for index, word in enumerate(words):
        count = len(featurizer.token_ids([word])[0])
        assert pieces.word_index.count(index) == count
        assert (pieces.first_pieces()[index] == -1) == (count == 0)
    check_spans(joined, pieces._replace(words=[w for w in pieces.words if w[0] < w[1]]), do_lower_case)


def test_word_without_pieces_has_a_span_but_no_first_piece(tiny_vocab_file):
    featurizer = Featurizer(tiny_vocab_file, do_lower_case=True)
    pieces = featurizer.word_pieces(["Run", "\ufe0f", "New-York"])
    assert pieces.first_pieces()[1] == -1
    assert pieces.words == [(0, 3), (4, 5), (6, 14)]
    assert set(pieces.word_index) == {0, 2}


def test_windows_cover_every_piece_with_the_stride(featurizers):
    featurizer = featurizers[True]  # max_seq_length 8: 6 pieces per window
    assert featurizer.windows(0, 2) == [Window(0, 0)]
    assert featurizer.windows(6, 2) == [Window(0, 6)]
    assert featurizer.windows(11, 2) == [Window(0, 6), Window(2, 8), Window(4, 10), Window(6, 11)]
    assert featurizer.windows(7, 100) == [Window(0, 6), Window(6, 7)]
    with pytest.raises(FeaturizerError, match="doc_stride must be at least 1"):
        featurizer.windows(10, 0)


def test_each_piece_is_read_from_the_window_where_it_has_most_context(featurizers):
    spans = featurizers[True].windows(11, 2)
    best = best_windows(spans, 11)
    # Ends: only the first/last window holds them; the middle goes to the window centred on it.
    assert best[0] == 0 and best[10] == 3
    assert best[5] == 1 or best[5] == 2
    for position, index in enumerate(best):
        window = spans[index]
        assert window.start <= position < window.end
        assert all(window.context(position) >= other.context(position)
                   for other in spans if other.start <= position < other.end)


def test_encode_window_adds_cls_and_sep(featurizers):
    featurizer = featurizers[True]
    pieces = featurizer.text_pieces("the movie is good today ok lol")
    encoded = featurizer.encode_window(pieces.ids, Window(2, 5))
    vocab = featurizer.vocab
    assert encoded.input_ids == [vocab["[CLS]"], vocab["is"], vocab["good"], vocab["today"], vocab["[SEP]"]]
    assert encoded.segment_ids == [0] * 5


def test_encode_windows_labels_first_pieces_and_reads_each_word_from_its_best_window(featurizers):
    featurizer = featurizers[True]  # 6 pieces per window
    words = ["the", "unwanted", "movie", "is", "good", "today"]  # un ##want ##ed: 8 pieces
    pieces = featurizer.word_pieces(words)
    windowed = featurizer.encode_windows(pieces, doc_stride=2)
    assert windowed.windows == [Window(0, 6), Window(2, 8)]
    assert [len(e.input_ids) for e in windowed.encoded] == [8, 8]
    # Window 0 holds the first pieces of the, unwanted, movie, is; window 1 those of movie..today.
    assert windowed.labelled_positions(0) == [(1, 0), (2, 1), (5, 2), (6, 3)]
    assert windowed.labelled_positions(1) == [(3, 2), (4, 3), (5, 4), (6, 5)]
    # "unwanted" (pieces 1-3) is read in window 0, all three pieces; "today" only fits window 1.
    assert windowed.reading[1] == (0, [2, 3, 4])
    assert windowed.reading[5] == (1, [6])
    for word, (index, positions) in enumerate(windowed.reading):
        ids = windowed.encoded[index].input_ids
        assert [ids[p] for p in positions] == featurizer.token_ids([words[word]])[0]


def test_a_text_that_fits_is_one_window_read_in_place(featurizers):
    featurizer = featurizers[True]
    pieces = featurizer.text_pieces("good movie")
    windowed = featurizer.encode_windows(pieces, doc_stride=3)
    assert windowed.windows == [Window(0, 2)]
    assert windowed.reading == [(0, [1]), (0, [2])]
