"""Reading texts from plain, TSV and JSONL files, with errors naming file and line."""

import pytest

from serving_client import InputError
from serving_client._inputs import count_examples, detect_format, read_examples


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return str(path)


@pytest.mark.parametrize("name, fmt", [("a.tsv", "tsv"), ("a.JSONL", "jsonl"), ("a.ndjson", "jsonl"), ("a.txt", "lines"), ("-", "lines")])
def test_format_from_suffix(name, fmt):
    assert detect_format(name) == fmt


def test_explicit_format_wins_and_unknown_is_refused():
    assert detect_format("a.txt", "tsv") == "tsv"
    with pytest.raises(InputError):
        detect_format("a.txt", "csv")


def test_lines_keep_inner_whitespace_and_skip_blank_lines(tmp_path):
    path = write(tmp_path, "t.txt", "first text\r\n\n  second\ttext \n   \nthird")
    assert list(read_examples(path)) == [("first text", None), ("  second\ttext ", None), ("third", None)]
    assert count_examples(path) == 3


def test_tsv_reads_named_columns_without_quoting(tmp_path):
    path = write(tmp_path, "t.tsv", 'label\ttext\nham\tsay "hi" there\nspam\tWIN now\n')
    assert list(read_examples(path)) == [('say "hi" there', None), ("WIN now", None)]
    assert count_examples(path) == 2


def test_tsv_pairs(tmp_path):
    path = write(tmp_path, "t.tsv", "a\tb\nq1\tanswer one\n")
    assert list(read_examples(path, text_column="a", text_b_column="b")) == [("q1", "answer one")]


def test_tsv_errors_name_file_line_and_columns(tmp_path):
    path = write(tmp_path, "t.tsv", "label\tsentence\nham\thello\n")
    with pytest.raises(InputError) as info:
        list(read_examples(path))
    assert str(info.value) == "%s:1: no column 'text' in the header (columns: label, sentence)" % path
    path = write(tmp_path, "u.tsv", "label\ttext\nham\thello\nspam\n")
    with pytest.raises(InputError) as info:
        list(read_examples(path))
    assert str(info.value) == "%s:3: 1 columns, but the header has 2" % path


def test_empty_tsv_needs_a_header(tmp_path):
    with pytest.raises(InputError) as info:
        list(read_examples(write(tmp_path, "e.tsv", "")))
    assert "expected a header" in str(info.value)


def test_jsonl_fields_and_optional_second_text(tmp_path):
    path = write(tmp_path, "t.jsonl", '{"text": "a", "text_b": "b"}\n\n{"text": "c"}\n')
    assert list(read_examples(path, text_b_column="text_b")) == [("a", "b"), ("c", None)]


@pytest.mark.parametrize(
    "body, message",
    [
        ('{"text": "a"}\n{"text": \n', ":2: not valid JSON"),
        ('["a"]\n', ":1: expected a JSON object, got list"),
        ('{"body": "a"}\n', ":1: no field 'text'"),
    ],
)
def test_jsonl_errors(tmp_path, body, message):
    path = write(tmp_path, "t.jsonl", body)
    with pytest.raises(InputError) as info:
        list(read_examples(path))
    assert str(info.value).startswith(path + message)


def test_missing_and_undecodable_files(tmp_path):
    with pytest.raises(InputError) as info:
        list(read_examples(str(tmp_path / "nope.txt")))
    assert "cannot read" in str(info.value) and "nope.txt" in str(info.value)
    path = tmp_path / "latin1.txt"
    path.write_bytes("caf\xe9\n".encode("latin-1"))
    with pytest.raises(InputError) as info:
        list(read_examples(str(path)))
    assert "not valid UTF-8" in str(info.value)
    assert count_examples(str(tmp_path / "nope.txt")) is None


def test_plain_text_has_no_second_column(tmp_path):
    with pytest.raises(InputError):
        list(read_examples(write(tmp_path, "t.txt", "a\n"), text_b_column="b"))


def test_refused_lengths_are_exact_for_ordinary_texts_and_bounded_for_huge_ones(tiny_vocab_file):
    """parameters.truncation=false: the error counts a text's tokens, but never tokenizes megabytes to do it."""
    from featurizer import Featurizer
    from serving_client.decoders._base import truncation_flags

    featurizer = Featurizer(tiny_vocab_file, max_seq_length=8)
    assert truncation_flags(featurizer, [("the movie", None), ("the movie is good today " * 3, None)], True) == [
        False, True]
    with pytest.raises(InputError, match=r"instances\[1\] has 19 tokens, more than the model's 8"):
        truncation_flags(featurizer, [("the movie", None), ("the movie is good today " * 3, "bad")], False)
    with pytest.raises(InputError, match=r"instances\[0\] has over 8 tokens, more than the model's 8"):
        truncation_flags(featurizer, [("the movie is good today " * 5000, None)], False)
