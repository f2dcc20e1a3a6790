"""CoNLL files: layouts, schemes, label lists, and one clear `file:line` error per bad input."""

import pytest

from tagging import (
    BIOES,
    IOB1,
    TaggingError,
    check_known_tags,
    format_predictions,
    given_tags,
    read_conll,
    split_path,
    training_tags,
)


def write(path, text):
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return str(path)


def test_tab_and_space_columns_blank_and_tab_only_separators_and_docstart(tmp_path):
    path = write(tmp_path / "train.conll", (
        "-DOCSTART- -X- -X- O\n"
        "\n"
        "EU NNP B-NP B-org\n"          # space-separated, tag in the last column
        "rejects VBZ B-VP O\n"
        "\t\n"                          # a lone tab ends the sentence (WNUT-17)
        "New York\tB-loc\n"             # tab-separated: the token may hold a space
        "is\tO\n"
        "   \n"
        "\n"
        "@user\tO\r\n"                  # CRLF
        "caf\u00e9\u2028bar\tB-per\n"   # U+2028 is not a line break
    ))
    sentences = read_conll(path)
    assert [s.words for s in sentences] == [["EU", "rejects"], ["New York", "is"], ["@user", "caf\u00e9\u2028bar"]]
    assert [s.tags for s in sentences] == [["B-org", "O"], ["B-loc", "O"], ["O", "B-per"]]
    assert sentences[1].lines == [6, 7] and sentences[2].where(1) == "%s:11" % path


def test_iob1_and_bioes_files_are_read_as_iob2_and_written_back(tmp_path):
    iob1 = read_conll(write(tmp_path / "a.txt", "A I-per\nB I-per\nC B-per\nD O\n"), IOB1)
    assert iob1[0].tags == ["B-per", "I-per", "B-per", "O"]
    assert format_predictions(iob1[0], ["B-per", "I-per", "I-per", "O"], IOB1) == (
        "A I-per I-per\nB I-per I-per\nC B-per I-per\nD O O\n\n")
    bioes = read_conll(write(tmp_path / "b.txt", "A B-loc\nB E-loc\nC S-per\n"), BIOES)
    assert bioes[0].tags == ["B-loc", "I-loc", "B-per"]


@pytest.mark.parametrize("content,scheme,line,message", [
    ("a O\nb\n", "IOB2", 2, r"no tag column in 'b'"),
    ("a O\nb\t\n", "IOB2", 2, r"no tag column"),
    ("a O\n\tB-per\n", "IOB2", 2, r"empty token before the tag 'B-per'"),
    ("a O\nb I-per\n", "IOB2", 2, r"I-per after O is not valid IOB2"),
    ("a B-per\nb O\n", "BIOES", 2, r"the per entity before O has no E-per"),
    ("a O\n\nb X-per\n", "IOB2", 3, r"'X-per' is not a IOB2 tag"),
    (b"a O\nb\xe9 O\n", "IOB2", 2, r"not valid UTF-8 \(byte 0xe9 at column 2\)"),
])
def test_bad_lines_are_one_error_naming_file_and_line(tmp_path, content, scheme, line, message):
    path = write(tmp_path / "train.conll", content)
    with pytest.raises(TaggingError, match=r"^%s:%d: .*%s" % (path, line, message)):
        read_conll(path, scheme)


@pytest.mark.parametrize("content", ["", "\n\t\n  \n", "-DOCSTART- O\n\n"])
def test_an_empty_split_is_an_error(tmp_path, content):
    path = write(tmp_path / "dev.conll", content)
    with pytest.raises(TaggingError, match=r"dev.conll: no sentences"):
        read_conll(path)


def test_split_files_by_suffix_or_explicit(tmp_path):
    write(tmp_path / "train.tsv", "a O\n")
    write(tmp_path / "dev.txt", "a O\n")
    assert split_path(str(tmp_path), "train") == str(tmp_path / "train.tsv")
    assert split_path(str(tmp_path), "dev") == str(tmp_path / "dev.txt")
    assert split_path(str(tmp_path), "test", "/abs/x.conll") == "/abs/x.conll"
    with pytest.raises(TaggingError, match=r"no test file: expected one of .*test.conll, .*test.txt, .*test.tsv"):
        split_path(str(tmp_path), "test")


def test_label_lists_are_stable_and_unknown_tags_name_their_line(tmp_path):
    train = read_conll(write(tmp_path / "train.conll", "a B-per\nb I-per\n\nc B-loc\nd B-corp\n"))
    dev = read_conll(write(tmp_path / "dev.conll", "a O\nb B-date\n"))
    tags = training_tags(train)
    assert tags == ["O", "B-corp", "I-corp", "B-loc", "I-loc", "B-per", "I-per"]
    assert training_tags(list(reversed(train))) == tags
    assert given_tags(["O", "B-per", "I-per", "S-loc"], BIOES) == ["O", "B-per", "I-per", "B-loc", "I-loc"]
    with pytest.raises(TaggingError, match=r"--labels: tag 'per' is not a IOB2 tag"):
        given_tags(["per"])
    check_known_tags(train, tags)
    with pytest.raises(TaggingError, match=r"dev.conll:2: unknown tag 'B-date': type 'date' is not among the labels"):
        check_known_tags(dev, tags)


@pytest.mark.needs_shared
def test_wnut17_reads_with_its_documented_counts(wnut_dir):
    import os

    counts = {}
    for split in ("train", "dev", "test"):
        sentences = read_conll(split_path(wnut_dir, split))
        counts[split] = (len(sentences), sum(len(s.words) for s in sentences))
    assert counts == {"train": (3394, 62730), "dev": (1009, 15733), "test": (1287, 23394)}
    tags = training_tags(read_conll(os.path.join(wnut_dir, "train.conll")))
    assert len(tags) == 13 and "B-creative-work" in tags
