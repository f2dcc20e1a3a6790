"""Token classification (NER): per-token tag probabilities -> entity spans of each text.

Each text is cut into the windows training used (`doc_stride` apart); a
request carries whole texts and at most `batch_size` windows. The windows,
sub-token aggregation and span decoding are `serving_client._entities`.
"""

from typing import IO, Any, Dict, List, Optional, Sequence

from bert_contract import LABEL_IDS, METADATA_SIGNATURE, TOKEN_CLASSIFICATION, ModelInfo
from featurizer import Featurizer
from serving_client import _entities
from serving_client._entities import TaggedText
from serving_client._errors import InputError
from serving_client._output import Writer, shorten, table_text
from serving_client._results import FailedPrediction
from serving_client.decoders._base import Decoder, Example, check_pairs, register


class TokenClassification(Decoder):
    kind = TOKEN_CLASSIFICATION
    title = "token classification"
    method = "entities"
    pairs = False
    single_texts = "the model tags entities in single texts; it takes no second text"

    def configure(self, client, labels, info, featurizer) -> int:
        """The doc stride to window with; refuses tags the client cannot decode."""
        if not labels:
            raise ValueError(
                "a token classifier without a '%s' signature: give its tags with --labels" % METADATA_SIGNATURE
            )
        _entities.check_tags(labels, (info.tag_scheme if info is not None else "") or _entities.TAG_SCHEME)
        if client.doc_stride is not None:
            return client.doc_stride
        if info is not None and info.doc_stride > 0:
            return info.doc_stride
        return max(1, (featurizer.max_seq_length - 2) // 2)

    def batches(self, client, model, examples):
        def texts():
            for example in examples:
                text, pair = (example, None) if isinstance(example, str) else example
                if pair is not None:
                    raise InputError(self.single_texts)
                yield text

        with_labels = LABEL_IDS in model.layout.input_names
        for chunk in _entities.chunk_windows(texts(), model.featurizer, model.setting, client.batch_size):
            inputs = _entities.request_inputs(chunk, model.layout.sequence_length, with_labels)
            yield [(text, None) for text, _ in chunk], {"signature_name": client.signature, "inputs": inputs}, \
                [windowed for _, windowed in chunk]

    def decode(self, client, model, chunk, state, outputs, request) -> List[TaggedText]:
        tags = model.labels
        where = "the answer from %s" % model.predict_url
        per_text = _entities.window_outputs(outputs, list(zip([t for t, _ in chunk], state)), len(tags), where, request)
        return [
            TaggedText(text, _entities.decode(text, windowed, answer, tags, client.aggregation))
            for (text, _), windowed, answer in zip(chunk, state, per_text)
        ]

    def record(self, result: TaggedText) -> Dict[str, Any]:
        return {"text": result.text, "entities": [entity.to_dict() for entity in result.entities]}

    def table(self, stream: IO[str], single: bool) -> Writer:
        return EntityTableWriter(stream, single=single)

    def check_request(self, featurizer: Featurizer, info: Optional[ModelInfo], examples: Sequence[Example],
                      truncation: bool) -> List[bool]:
        check_pairs(self, info, examples)
        return [False] * len(examples)  # long texts are read in the model's windows, never cut

    def answer(self, result: TaggedText, truncated: bool, parameters: Any) -> Dict[str, Any]:
        """`entities` in text order (`threshold` drops spans scoring below it) and `truncated` (always false)."""
        threshold = parameters.threshold
        spans = [span for span in result.entities if threshold is None or span.score >= threshold]
        return {"entities": [span.to_dict() for span in spans], "truncated": truncated}


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

    def write(self, result: Any, line: Optional[int] = None) -> None:
        if not self._header:
            self._row(([] if self.single else ["line"]) + self.HEADER)
            self._header = True
        where = [] if self.single else [str(line if line is not None else getattr(result, "index", "-"))]
        if isinstance(result, FailedPrediction):
            self._row(where + ["-", "-", "ERROR", "-", table_text(result)])
            return
        for entity in result.entities:
            self._row(where + [str(entity.start), str(entity.end), entity.label, "%.4f" % entity.score, shorten(entity.text)])
            self._count += 1

    def close(self) -> None:
        if self.single and not self._count:
            self.stream.write("(no entities)\n")
        super().close()

    def _row(self, cells: List[str]) -> None:
        widths = ([] if self.single else [5]) + [5, 5, 14, 6]
        padded = [cell.ljust(width) for cell, width in zip(cells, widths)]
        self.stream.write("  ".join(padded + cells[len(widths):]).rstrip() + "\n")


DECODER = register(TokenClassification())
