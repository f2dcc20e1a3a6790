"""Texts to classify from a file: one per line, TSV with a header, or JSONL.

Files are read lazily so a large one streams through the client; errors name
the file and line.
"""

import csv
import io
import json
import sys
from typing import IO, Iterator, Optional, Tuple

from serving_client._errors import InputError

FORMATS = ("lines", "tsv", "jsonl")
_SUFFIXES = {".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def detect_format(path: str, fmt: str = "auto") -> str:
    """`fmt` itself, or the format its suffix names (.tsv, .jsonl/.ndjson; else lines)."""
    if fmt != "auto":
        if fmt not in FORMATS:
            raise InputError("unknown input format %r (expected one of: auto, %s)" % (fmt, ", ".join(FORMATS)))
        return fmt
    for suffix, name in _SUFFIXES.items():
        if path.lower().endswith(suffix):
            return name
    return "lines"


def read_examples(
    path: str, fmt: str = "auto", text_column: str = "text", text_b_column: Optional[str] = None
) -> Iterator[Tuple[str, Optional[str]]]:
    """(text, second text or None) per example; `-` reads standard input.

    `lines`: each non-blank line is a text. `tsv`: the header names the columns
    (read like the project's data, without quoting). `jsonl`: each non-blank
    line is an object with the text fields.
    """
    for _, text, text_b in read_numbered_examples(path, fmt, text_column, text_b_column):
        yield text, text_b


def read_numbered_examples(
    path: str, fmt: str = "auto", text_column: str = "text", text_b_column: Optional[str] = None
) -> Iterator[Tuple[int, str, Optional[str]]]:
    """(1-based file line number, text, second text or None), so failures can name their lines."""
    fmt = detect_format(path, fmt)
    stream = _open(path)
    try:
        reader = {"lines": _lines, "tsv": _tsv, "jsonl": _jsonl}[fmt]
        try:
            for example in reader(stream, path, text_column, text_b_column):
                yield example
        except UnicodeDecodeError as e:
            raise InputError("%s: not valid UTF-8 (%s)" % (path, e.reason))
    finally:
        if stream is not sys.stdin:
            stream.close()


def count_examples(path: str, fmt: str = "auto") -> Optional[int]:
    """Number of examples for a progress bar (None for standard input or unreadable files)."""
    if path == "-":
        return None
    try:
        with open(path, "rb") as f:
            count = sum(1 for line in f if line.strip())
    except OSError:
        return None
    return max(0, count - 1) if detect_format(path, fmt) == "tsv" else count


def _open(path: str) -> IO[str]:
    if path == "-":
        return sys.stdin
    try:
        return io.open(path, encoding="utf-8", newline="")
    except OSError as e:
        raise InputError("cannot read %s: %s" % (path, e.strerror or e))


def _lines(stream: IO[str], path: str, text_column: str, text_b_column: Optional[str]) -> Iterator[Tuple[int, str, Optional[str]]]:
    if text_b_column:
        raise InputError("%s: a plain text file has no columns; use TSV or JSONL for text pairs" % path)
    for number, line in enumerate(stream, 1):
        text = line.rstrip("\r\n")
        if text.strip():
            yield number, text, None


def _tsv(stream: IO[str], path: str, text_column: str, text_b_column: Optional[str]) -> Iterator[Tuple[int, str, Optional[str]]]:
    reader = csv.reader(stream, delimiter="\t", quoting=csv.QUOTE_NONE)
    header = next(reader, None)
    if header is None:
        raise InputError("%s: empty file, expected a header line naming the columns" % path)
    index_a = _column(header, text_column, path)
    index_b = _column(header, text_b_column, path) if text_b_column else None
    for row in reader:
        if not row:
            continue
        if len(row) != len(header):
            raise InputError(
                "%s:%d: %d columns, but the header has %d" % (path, reader.line_num, len(row), len(header))
            )
        yield reader.line_num, row[index_a], row[index_b] if index_b is not None else None


def _column(header: list, name: str, path: str) -> int:
    if name not in header:
        raise InputError("%s:1: no column %r in the header (columns: %s)" % (path, name, ", ".join(header)))
    return header.index(name)


def _jsonl(stream: IO[str], path: str, text_column: str, text_b_column: Optional[str]) -> Iterator[Tuple[int, str, Optional[str]]]:
    for number, line in enumerate(stream, 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as e:
            raise InputError("%s:%d: not valid JSON: %s" % (path, number, e))
        if not isinstance(record, dict):
            raise InputError("%s:%d: expected a JSON object, got %s" % (path, number, type(record).__name__))
        text = _field(record, text_column, path, number, required=True)
        text_b = _field(record, text_b_column, path, number, required=False) if text_b_column else None
        yield number, text, text_b


def _field(record: dict, name: str, path: str, number: int, required: bool) -> Optional[str]:
    value = record.get(name)
    if value is None and not required:
        return None
    if value is None:
        raise InputError("%s:%d: no field %r" % (path, number, name))
    if not isinstance(value, str):
        raise InputError("%s:%d: field %r must be a string, got %s" % (path, number, name, type(value).__name__))
    return value
