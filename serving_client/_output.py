"""Predictions as a table, one JSON document or JSON Lines, written as they arrive."""

import json
from typing import IO, Any, Dict, List, Optional

from serving_client._client import Prediction

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


class Writer:
    def __init__(self, stream: IO[str]):
        self.stream = stream

    def write(self, prediction: Prediction) -> None:
        raise NotImplementedError

    def close(self) -> None:
        self.stream.flush()


class JsonlWriter(Writer):
    def write(self, prediction: Prediction) -> None:
        self.stream.write(json.dumps(prediction_record(prediction), ensure_ascii=False) + "\n")


class JsonWriter(Writer):
    """One JSON array; a single prediction is written as one object."""

    def __init__(self, stream: IO[str], single: bool = False):
        super().__init__(stream)
        self.single = single
        self.records = []  # type: List[Dict[str, Any]]

    def write(self, prediction: Prediction) -> None:
        self.records.append(prediction_record(prediction))

    def close(self) -> None:
        document = self.records[0] if self.single and len(self.records) == 1 else self.records
        self.stream.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")
        super().close()


class TableWriter(Writer):
    """Aligned columns: label, score, one probability column per class, text."""

    def __init__(self, stream: IO[str]):
        super().__init__(stream)
        self._widths = None  # type: Optional[List[int]]

    def write(self, prediction: Prediction) -> None:
        labels = list(prediction.probabilities)
        if self._widths is None:
            header = ["label", "score"] + ["p(%s)" % label for label in labels] + ["text"]
            self._widths = [max(5, max(len(label) for label in labels)), 6] + [max(6, len(h)) for h in header[2:-1]]
            self._row(header)
        text = prediction.text if prediction.text_b is None else "%s | %s" % (prediction.text, prediction.text_b)
        cells = [prediction.label, "%.4f" % prediction.score] + [
            "%.4f" % prediction.probabilities[label] for label in labels
        ]
        self._row(cells + [_shorten(" ".join(text.split()))])

    def _row(self, cells: List[str]) -> None:
        assert self._widths is not None
        padded = [cell.ljust(width) for cell, width in zip(cells, self._widths)]
        self.stream.write("  ".join(padded + cells[len(self._widths):]).rstrip() + "\n")


def _shorten(text: str) -> str:
    return text if len(text) <= TABLE_TEXT_WIDTH else text[: TABLE_TEXT_WIDTH - 3] + "..."


def make_writer(fmt: str, stream: IO[str], single: bool = False) -> Writer:
    if fmt == "table":
        return TableWriter(stream)
    if fmt == "json":
        return JsonWriter(stream, single=single)
    if fmt == "jsonl":
        return JsonlWriter(stream)
    raise ValueError("unknown output format %r (expected one of: %s)" % (fmt, ", ".join(OUTPUT_FORMATS)))
