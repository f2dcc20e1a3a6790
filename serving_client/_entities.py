"""A token classifier's requests and answers: texts -> windows -> predict bodies -> entities.

The decoding itself (aggregation over sub-tokens, repair, spans) is
`tagging.decode`, shared with the runner's evaluation and predictions.
"""

from typing import Any, Dict, Iterable, Iterator, List, NamedTuple, Optional, Sequence, Tuple

from bert_contract import INPUT_IDS, LABEL_IDS
from featurizer import Featurizer, WindowedText, pad_batch
from serving_client._errors import InputError, ModelMismatchError, ProtocolError
from tagging.decode import (  # noqa: F401  (the client's decoding, re-exported)
    AGGREGATIONS,
    DEFAULT_AGGREGATION,
    TAG_SCHEME,
    EntitySpan,
    check_aggregation,
    check_tags,
    decode,
    word_probabilities,
)


# What a JSON number parses to: the quick check of a row's types.
_NUMBER_TYPES = frozenset([int, float])


def _numbers(row: List[Any]) -> bool:
    """Every item is a number (an int or float, or an instance of one)."""
    return _NUMBER_TYPES.issuperset(map(type, row)) or all(isinstance(p, (int, float)) for p in row)


# -- requests and answers of a token classifier ------------------------------------


class TaggedText(NamedTuple):
    """The entities found in one text, in text order."""

    text: str
    entities: List[EntitySpan]

    @property
    def error(self) -> None:
        """Always None, so results of `on_error="collect"` can be told apart."""
        return None


def chunk_windows(
    texts: Iterable[str], featurizer: Featurizer, doc_stride: int, max_rows: int
) -> Iterator[List[Tuple[str, WindowedText]]]:
    """Texts with their windows, grouped into requests of at most `max_rows` windows.

    A text is never split across requests; one with more windows than
    `max_rows` goes alone.
    """
    chunk = []  # type: List[Tuple[str, WindowedText]]
    rows = 0
    for text in texts:
        if not isinstance(text, str):
            raise InputError("a text to tag must be a string, got %s" % type(text).__name__)
        windowed = featurizer.encode_windows(featurizer.text_pieces(text), doc_stride)
        if chunk and rows + len(windowed.encoded) > max_rows:
            yield chunk
            chunk, rows = [], 0
        chunk.append((text, windowed))
        rows += len(windowed.encoded)
    if chunk:
        yield chunk


def request_inputs(chunk: Sequence[Tuple[str, WindowedText]], sequence_length: Optional[int], with_labels: bool) -> Dict[str, Any]:
    """The predict inputs for every window of the chunk; `label_ids` is all zeros `[rows, L]`."""
    inputs = pad_batch([encoded for _, windowed in chunk for encoded in windowed.encoded], sequence_length)  # type: Dict[str, Any]
    if with_labels:
        inputs[LABEL_IDS] = [[0] * len(row) for row in inputs[INPUT_IDS]]
    return inputs


def window_outputs(
    outputs: Any, chunk: Sequence[Tuple[str, WindowedText]], num_tags: int, where: str, request: Any
) -> List[List[List[List[float]]]]:
    """The `[rows, L, num_tags]` answer, checked, split per text: outputs[text][window][position]."""
    rows = sum(len(windowed.encoded) for _, windowed in chunk)
    if not isinstance(outputs, list) or len(outputs) != rows:
        got = "%d rows" % len(outputs) if isinstance(outputs, list) else "no 'outputs'"
        raise ProtocolError("%s has %s for %d windows" % (where, got, rows), request)
    result = []
    row = 0
    for _, windowed in chunk:
        per_text = []
        for encoded in windowed.encoded:
            answer = outputs[row]
            row += 1
            if not isinstance(answer, list) or len(answer) < len(encoded.input_ids):
                raise ProtocolError("%s is not a [windows, tokens, tags] list (rank 3)" % where, request)
            for position in answer[: len(encoded.input_ids)]:
                if not isinstance(position, list) or not _numbers(position):
                    raise ProtocolError("%s is not a [windows, tokens, tags] list of numbers" % where, request)
                if len(position) != num_tags:
                    raise ModelMismatchError(
                        "%s has %d probabilities per token but the model has %d tags" % (where, len(position), num_tags),
                        request,
                    )
            per_text.append(answer)
        result.append(per_text)
    return result
