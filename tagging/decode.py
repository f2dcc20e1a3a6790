"""Per-token tag probabilities -> entities with exact character offsets.

A token classifier answers one probability row per WordPiece. The client (and
the runner's evaluation and predictions) turn them into words' tags and
entities of the text:

* Words are the featurizer's basic words (whitespace, punctuation and CJK
  split), each with its `[start, end)` in the original text.
* A word's probabilities come from the window where it has the most context
  (`WindowedText.reading`) and from its pieces there, aggregated by
  `first` (the first piece's, what training labels: the default), `average`
  (the mean over its pieces) or `max` (the row of the piece with the highest
  probability).
* Each word takes its most probable tag; an `I-x` that does not continue an `x`
  entity starts a new one (`tagging.repair`: repaired, never dropped; the
  evaluation scores the same repaired tags).
* An entity spans its words: `start` of the first, `end` of the last, and
  `text == input[start:end]` always. Its score is the mean over its words of
  each word's top probability.
"""

from typing import TYPE_CHECKING, Any, Dict, List, NamedTuple, Optional, Sequence

from tagging.schemes import IOB2, OUTSIDE, entities, repair, split_tag

if TYPE_CHECKING:  # only its attributes are read: tagging does not need the featurizer
    from featurizer import WindowedText

AGGREGATIONS = ("first", "average", "max")
DEFAULT_AGGREGATION = "first"
# The scheme of an export's tags: training converts every input scheme to it.
TAG_SCHEME = IOB2


class EntitySpan(NamedTuple):
    """One entity: `text == input[start:end]`."""

    start: int
    end: int
    label: str
    text: str
    score: float

    def to_dict(self) -> Dict[str, Any]:
        return {"start": self.start, "end": self.end, "label": self.label, "text": self.text, "score": self.score}


def check_aggregation(aggregation: str) -> str:
    if aggregation not in AGGREGATIONS:
        raise ValueError("aggregation must be one of %s, got %r" % (", ".join(AGGREGATIONS), aggregation))
    return aggregation


def check_tags(tags: Sequence[str], scheme: str = TAG_SCHEME) -> None:
    """ValueError unless `tags` are IOB2 tags with an O: what `decode` can read."""
    if scheme != TAG_SCHEME:
        raise ValueError("the model's tags are in the %s scheme; this client decodes %s" % (scheme, TAG_SCHEME))
    if OUTSIDE not in tags:
        raise ValueError("the model's tags (%s) have no %r" % (", ".join(tags), OUTSIDE))
    for tag in tags:
        split_tag(tag)


def _aggregate(rows: List[Sequence[float]], aggregation: str) -> List[float]:
    if aggregation == "first" or len(rows) == 1:
        return list(rows[0])
    if aggregation == "average":
        return [sum(column) / len(rows) for column in zip(*rows)]
    return list(max(rows, key=max))


def word_probabilities(
    windowed: "WindowedText", outputs: Sequence[Sequence[Sequence[float]]], aggregation: str = DEFAULT_AGGREGATION
) -> List[Optional[List[float]]]:
    """Each word's tag probabilities (None for a word without pieces); `outputs[i]` answers window i."""
    result = []  # type: List[Optional[List[float]]]
    for reading in windowed.reading:
        if reading is None:
            result.append(None)
            continue
        window, positions = reading
        result.append(_aggregate([outputs[window][p] for p in positions], aggregation))
    return result


def word_tags(probabilities: Sequence[Optional[Sequence[float]]], tags: Sequence[str]) -> List[str]:
    """Repaired IOB2 tags of the words: the most probable tag each, O for a word without pieces."""
    best = [OUTSIDE if row is None else tags[max(range(len(row)), key=row.__getitem__)] for row in probabilities]
    return repair(best)


def decode(
    text: str,
    windowed: "WindowedText",
    outputs: Sequence[Sequence[Sequence[float]]],
    tags: Sequence[str],
    aggregation: str = DEFAULT_AGGREGATION,
) -> List[EntitySpan]:
    """The entities of `text` from the model's answer for each of its windows."""
    probabilities = word_probabilities(windowed, outputs, aggregation)
    words = windowed.pieces.words
    found = []
    for entity in entities(word_tags(probabilities, tags)):
        start, end = words[entity.start][0], words[entity.end - 1][1]
        scores = [max(row) for row in probabilities[entity.start : entity.end] if row is not None]
        found.append(EntitySpan(start, end, entity.label, text[start:end], sum(scores) / len(scores) if scores else 0.0))
    return found
