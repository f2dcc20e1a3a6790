"""Where each WordPiece came from: character spans in the original text and word indices.

Entity spans must point into the text the user sent, not into the lower-cased,
accent-stripped, NFD-normalized copy the tokenizer works on. This module runs
the same stages as `wordpiece.basic_tokenize` (clean-up, CJK splitting,
whitespace split, lower-case + accent stripping, punctuation split, second
whitespace split) one character at a time and remembers, for every normalized
character, the original character it came from. It is a separate path: the
id-only `encode` path stays as fast as before, and the property tests check
that both paths give the same ids.

Normalizing a word character by character equals normalizing it whole except
for two length-preserving effects (Greek final sigma and the canonical
reordering of combining marks), so the map is positional. A combining mark that
accent stripping removes belongs to the character before it, so a span never
cuts "e" + U+0301 in half. When one original character yields several
normalized ones (a Hangul syllable's jamo) and WordPiece splits between them,
the first piece gets the character and the later pieces get an empty span at
its end: spans never overlap.
"""

import re
import unicodedata
from typing import List, NamedTuple, Sequence, Tuple

from featurizer.wordpiece import _ASCII_WORDS, _CHAR_CLASSES, _CJK, _DROP, _PUNCT, _SPACE, UNK_TOKEN, WordpieceTokenizer

Span = Tuple[int, int]
# The ASCII characters the clean-up drops (controls other than \t \n \r): a text without them keeps
# every character's position through the basic tokenizer's stages.
_ASCII_DROPPED = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class WordPieces(NamedTuple):
    """WordPieces of one text (or one list of pre-split words), with where they came from.

    `starts`/`ends`: each piece's `[start, end)` in the original string;
    `word_index`: the word each piece belongs to; `words`: each word's
    `[start, end)` (the basic tokenizer's words for a text; for pre-split words
    their place in `" ".join(words)`). A pre-split word that normalizes to
    nothing (e.g. only a variation selector) has a span but no piece.
    """

    ids: List[int]
    starts: List[int]
    ends: List[int]
    word_index: List[int]
    words: List[Span]

    def first_pieces(self) -> List[int]:
        """Index of each word's first piece, -1 for a word without pieces."""
        first = [-1] * len(self.words)
        for position in range(len(self.ids) - 1, -1, -1):
            first[self.word_index[position]] = position
        return first


class _NormalizedWord(NamedTuple):
    text: str  # as WordPiece sees it
    starts: List[int]  # per character of `text`: where in the original it came from
    ends: List[int]


def _normalize(text: str, do_lower_case: bool) -> str:
    """The reference's per-token normalization: lower-case, NFD, drop non-spacing marks."""
    if not do_lower_case:
        return text
    lowered = text.lower()
    if lowered.isascii():
        return lowered
    return "".join(c for c in unicodedata.normalize("NFD", lowered) if unicodedata.category(c) != "Mn")


def _whitespace_tokens(text: str) -> List[List[int]]:
    """Original indices of each whitespace-delimited token after clean-up and CJK splitting."""
    tokens = []  # type: List[List[int]]
    current = []  # type: List[int]
    for i, char in enumerate(text):
        kind = _CHAR_CLASSES[char]
        if kind == _DROP:  # removed by the clean-up: the token goes on across it
            continue
        if kind == _SPACE or char.isspace():
            if current:
                tokens.append(current)
                current = []
        elif kind == _CJK:
            if current:
                tokens.append(current)
                current = []
            tokens.append([i])
        else:
            current.append(i)
    if current:
        tokens.append(current)
    return tokens


def _normalized_token(text: str, indices: List[int], do_lower_case: bool) -> _NormalizedWord:
    surface = "".join(text[i] for i in indices)
    whole = _normalize(surface, do_lower_case)
    if whole == surface:
        return _NormalizedWord(whole, list(indices), [i + 1 for i in indices])
    starts = []  # type: List[int]
    ends = []  # type: List[int]
    for i in indices:
        produced = _normalize(text[i], do_lower_case)
        if produced:
            starts.extend([i] * len(produced))
            ends.extend([i + 1] * len(produced))
        elif ends:  # a stripped accent belongs to the character before it: to all it produced
            owner = starts[-1]
            k = len(ends) - 1
            while k >= 0 and starts[k] == owner:
                ends[k] = i + 1
                k -= 1
    if len(starts) != len(whole):  # never seen; keep the token whole rather than guess
        starts = [indices[0]] * len(whole)
        ends = [indices[-1] + 1] * len(whole)
    return _NormalizedWord(whole, starts, ends)


