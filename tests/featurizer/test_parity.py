"""The featurizer's ids equal the reference FullTokenizer + convert_single_example."""

import pytest

from featurizer import Featurizer, pad_batch
from hostile_text import EDGE_CASES  # tests/helpers

PAIRS = [
    ("a short one", "a much much longer second text that goes on and on and on and on"),
    ("the first text is the long one here , really long , really really long", "short"),
    ("", "only second"),
    ("only first", ""),
    ("\x00\x01", "second after control-only first"),
    ("first", "\u200b"),
]


@pytest.fixture(scope="module")
def reference(tiny_vocab_file):
    """The reference tokenizer; it reads an absl flag, so flags must be parsed."""
    pytest.importorskip("tensorflow")
    from absl import flags

    if not flags.FLAGS.is_parsed():
        flags.FLAGS(["test"], known_only=True)
    from bert import tokenization

    return tokenization


def reference_ids(tokenizer, text_a, text_b, max_seq_length):
    # Same steps as bert.run_classifier.convert_single_example; that module
    # defines absl flags at import and cannot be imported next to ours, so the
    # ten lines are repeated here on purpose, as the oracle.
    tokens_a = tokenizer.tokenize(text_a)
    tokens_b = tokenizer.tokenize(text_b) if text_b else None
    if tokens_b:
        while len(tokens_a) + len(tokens_b) > max_seq_length - 3:
            (tokens_a if len(tokens_a) > len(tokens_b) else tokens_b).pop()
    else:
        tokens_a = tokens_a[: max_seq_length - 2]
    tokens = ["[CLS]"] + tokens_a + ["[SEP]"]
    segment_ids = [0] * len(tokens)
    if tokens_b:
        tokens += tokens_b + ["[SEP]"]
        segment_ids += [1] * (len(tokens_b) + 1)
    input_ids = tokenizer.convert_tokens_to_ids(tokens)
    input_mask = [1] * len(input_ids)
    padding = [0] * (max_seq_length - len(input_ids))
    return input_ids + padding, input_mask + padding, segment_ids + padding


def assert_same(featurizer, tokenizer, pairs, max_seq_length):
    encoded = featurizer.encode_batch([a for a, _ in pairs], [b for _, b in pairs])
    batch = pad_batch(encoded, max_seq_length)
    for i, (a, b) in enumerate(pairs):
        ids, mask, segments = reference_ids(tokenizer, a, b, max_seq_length)
        got = (batch["input_ids"][i], batch["input_mask"][i], batch["segment_ids"][i])
        assert got == (ids, mask, segments), "text %r / %r" % (a, b)


@pytest.mark.needs_tf
@pytest.mark.parametrize("do_lower_case", [True, False])
@pytest.mark.parametrize("use_fast", [False, True])
def test_edge_cases_match_reference(reference, tiny_vocab_file, do_lower_case, use_fast):
    tokenizer = reference.FullTokenizer(tiny_vocab_file, do_lower_case=do_lower_case)
    featurizer = Featurizer(tiny_vocab_file, do_lower_case, max_seq_length=32, use_fast=use_fast)
    for text in EDGE_CASES:
        assert featurizer.tokenize(text) == tokenizer.tokenize(text), repr(text)
    assert_same(featurizer, tokenizer, [(t, None) for t in EDGE_CASES], 32)
    short = Featurizer(tiny_vocab_file, do_lower_case, max_seq_length=12, use_fast=use_fast)
    assert_same(short, tokenizer, PAIRS, 12)


@pytest.mark.needs_tf
@pytest.mark.needs_shared
@pytest.mark.parametrize("do_lower_case", [True, False])
@pytest.mark.parametrize("use_fast", [False, True])
def test_every_sms_text_matches_reference(reference, sms_texts, tiny_vocab_file, do_lower_case, use_fast):
    tokenizer = reference.FullTokenizer(tiny_vocab_file, do_lower_case=do_lower_case)
    featurizer = Featurizer(tiny_vocab_file, do_lower_case, max_seq_length=128, use_fast=use_fast)
    assert_same(featurizer, tokenizer, [(t, None) for t in sms_texts], 128)
    # Consecutive messages as pairs exercise truncation on real text.
    pairs = list(zip(sms_texts[0::2], sms_texts[1::2]))[:1000]
    short = Featurizer(tiny_vocab_file, do_lower_case, max_seq_length=48, use_fast=use_fast)
    assert_same(short, tokenizer, pairs, 48)
