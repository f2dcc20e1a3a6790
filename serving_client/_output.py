"""Predictions as a table, one JSON document or JSON Lines, written as they arrive.

A `FailedPrediction` keeps its place: an `{"error", "line", "text"}` record in
JSON, an ERROR row in the table, so output rows still match input rows.
A token classifier's `TaggedText` is `{"text", "entities": [{"start", "end",
"label", "text", "score"}]}` in JSON; its table has one row per entity.
"""

import json
from typing import IO, Any, Dict, List, Optional, Union

from serving_client._client import FailedPrediction, Prediction
from serving_client._entities import TaggedText

Result = Union[Prediction, TaggedText, FailedPrediction]

OUTPUT_FORMATS = ("table", "json", "jsonl")
# Texts longer than this are shortened in the table (JSON keeps them whole).
TABLE_TEXT_WIDTH = 60


def prediction_record(prediction: Prediction) -> Dict[str, Any]:
    record = {
        "label": prediction.label,
        "score": prediction.score,
        "probabilities": prediction.probabilities,
        "text": prediction.text,
    }  # type: Dict[str, Any]
    if prediction.text_b is not None:
        record["text_b"] = prediction.text_b
    return record


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


def entities_record(tagged: TaggedText) -> Dict[str, Any]:
    return {"text": tagged.text, "entities": [entity.to_dict() for entity in tagged.entities]}


def result_record(result: Result, line: Optional[int] = None) -> Dict[str, Any]:
    if isinstance(result, FailedPrediction):
        return failure_record(result, line)
    if isinstance(result, TaggedText):
        return entities_record(result)
    return prediction_record(result)


class Writer:
    def __init__(self, stream: IO[str]):
        self.stream = stream

    def write(self, result: Result, line: Optional[int] = None) -> None:
        """Writes one result; `line` is its input file line, named in error records."""
        raise NotImplementedError

    def close(self) -> None:
        self.stream.flush()


class JsonlWriter(Writer):
    def write(self, result: Result, line: Optional[int] = None) -> None:
        self.stream.write(json.dumps(result_record(result, line), ensure_ascii=False) + "\n")


class JsonWriter(Writer):
    """One JSON array; a single prediction is written as one object."""

    def __init__(self, stream: IO[str], single: bool = False):
        super().__init__(stream)
        self.single = single
        self.records = []  # type: List[Dict[str, Any]]

    def write(self, result: Result, line: Optional[int] = None) -> None:
        self.records.append(result_record(result, line))

    def close(self) -> None:
        document = self.records[0] if self.single and len(self.records) == 1 else self.records
        self.stream.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")
        super().close()


class TableWriter(Writer):
    """Aligned columns: label, score, one probability column per class, text.

    Failed rows read ERROR with dashes. The header needs the class names, so
    failed rows before the first prediction wait for it (or for close).
    """

    ERROR = "ERROR"

    def __init__(self, stream: IO[str]):
        super().__init__(stream)
        self._widths = None  # type: Optional[List[int]]
        self._labels = []  # type: List[str]
        self._waiting = []  # type: List[FailedPrediction]

    def write(self, result: Result, line: Optional[int] = None) -> None:
        if isinstance(result, FailedPrediction):
            if self._widths is None:
                self._waiting.append(result)
            else:
                self._row([self.ERROR] + ["-"] * (1 + len(self._labels)) + [_table_text(result)])
            return
        if self._widths is None:
            self._header(list(result.probabilities))
        cells = [result.label, "%.4f" % result.score] + ["%.4f" % result.probabilities[label] for label in self._labels]
        self._row(cells + [_table_text(result)])

    def close(self) -> None:
        if self._widths is None and self._waiting:
            self._header([])
        super().close()

    def _header(self, labels: List[str]) -> None:
        self._labels = labels
        header = ["label", "score"] + ["p(%s)" % label for label in labels] + ["text"]
        self._widths = [max(5, len(self.ERROR), *(len(label) for label in labels)), 6] + [
            max(6, len(h)) for h in header[2:-1]
        ]
        self._row(header)
        waiting, self._waiting = self._waiting, []
        for failed in waiting:
            self.write(failed)

    def _row(self, cells: List[str]) -> None:
        assert self._widths is not None
        padded = [cell.ljust(width) for cell, width in zip(cells, self._widths)]
        self.stream.write("  ".join(padded + cells[len(self._widths):]).rstrip() + "\n")


class EntityTableWriter(Writer):
    """One row per entity: (input line,) start, end, label, score, text; ERROR rows for failed texts.

    A single text without entities prints "(no entities)"; in a file such a
    line simply has no rows.
    """

    HEADER = ["start", "end", "label", "score", "text"]

    def __init__(self, stream: IO[str], single: bool = False):
        super().__init__(stream)
        self.single = single
        self._header = False
        self._count = 0

    def write(self, result: Result, line: Optional[int] = None) -> None:
        if not self._header:
            self._row(([] if self.single else ["line"]) + self.HEADER)
            self._header = True
        where = [] if self.single else [str(line if line is not None else getattr(result, "index", "-"))]
        if isinstance(result, FailedPrediction):
            self._row(where + ["-", "-", "ERROR", "-", _table_text(result)])
            return
        assert isinstance(result, TaggedText)
        for entity in result.entities:
            self._row(where + [str(entity.start), str(entity.end), entity.label, "%.4f" % entity.score, _shorten(entity.text)])
            self._count += 1

    def close(self) -> None:
        if self.single and not self._count:
            self.stream.write("(no entities)\n")
        super().close()

    def _row(self, cells: List[str]) -> None:
        widths = ([] if self.single else [5]) + [5, 5, 14, 6]
        padded = [cell.ljust(width) for cell, width in zip(cells, widths)]
        self.stream.write("  ".join(padded + cells[len(widths):]).rstrip() + "\n")


def _table_text(result: Result) -> str:
    text = result.text if result.text_b is None else "%s | %s" % (result.text, result.text_b)
    return _shorten(" ".join(text.split()))


def _shorten(text: str) -> str:
    return text if len(text) <= TABLE_TEXT_WIDTH else text[: TABLE_TEXT_WIDTH - 3] + "..."


def make_writer(fmt: str, stream: IO[str], single: bool = False, entities: bool = False) -> Writer:
    """A writer for `fmt`; `entities` selects the table of a token classifier."""
    if fmt == "table":
        return EntityTableWriter(stream, single=single) if entities else TableWriter(stream)
    if fmt == "json":
        return JsonWriter(stream, single=single)
    if fmt == "jsonl":
        return JsonlWriter(stream)
    raise ValueError("unknown output format %r (expected one of: %s)" % (fmt, ", ".join(OUTPUT_FORMATS)))
