"""Overlapping windows over a long token sequence, and which window to trust per token.

A token classifier must not truncate: a sentence longer than the model's
length is cut into windows of `max_pieces` WordPieces whose starts are
`doc_stride` apart, the last one ending at the last piece. Training and the
client cut the same windows with the same function. A piece seen by several
windows takes its prediction from the one where it has the most context on
both sides (the smaller of its left and right context, ties to the longer and
then the earlier window), as BERT's SQuAD code does for answers.
"""

from typing import TYPE_CHECKING, Callable, List, NamedTuple, Optional, Sequence, Tuple

from featurizer.errors import FeaturizerError
from featurizer.offsets import WordPieces

if TYPE_CHECKING:  # features.py imports this module
    from featurizer.features import EncodedInput


class Window(NamedTuple):
    """Pieces `[start, end)` of the document."""

    start: int
    end: int

    def context(self, position: int) -> float:
        """How well `position` is surrounded inside this window (higher is better)."""
        return min(position - self.start, self.end - 1 - position) + 0.01 * (self.end - self.start)


def windows(num_pieces: int, max_pieces: int, doc_stride: int) -> List[Window]:
    """The windows covering `num_pieces` pieces; one (maybe empty) window when they fit."""
    if max_pieces < 1:
        raise FeaturizerError("a window must hold at least one token, got max_pieces=%d" % max_pieces)
    if doc_stride < 1:
        raise FeaturizerError("doc_stride must be at least 1, got %d" % doc_stride)
    result = []  # type: List[Window]
    start = 0
    while True:
        end = min(num_pieces, start + max_pieces)
        result.append(Window(start, end))
        if end >= num_pieces:
            return result
        start += min(end - start, doc_stride)


def best_windows(spans: List[Window], num_pieces: int) -> List[int]:
    """For each piece, the index of the window where it has the most context."""
    if len(spans) == 1 and spans[0] == (0, num_pieces):  # a text that fits: every piece is read in place
        return [0] * num_pieces
    best = [-1] * num_pieces
    scores = [float("-inf")] * num_pieces
    for index, window in enumerate(spans):
        for position in range(window.start, window.end):
            score = window.context(position)
            if score > scores[position]:
                best[position], scores[position] = index, score
    return best


class WindowedText(NamedTuple):
    """A text's (or sentence's) WordPieces cut into model inputs.

    `encoded[i]` is `[CLS] pieces[windows[i]] [SEP]`; `reading[w]` says where
    word `w` is read at prediction time: `(window index, positions of its
    pieces in that window)`, chosen by the context of its first piece, or None
    for a word without pieces.
    """

    pieces: WordPieces
    windows: List[Window]
    encoded: List["EncodedInput"]
    reading: List[Optional[Tuple[int, List[int]]]]

    def labelled_positions(self, index: int) -> List[Tuple[int, int]]:
        """(position, word) of every first piece inside window `index`: where training puts a label."""
        window = self.windows[index]
        firsts = self.pieces.first_pieces()
        return [(first - window.start + 1, word) for word, first in enumerate(firsts) if window.start <= first < window.end]


def window_pieces(
    pieces: WordPieces, spans: List[Window], encode: Callable[[Sequence[int], Window], "EncodedInput"]
) -> WindowedText:
    """Cuts `pieces` into `spans` (`encode(ids, window)` builds each input) and picks each word's window."""
    best = best_windows(spans, len(pieces.ids))
    reading = [None] * len(pieces.words)  # type: List[Optional[Tuple[int, List[int]]]]
    word_index = pieces.word_index
    for word, first in enumerate(pieces.first_pieces()):
        if first < 0:
            continue
        index = best[first]
        window = spans[index]
        last = first + 1  # a word's pieces are consecutive: its run ends at the next word or the window's end
        while last < window.end and word_index[last] == word:
            last += 1
        reading[word] = (index, list(range(first - window.start + 1, last - window.start + 1)))
    return WindowedText(pieces, spans, [encode(pieces.ids, window) for window in spans], reading)
