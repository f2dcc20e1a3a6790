"""Multi-label classification: one sigmoid per label; a text gets every label that reaches its threshold.

The thresholds are the model's (`ModelInfo.thresholds`, one per label, tuned on
dev or `DEFAULT_THRESHOLD`), so every client decides alike; `ServingClient(threshold=...)`,
`bert-classify --threshold` and the text API's `parameters.threshold` put one
value in their place. `label_ids` is multi-hot `[-1, num_labels]` (sent as zeros).
"""

from typing import IO, Any, Dict, List, NamedTuple, Optional, Sequence, Tuple

from bert_contract import DEFAULT_THRESHOLD, MULTI_LABEL_CLASSIFICATION, ModelInfo
from featurizer import Featurizer
from serving_client._output import Writer, table_text
from serving_client._results import FailedPrediction
from serving_client.decoders._base import (
    Decoder, Example, chunks, classifier_body, classifier_checks, label_names, probability_rows, ranked, register,
    text_fields,
)


class LabelSet(NamedTuple):
    """A multi-label classifier's answer for one text."""

    labels: Tuple[str, ...]  # the labels that reached their thresholds, best first (may be empty)
    scores: Dict[str, float]  # every label's probability, in the model's label order
    text: str
    text_b: Optional[str] = None

    @property
    def error(self) -> None:
        """Always None, so `result.error` tells results of `on_error="collect"` apart."""
        return None


def decide(scores: Dict[str, float], thresholds: Dict[str, float]) -> Tuple[str, ...]:
    """The labels whose probability reaches their threshold, best first."""
    return tuple(label for label, p in sorted(scores.items(), key=lambda item: -item[1]) if p >= thresholds[label])


class MultiLabelClassification(Decoder):
    kind = MULTI_LABEL_CLASSIFICATION
    title = "multi-label classification"

    def configure(self, client, labels, info, featurizer) -> Dict[str, float]:
        """Each label's threshold: the client's `threshold`, else the model's, else DEFAULT_THRESHOLD."""
        if not labels:
            raise ValueError("a multi-label classifier must name its labels")
        if client.threshold is not None:
            return {label: client.threshold for label in labels}
        thresholds = (info.thresholds if info is not None else []) or [DEFAULT_THRESHOLD] * len(labels)
        return dict(zip(labels, thresholds))

    def batches(self, client, model, examples):
        multi_hot = [0] * len(model.labels)
        for chunk in chunks(examples, client.batch_size):
            yield chunk, classifier_body(self, client, model, chunk, multi_hot), None

    def decode(self, client, model, chunk, state, outputs, request) -> List[LabelSet]:
        rows = probability_rows(outputs, model, len(chunk), request)
        labels = label_names(model, len(rows[0]))
        results = []
        for (text, text_b), row in zip(chunk, rows):
            scores = dict(zip(labels, row))
            results.append(LabelSet(decide(scores, model.setting), scores, text, text_b))
        return results

    def record(self, result: LabelSet) -> Dict[str, Any]:
        return dict({"labels": list(result.labels), "scores": result.scores}, **text_fields(result))

    def table(self, stream: IO[str], single: bool) -> Writer:
        return LabelSetTableWriter(stream)

    def check_request(self, featurizer: Featurizer, info: Optional[ModelInfo], examples: Sequence[Example],
                      truncation: bool) -> List[bool]:
        return classifier_checks(self, featurizer, info, examples, truncation)

    def answer(self, result: LabelSet, truncated: bool, parameters: Any) -> Dict[str, Any]:
        """`labels` (best first), `scores` (every label's, best first; `top_k` applied) and `truncated`.

        `parameters.threshold` decides every label at that value instead of the model's thresholds.
        """
        labels = result.labels
        if parameters.threshold is not None:
            labels = decide(result.scores, {label: parameters.threshold for label in result.scores})
        return {"labels": list(labels), "scores": ranked(result.scores, parameters.top_k), "truncated": truncated}


class LabelSetTableWriter(Writer):
    """Two columns: the text's labels with their scores (best first; "-" for none), and the text."""

    WIDTH = 36

    def __init__(self, stream: IO[str]):
        super().__init__(stream)
        self._header = False

    def write(self, result: Any, line: Optional[int] = None) -> None:
        if not self._header:
            self._row("labels", "text")
            self._header = True
        if isinstance(result, FailedPrediction):
            self._row("ERROR", table_text(result))
            return
        cell = ", ".join("%s %.4f" % (label, result.scores[label]) for label in result.labels) or "-"
        self._row(cell, table_text(result))

    def _row(self, labels: str, text: str) -> None:
        self.stream.write(("%s  %s" % (labels.ljust(self.WIDTH), text)).rstrip() + "\n")


DECODER = register(MultiLabelClassification())