def _split_normalized(token: _NormalizedWord) -> List[_NormalizedWord]:
    """Punctuation split, then the reference's second whitespace split."""
    words = []  # type: List[_NormalizedWord]
    begin = 0

    def close(end: int) -> None:
        if end > begin:
            words.append(_NormalizedWord(token.text[begin:end], token.starts[begin:end], token.ends[begin:end]))

    for k, char in enumerate(token.text):
        if _CHAR_CLASSES[char] == _PUNCT:
            close(k)
            words.append(_NormalizedWord(char, token.starts[k : k + 1], token.ends[k : k + 1]))
            begin = k + 1
        elif char.isspace():
            close(k)
            begin = k + 1
    close(len(token.text))
    return words


def normalized_words(text: str, do_lower_case: bool) -> List[_NormalizedWord]:
    """The words `basic_tokenize(text)` returns, each with its per-character origins."""
    words = []  # type: List[_NormalizedWord]
    for indices in _whitespace_tokens(text):
        words.extend(_split_normalized(_normalized_token(text, indices, do_lower_case)))
    return words


def _piece_lengths(word: str, pieces: List[str]) -> List[int]:
    """How many characters of `word` each WordPiece covers ("##" is not in the word)."""
    if pieces == [UNK_TOKEN]:
        return [len(word)]
    return [len(piece) - (2 if k else 0) for k, piece in enumerate(pieces)]


class _Builder:
    """Collects pieces in order and keeps their spans inside the text and disjoint."""

    def __init__(self) -> None:
        self.result = WordPieces([], [], [], [], [])
        self._end = 0

    def add_word(self, span: Span) -> int:
        start = max(span[0], self._end)
        self.result.words.append((start, max(span[1], start)))
        return len(self.result.words) - 1

    def add_piece(self, token_id: int, start: int, end: int, word: int) -> None:
        start = max(start, self._end)
        end = max(end, start)
        self.result.ids.append(token_id)
        self.result.starts.append(start)
        self.result.ends.append(end)
        self.result.word_index.append(word)
        self._end = end

    def add_normalized(self, tokenizer: WordpieceTokenizer, word: _NormalizedWord, word_index: int, offset: int) -> None:
        pieces = tokenizer.word_pieces(word.text)
        vocab = tokenizer.vocab
        position = 0
        for piece, length in zip(pieces, _piece_lengths(word.text, pieces)):
            chars = range(position, position + length)
            start = min(word.starts[k] for k in chars) + offset
            end = max(word.ends[k] for k in chars) + offset
            self.add_piece(vocab[piece], start, end, word_index)
            position += length


def text_pieces(tokenizer: WordpieceTokenizer, text: str) -> WordPieces:
    """WordPieces of a raw text; words are the basic tokenizer's words."""
    if text.isascii() and _ASCII_DROPPED.search(text) is None:
        return _ascii_text_pieces(tokenizer, text)
    return _general_text_pieces(tokenizer, text)


def _ascii_text_pieces(tokenizer: WordpieceTokenizer, text: str) -> WordPieces:
    """`_general_text_pieces` of an ASCII text the clean-up drops nothing from, without its per-character work.

    Lower-casing keeps ASCII positions and every word is a run of letters and digits or one
    punctuation character (`wordpiece._ASCII_WORDS`, the id path's own split), so the words are
    the regex's matches and a piece's span is its place in its word.
    """
    builder = _Builder()
    vocab = tokenizer.vocab
    for match in _ASCII_WORDS.finditer(text.lower() if tokenizer.do_lower_case else text):
        start, end = match.span()
        word = match.group()
        index = builder.add_word((start, end))
        pieces = tokenizer.word_pieces(word)
        for piece, length in zip(pieces, _piece_lengths(word, pieces)):
            builder.add_piece(vocab[piece], start, start + length, index)
            start += length
    return builder.result


def _general_text_pieces(tokenizer: WordpieceTokenizer, text: str) -> WordPieces:
    """`text_pieces` of any text, one character at a time."""
    builder = _Builder()
    for word in normalized_words(text, tokenizer.do_lower_case):
        index = builder.add_word((min(word.starts), max(word.ends)))
        builder.add_normalized(tokenizer, word, index, 0)
    return builder.result


def word_pieces(tokenizer: WordpieceTokenizer, words: Sequence[str]) -> WordPieces:
    """WordPieces of pre-split words (CoNLL tokens), each tokenized on its own.

    Spans are positions in `" ".join(words)`; a word that the basic tokenizer
    splits further (e.g. "New-York") gives all its pieces its own index.
    """
    builder = _Builder()
    offset = 0
    for word in words:
        index = builder.add_word((offset, offset + len(word)))
        for normalized in normalized_words(word, tokenizer.do_lower_case):
            builder.add_normalized(tokenizer, normalized, index, offset)
        offset += len(word) + 1
    return builder.result
