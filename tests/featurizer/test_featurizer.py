"""Behaviour of the featurizer that needs no reference (runs without TensorFlow too)."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from featurizer import Featurizer, FeaturizerError, MetadataError, ModelInfo, load_vocab, pad_batch
from featurizer import fast, features

import hostile_text


def test_wordpiece_cases_from_the_reference_tests(tiny_vocab_file):
    featurizer = Featurizer(tiny_vocab_file, do_lower_case=True)
    assert featurizer.tokenize("UNwant\u00e9d,running") == ["un", "##want", "##ed", ",", "runn", "##ing"]
    assert featurizer.tokenize("unwantedX running") == ["un", "##want", "##ed", "##x", "runn", "##ing"]
    assert featurizer.tokenize("\u4e2d\u6587") == ["\u4e2d", "\u6587"]
    assert featurizer.tokenize("b" * 201) == ["[UNK]"]


def test_single_text_layout_and_truncation(tiny_vocab_file):
    featurizer = Featurizer(tiny_vocab_file, max_seq_length=5)
    vocab = featurizer.vocab
    encoded = featurizer.encode("the movie is good today")
    assert encoded.input_ids == [vocab["[CLS]"], vocab["the"], vocab["movie"], vocab["is"], vocab["[SEP]"]]
    assert encoded.segment_ids == [0] * 5


def test_pair_layout_truncates_the_longer_text_first(tiny_vocab_file):
    featurizer = Featurizer(tiny_vocab_file, max_seq_length=8)
    v = featurizer.vocab
    encoded = featurizer.encode("the movie is good today", "bad")
    # 8 - 3 = 5 tokens: the first text keeps 4, the second its 1.
    assert encoded.input_ids == [v["[CLS]"], v["the"], v["movie"], v["is"], v["good"], v["[SEP]"], v["bad"], v["[SEP]"]]
    assert encoded.segment_ids == [0, 0, 0, 0, 0, 0, 1, 1]


def test_pad_batch_to_longest_and_to_fixed_length(tiny_vocab_file):
    featurizer = Featurizer(tiny_vocab_file, max_seq_length=16)
    encoded = featurizer.encode_batch(["good", "the movie is good"])
    dynamic = pad_batch(encoded)
    assert [len(row) for row in dynamic["input_ids"]] == [6, 6]
    assert dynamic["input_mask"][0] == [1, 1, 1, 0, 0, 0]
    fixed = pad_batch(encoded, 16)
    assert {len(row) for rows in fixed.values() for row in rows} == {16}
    with pytest.raises(FeaturizerError, match="more than length=3"):
        pad_batch(encoded, 3)


def test_vocab_ids_follow_the_reference_for_duplicates_and_blank_lines(tmp_path):
    path = tmp_path / "vocab.txt"
    path.write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n\nhello\r\n  world  \n")
    vocab = load_vocab(str(path))
    assert vocab == {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "hello": 4, "": 5, "world": 6}


def test_vocab_errors_name_the_file(tmp_path):
    with pytest.raises(FeaturizerError, match="cannot read vocab file .*missing.txt"):
        load_vocab(str(tmp_path / "missing.txt"))
    bad = tmp_path / "latin1.txt"
    bad.write_bytes(b"[CLS]\n[SEP]\n[UNK]\ncaf\xe9\n")
    with pytest.raises(FeaturizerError, match="latin1.txt:4: vocab file is not valid UTF-8"):
        load_vocab(str(bad))
    no_cls = tmp_path / "nocls.txt"
    no_cls.write_text("[SEP]\n[UNK]\n")
    with pytest.raises(FeaturizerError, match=r"nocls.txt lacks the special token\(s\) \[CLS\]"):
        load_vocab(str(no_cls))


def test_model_info_round_trip_and_mismatch(tiny_vocab_file):
    featurizer = Featurizer(tiny_vocab_file, do_lower_case=True, max_seq_length=32)
    info = ModelInfo(["neg", "pos"], featurizer.vocab_sha256, True, 32, "sentiment")
    assert ModelInfo.from_json(info.to_json()) == info
    info.check_featurizer(featurizer.vocab_sha256, True, 32)
    with pytest.raises(MetadataError, match="do_lower_case=False but the model was trained with do_lower_case=True"):
        info.check_featurizer(featurizer.vocab_sha256, False)
    with pytest.raises(MetadataError, match="vocab sha256"):
        info.check_featurizer("0" * 64, True)
    with pytest.raises(MetadataError, match="not valid"):
        ModelInfo.from_json('{"labels": 3}')


@pytest.mark.skipif(not fast.available(), reason="tokenizers not installed")
@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=60), st.booleans())
def test_fast_path_equals_python_path_on_ascii(tiny_vocab_file, text, do_lower_case):
    python = Featurizer(tiny_vocab_file, do_lower_case, use_fast=False)
    rust = Featurizer(tiny_vocab_file, do_lower_case, use_fast=True)
    assert rust.token_ids([text]) == python.token_ids([text])


def test_model_info_reads_exports_from_before_task_kinds():
    """Metadata written before `task_kind` existed describes a sequence classifier."""
    old = '{"labels": ["a", "b"], "vocab_sha256": "x", "do_lower_case": true, "max_seq_length": 8}'
    info = ModelInfo.from_json(old)
    assert info.task_kind == "sequence_classification"
    assert info.schema_version == 1
    with pytest.raises(MetadataError, match="task kind 'regression'"):
        ModelInfo.from_json(old[:-1] + ', "task_kind": "regression"}')


# Long texts: many hostile pieces joined by every kind of whitespace, so prefixes end anywhere.
_long_texts = st.lists(
    st.one_of(hostile_text.hostile_texts, st.sampled_from(hostile_text.ASCII_WORDS)),
    min_size=20, max_size=120,
).flatmap(lambda parts: st.lists(st.sampled_from([" ", "\t", "\n", "\r", "\u00a0", "", "\x00"]),
                                 min_size=len(parts), max_size=len(parts))
          .map(lambda gaps: "".join(p + g for p, g in zip(parts, gaps))))


def _whole_text_encoding(featurizer, text_a, text_b):
    """What encode gives when every text is tokenized whole (no prefix shortcut)."""
    ids_a = featurizer.token_ids([text_a])[0]
    ids_b = featurizer.token_ids([text_b])[0] if text_b else None
    return featurizer._assemble(ids_a, ids_b)


@settings(max_examples=400, deadline=None)
@given(_long_texts, st.one_of(st.none(), _long_texts, hostile_text.hostile_texts), st.integers(3, 24),
       st.booleans(), st.booleans(), st.sampled_from([1, 2, features.PREFIX_CHARS_PER_PIECE]))
def test_a_long_text_encodes_as_if_tokenized_whole(tiny_vocab_file, text_a, text_b, max_seq_length, do_lower_case,
                                                    use_fast, chars_per_piece):
    """Only a prefix of a long text is tokenized; the ids (pairs truncated longest first) are the same.

    Shorter first prefixes than the default put the cut among the pieces that are kept.
    """
    if use_fast and not fast.available():
        use_fast = False
    featurizer = Featurizer(tiny_vocab_file, do_lower_case=do_lower_case, max_seq_length=max_seq_length,
                            use_fast=use_fast)
    default, features.PREFIX_CHARS_PER_PIECE = features.PREFIX_CHARS_PER_PIECE, chars_per_piece
    try:
        got = featurizer.encode_batch([text_a], [text_b])[0]
    finally:
        features.PREFIX_CHARS_PER_PIECE = default
    assert got == _whole_text_encoding(featurizer, text_a, text_b)


def test_a_megabyte_text_is_tokenized_only_as_far_as_it_is_read(tiny_vocab_file):
    featurizer = Featurizer(tiny_vocab_file, max_seq_length=16)
    text = "the movie is good today " * 50000  # 1.2 MB
    assert featurizer.encode(text) == _whole_text_encoding(featurizer, text, None)
    assert len(featurizer.token_ids([text], limit=14)[0]) < 200  # a prefix, not 250,000 pieces
    # Distinct words do not fill the tokenizer's per-word cache (what held a gateway's memory after such texts).
    featurizer.encode(" ".join("word%d" % i for i in range(150000)))
    assert len(featurizer._wordpiece._id_cache) < 1000
    # Nothing but characters the cleaning drops before the words: the prefix grows until it holds them.
    hidden = "\x00" * 5000 + " " + "the movie " * 20
    assert featurizer.token_ids([hidden], limit=14)[0][:14] == featurizer.token_ids([hidden])[0][:14]

