"""Results as a table, one JSON document or JSON Lines, written as they arrive.

What a result looks like is its decoder's (`serving_client.decoders`: its JSON
record and its table); this module writes them. A `FailedPrediction` keeps its
place: an `{"error", "line", "text"}` record in JSON, an ERROR row in the
table, so output rows still match input rows.
"""

import json
from typing import IO, Any, Callable, Dict, List, Optional

from serving_client._results import FailedPrediction

OUTPUT_FORMATS = ("table", "json", "jsonl")
# Texts longer than this are shortened in the table (JSON keeps them whole).
TABLE_TEXT_WIDTH = 60


def failure_record(failed: FailedPrediction, line: Optional[int] = None) -> Dict[str, Any]:
    """The error, the input line (1-based, when from a file) or else the row index, and the text."""
    record = {"error": str(failed.error)}  # type: Dict[str, Any]
    if line is not None:
        record["line"] = line
    else:
        record["index"] = failed.index
    record["text"] = failed.text
    if failed.text_b is not None:
        record["text_b"] = failed.text_b
    return record


class Writer:
    def __init__(self, stream: IO[str]):
        self.stream = stream

    def write(self, result: Any, line: Optional[int] = None) -> None:
        """Writes one result; `line` is its input file line, named in error records."""
        raise NotImplementedError

    def close(self) -> None:
        self.stream.flush()


class _RecordWriter(Writer):
    def __init__(self, stream: IO[str], record: Callable[[Any], Dict[str, Any]]):
        super().__init__(stream)
        self._record = record

    def record(self, result: Any, line: Optional[int]) -> Dict[str, Any]:
        return failure_record(result, line) if isinstance(result, FailedPrediction) else self._record(result)


class JsonlWriter(_RecordWriter):
    def write(self, result: Any, line: Optional[int] = None) -> None:
        self.stream.write(json.dumps(self.record(result, line), ensure_ascii=False) + "\n")


class JsonWriter(_RecordWriter):
    """One JSON array; a single prediction is written as one object."""

    def __init__(self, stream: IO[str], record: Callable[[Any], Dict[str, Any]], single: bool = False):
        super().__init__(stream, record)
        self.single = single
        self.records = []  # type: List[Dict[str, Any]]

    def write(self, result: Any, line: Optional[int] = None) -> None:
        self.records.append(self.record(result, line))

    def close(self) -> None:
        document = self.records[0] if self.single and len(self.records) == 1 else self.records
        self.stream.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")
        super().close()


def table_text(result: Any) -> str:
    """A result's text (and second text) on one line, shortened for a table cell."""
    text = result.text if result.text_b is None else "%s | %s" % (result.text, result.text_b)
    return shorten(" ".join(text.split()))


def shorten(text: str) -> str:
    return text if len(text) <= TABLE_TEXT_WIDTH else text[: TABLE_TEXT_WIDTH - 3] + "..."


def make_writer(fmt: str, stream: IO[str], decoder: Any, single: bool = False) -> Writer:
    """A writer for `fmt` of the results of `decoder` (a `serving_client.decoders.Decoder`)."""
    if fmt == "table":
        return decoder.table(stream, single)
    if fmt == "json":
        return JsonWriter(stream, decoder.record, single=single)
    if fmt == "jsonl":
        return JsonlWriter(stream, decoder.record)
    raise ValueError("unknown output format %r (expected one of: %s)" % (fmt, ", ".join(OUTPUT_FORMATS)))
