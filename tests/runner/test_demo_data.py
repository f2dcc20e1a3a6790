"""The bundled demo data (data/demo) stays well-formed: `make demo` trains, evaluates and queries with it."""

import csv
import os
from collections import Counter

import pytest

DEMO_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data", "demo")
LABELS = {"account", "billing", "shipping", "technical"}
MIN_ROWS = {"train": 60, "dev": 15}


def read_rows(split):
    """Every row of a split as the runner reads it: tab-separated, QUOTE_NONE."""
    with open(os.path.join(DEMO_DIR, split + ".tsv"), encoding="utf-8", newline="") as f:
        return list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


def texts_of(split):
    return [text for _, text in read_rows(split)[1:]]


@pytest.fixture(scope="module", params=sorted(MIN_ROWS))
def split(request):
    return request.param


def test_header_and_two_fields_per_row(split):
    rows = read_rows(split)
    assert rows[0] == ["label", "text"]
    bad = [(line, row) for line, row in enumerate(rows[1:], start=2) if len(row) != 2]
    assert not bad, "%s.tsv: rows without exactly 2 fields (line, row): %s" % (split, bad)


def test_file_is_utf8_with_lf_line_endings(split):
    with open(os.path.join(DEMO_DIR, split + ".tsv"), "rb") as f:
        raw = f.read()
    raw.decode("utf-8")
    assert b"\r" not in raw
    assert raw.endswith(b"\n")


def test_four_classes_with_enough_rows(split):
    counts = Counter(label for label, _ in read_rows(split)[1:])
    assert set(counts) == LABELS
    small = {label: n for label, n in counts.items() if n < MIN_ROWS[split]}
    assert not small, "%s.tsv: classes with fewer than %d rows: %s" % (split, MIN_ROWS[split], small)


def test_texts_are_non_empty_without_tabs(split):
    for line, (_, text) in enumerate(read_rows(split)[1:], start=2):
        assert text.strip() and text == text.strip(), "%s.tsv:%d: empty or padded text" % (split, line)
        assert "\t" not in text


def test_some_texts_exercise_the_non_ascii_path(split):
    assert any(not text.isascii() for _, text in read_rows(split)[1:])


def test_no_duplicates_within_or_across_splits():
    seen = {}
    for split in sorted(MIN_ROWS):
        for text in texts_of(split):
            key = text.casefold()
            assert key not in seen, "%r is in %s.tsv and %s.tsv" % (text, seen[key], split)
            seen[key] = split


def test_queries_are_fresh_non_empty_lines():
    with open(os.path.join(DEMO_DIR, "queries.txt"), encoding="utf-8") as f:
        queries = f.read().splitlines()
    assert len(queries) >= 4
    assert all(q.strip() for q in queries), "queries.txt: empty line"
    known = {text.casefold() for split in MIN_ROWS for text in texts_of(split)}
    assert not [q for q in queries if q.casefold() in known], "queries.txt repeats training/dev texts"
