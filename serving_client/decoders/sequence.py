"""Sequence classification: one softmax over the labels per text; the best label wins."""

from typing import IO, Any, Dict, List, NamedTuple, Optional, Sequence

from bert_contract import SEQUENCE_CLASSIFICATION, ModelInfo
from featurizer import Featurizer
from serving_client._output import Writer, table_text
from serving_client._results import FailedPrediction
from serving_client.decoders._base import (
    Decoder, Example, chunks, classifier_body, classifier_checks, label_names, probability_rows, ranked, register,
    text_fields,
)


class Prediction(NamedTuple):
    label: str
    probabilities: Dict[str, float]  # in the model's label order
    text: str
    text_b: Optional[str] = None

    @property
    def score(self) -> float:
        return self.probabilities[self.label]

    @property
    def error(self) -> None:
        """Always None, so `result.error` tells results of `on_error="collect"` apart."""
        return None


class SequenceClassification(Decoder):
    kind = SEQUENCE_CLASSIFICATION
    title = "sequence classification"

    def batches(self, client, model, examples):
        for chunk in chunks(examples, client.batch_size):
            yield chunk, classifier_body(self, client, model, chunk, 0), None

    def decode(self, client, model, chunk, state, outputs, request) -> List[Prediction]:
        rows = probability_rows(outputs, model, len(chunk), request)
        labels = label_names(model, len(rows[0]))
        results = []
        for (text, text_b), row in zip(chunk, rows):
            best = max(range(len(row)), key=row.__getitem__)
            results.append(Prediction(labels[best], dict(zip(labels, row)), text, text_b))
        return results

    def record(self, result: Prediction) -> Dict[str, Any]:
        return dict({"label": result.label, "score": result.score, "probabilities": result.probabilities},
                    **text_fields(result))

    def table(self, stream: IO[str], single: bool) -> Writer:
        return TableWriter(stream)

    def check_request(self, featurizer: Featurizer, info: Optional[ModelInfo], examples: Sequence[Example],
                      truncation: bool) -> List[bool]:
        return classifier_checks(self, featurizer, info, examples, truncation)

    def answer(self, result: Prediction, truncated: bool, parameters: Any) -> Dict[str, Any]:
        """`label`, `score`, `scores` (best first; `top_k`/`threshold` applied) and `truncated`.

        With a threshold, labels scoring below it are left out of `scores`, and
        `label` is None when even the best one does.
        """
        label = result.label
        if parameters.threshold is not None and result.score < parameters.threshold:
            label = None
        scores = ranked(result.probabilities, parameters.top_k, parameters.threshold)
        return {"label": label, "score": result.score, "scores": scores, "truncated": truncated}


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

    def write(self, result: Any, line: Optional[int] = None) -> None:
        if isinstance(result, FailedPrediction):
            if self._widths is None:
                self._waiting.append(result)
            else:
                self._row([self.ERROR] + ["-"] * (1 + len(self._labels)) + [table_text(result)])
            return
        if self._widths is None:
            self._header(list(result.probabilities))
        cells = [result.label, "%.4f" % result.score] + ["%.4f" % result.probabilities[label] for label in self._labels]
        self._row(cells + [table_text(result)])

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


DECODER = register(SequenceClassification())
