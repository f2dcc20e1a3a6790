"""Pure-Python BERT tokenizer: text -> WordPiece tokens, identical to the reference.

The stages are those of `bert.tokenization.FullTokenizer` (clean text, space
around CJK characters, whitespace split, lowercase + strip accents, split on
punctuation, greedy longest-match WordPiece), written for speed:

* ASCII text, by far the most common input, takes a regex shortcut that is
  provably the same as the per-character rules (no CJK, no accents, and every
  printable non-alphanumeric ASCII character counts as punctuation).
* Character classes and WordPiece results are memoised.
"""

import re
import unicodedata
from typing import Dict, List, Tuple

UNK_TOKEN = "[UNK]"
# The reference turns any word longer than this into [UNK].
MAX_INPUT_CHARS_PER_WORD = 200

# ASCII control characters are dropped, except \t \n \r, which are whitespace.
_ASCII_CLEAN = {cp: None for cp in list(range(0, 32)) + [127] if chr(cp) not in "\t\n\r"}
_ASCII_CLEAN.update({ord("\t"): " ", ord("\n"): " ", ord("\r"): " "})
# After cleaning, an ASCII word is a run of letters/digits; everything else
# printable is one punctuation token.
_ASCII_WORDS = re.compile(r"[A-Za-z0-9]+|[!-/:-@\[-`{-~]")

# Character classes for the general path.
_DROP, _SPACE, _CJK, _PUNCT, _OTHER = range(5)


def _is_cjk(cp: int) -> bool:
    """The CJK Unified Ideographs blocks the reference isolates as words."""
    return (
        0x4E00 <= cp <= 0x9FFF
        or 0x3400 <= cp <= 0x4DBF
        or 0x20000 <= cp <= 0x2A6DF
        or 0x2A700 <= cp <= 0x2B73F
        or 0x2B740 <= cp <= 0x2B81F
        or 0x2B820 <= cp <= 0x2CEAF
        or 0xF900 <= cp <= 0xFAFF
        or 0x2F800 <= cp <= 0x2FA1F
    )


def _classify(char: str) -> int:
    cp = ord(char)
    if char in " \t\n\r":
        return _SPACE
    category = unicodedata.category(char)
    if cp == 0 or cp == 0xFFFD or category in ("Cc", "Cf"):
        return _DROP
    if category == "Zs":
        return _SPACE
    if _is_cjk(cp):
        return _CJK
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return _PUNCT
    if category.startswith("P"):
        return _PUNCT
    return _OTHER


class _CharClasses(dict):
    """Memoised `_classify`, a dict so the hot loop pays one lookup per char."""

    def __missing__(self, char: str) -> int:
        value = self[char] = _classify(char)
        return value


_CHAR_CLASSES = _CharClasses()


class _CleanTable(dict):
    """`str.translate` table doing the reference's clean-up and CJK spacing in C.

    Control characters are dropped, whitespace becomes " ", CJK characters get
    spaces around them; entries are computed once per character.
    """

    def __missing__(self, codepoint: int):
        kind = _CHAR_CLASSES[chr(codepoint)]
        value = self[codepoint] = {_DROP: None, _SPACE: " ", _CJK: " %s " % chr(codepoint)}.get(kind, chr(codepoint))
        return value


_CLEAN_TABLE = _CleanTable()


def _strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


def _split_on_punctuation(word: str) -> List[str]:
    pieces = []  # type: List[str]
    current = []  # type: List[str]
    for char in word:
        if _CHAR_CLASSES[char] == _PUNCT:
            if current:
                pieces.append("".join(current))
                current = []
            pieces.append(char)
        else:
            current.append(char)
    if current:
        pieces.append("".join(current))
    return pieces


def basic_tokenize(text: str, do_lower_case: bool) -> List[str]:
    """Splits text into words and punctuation like the reference BasicTokenizer."""
    if text.isascii():
        text = text.translate(_ASCII_CLEAN)
        if do_lower_case:
            text = text.lower()
        return _ASCII_WORDS.findall(text)

    words = []  # type: List[str]
    for word in text.translate(_CLEAN_TABLE).split():
        if do_lower_case:
            word = word.lower()
            if not word.isascii():
                word = _strip_accents(word)
        # Most words of a non-ASCII text are ASCII: take the regex shortcut for those.
        words.extend(_ASCII_WORDS.findall(word) if word.isascii() else _split_on_punctuation(word))
    # Lowercasing or NFD can create whitespace or empty words: split again.
    return " ".join(words).split()


class WordpieceTokenizer:
    """Greedy longest-match-first WordPiece over a vocab, memoised per word."""

    def __init__(self, vocab: Dict[str, int], do_lower_case: bool = True, cache_size: int = 200000):
        self.vocab = vocab
        self.do_lower_case = do_lower_case
        self._cache = {}  # type: Dict[str, List[str]]
        # Tuples, not lists: the garbage collector stops tracking tuples of ints,
        # so a big cache does not slow every collection down.
        self._id_cache = {}  # type: Dict[str, Tuple[int, ...]]
        self._cache_size = cache_size
        # No piece can be longer than the longest vocab entry: start the greedy
        # longest-match there instead of at the end of a long word.
        self._max_piece = max(map(len, vocab), default=1)

    def ids(self, text: str) -> List[int]:
        """Vocab ids of `tokenize(text)`, memoised per word (the hot path of featurization)."""
        words = basic_tokenize(text, self.do_lower_case)
        cache = self._id_cache
        try:
            return [i for word in words for i in cache[word]]
        except KeyError:
            pass
        vocab = self.vocab
        for word in words:
            if word not in cache and len(cache) < self._cache_size:
                whole = vocab.get(word)  # most words are whole vocab entries: skip the split
                if whole is not None and len(word) <= MAX_INPUT_CHARS_PER_WORD:
                    cache[word] = (whole,)
                else:
                    cache[word] = self._word_ids(word)
        return [i for word in words for i in (cache.get(word) or self._word_ids(word))]

    def _word_ids(self, word: str) -> Tuple[int, ...]:
        return tuple([self.vocab[piece] for piece in self._split_word(word)])

    def tokenize(self, text: str) -> List[str]:
        """Text -> WordPiece tokens, exactly as `FullTokenizer.tokenize`."""
        tokens = []  # type: List[str]
        for word in basic_tokenize(text, self.do_lower_case):
            tokens.extend(self.word_pieces(word))
        return tokens

    def word_pieces(self, word: str) -> List[str]:
        """WordPieces of one basic-tokenized word, memoised like `tokenize`."""
        pieces = self._cache.get(word)
        if pieces is None:
            pieces = self._split_word(word)
            if len(self._cache) < self._cache_size:
                self._cache[word] = pieces
        return pieces

    def _split_word(self, word: str) -> List[str]:
        if len(word) > MAX_INPUT_CHARS_PER_WORD:
            return [UNK_TOKEN]
        vocab = self.vocab
        if word in vocab:  # most words are whole vocab entries
            return [word]
        pieces = []
        start = 0
        while start < len(word):
            end = min(len(word), start + self._max_piece)
            while start < end:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in vocab:
                    break
                end -= 1
            else:
                return [UNK_TOKEN]
            pieces.append(piece)
            start = end
        return pieces
