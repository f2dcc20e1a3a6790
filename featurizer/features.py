"""Text -> BERT classifier inputs: `[CLS] a [SEP] (b [SEP])` ids and segment ids.

This is the one featurizer of the project. Training, the export's warm-up
requests and the client all call it, so a served model always sees the ids it
was trained on. Output equals `bert.tokenization.FullTokenizer` followed by the
reference `run_classifier.convert_single_example` (before padding).
"""

import re
from typing import Dict, List, NamedTuple, Optional, Sequence

from bert_contract import INPUT_IDS, INPUT_MASK, SEGMENT_IDS
from featurizer import fast, offsets
from featurizer.errors import FeaturizerError
from featurizer.offsets import WordPieces
from featurizer.vocab import parse_vocab, read_vocab_bytes, vocab_bytes_sha256
from featurizer.windows import Window, WindowedText, window_pieces, windows
from featurizer.wordpiece import WordpieceTokenizer


# Tokenization is word by word, so the first N pieces of a text are those of any prefix that ends
# at whitespace and holds N pieces. A text longer than this many characters per needed piece
# is tokenized as such a prefix first (English runs ~4-5 characters a piece): a megabyte text
# costs what its first words cost, and fills no word cache with pieces truncation drops.
PREFIX_CHARS_PER_PIECE = 8
# Whitespace to both BERT's basic tokenizer and str.split(), never removed by its cleaning.
_WORD_BREAK = re.compile(r"[ \t\n\r]")


class EncodedInput(NamedTuple):
    """One example, unpadded: the mask is 1 for each id and 0 for padding."""

    input_ids: List[int]
    segment_ids: List[int]


def truncate_pair(tokens_a: List, tokens_b: List, max_length: int) -> None:
    """Trims the longer list one token at a time until both fit (in place).

    The reference's heuristic: a token of a short text carries more information
    than one of a long text, so the long one loses tokens first.
    """
    while len(tokens_a) + len(tokens_b) > max_length:
        if len(tokens_a) > len(tokens_b):
            tokens_a.pop()
        else:
            tokens_b.pop()


class Featurizer:
    """Tokenizes with one vocab and casing and builds fixed-size BERT inputs.

    The vocab is read from `vocab_file`, or given as `vocab_bytes` (e.g. the
    vocab an export carries), in which case `vocab_file` only names it in errors.
    """

    def __init__(
        self,
        vocab_file: str,
        do_lower_case: bool = True,
        max_seq_length: int = 128,
        use_fast: bool = False,
        vocab_bytes: Optional[bytes] = None,
    ):
        if max_seq_length < 2:
            raise FeaturizerError(
                "max_seq_length=%d is too small: [CLS] and [SEP] need 2 positions" % max_seq_length
            )
        self.vocab_file = vocab_file
        raw = read_vocab_bytes(vocab_file) if vocab_bytes is None else vocab_bytes
        self.vocab = parse_vocab(raw, vocab_file)
        self.vocab_sha256 = vocab_bytes_sha256(raw)
        self.do_lower_case = bool(do_lower_case)
        self.max_seq_length = int(max_seq_length)
        self._wordpiece = WordpieceTokenizer(self.vocab, self.do_lower_case)
        self._fast = fast.make(self.vocab, self.do_lower_case) if use_fast else None
        self._cls_id = self.vocab["[CLS]"]
        self._sep_id = self.vocab["[SEP]"]

    @property
    def uses_fast_path(self) -> bool:
        return self._fast is not None

    def tokenize(self, text: str) -> List[str]:
        """WordPiece tokens of one text (for display and debugging)."""
        return self._wordpiece.tokenize(text)

    def token_ids(self, texts: Sequence[str], limit: Optional[int] = None) -> List[List[int]]:
        """WordPiece ids of each text; ASCII texts take the fast path when there is one.

        With `limit`, only a text's first `limit` ids matter (truncation drops the rest): a
        long text's list may then stop after them, at a word boundary, instead of holding all.
        """
        if limit is None:
            return self._token_ids(texts)
        result = [None] * len(texts)  # type: List
        pending = list(range(len(texts)))
        chars = max(limit, 8) * PREFIX_CHARS_PER_PIECE
        while pending:
            prefixes = [_prefix(texts[i], chars) for i in pending]
            still = []
            for i, prefix, ids in zip(pending, prefixes, self._token_ids(prefixes)):
                if len(ids) >= limit or len(prefix) == len(texts[i]):
                    result[i] = ids
                else:  # e.g. long runs of characters the cleaning drops: take a longer prefix
                    still.append(i)
            pending, chars = still, chars * 4
        return result

    def _token_ids(self, texts: Sequence[str]) -> List[List[int]]:
        result = [None] * len(texts)  # type: List
        ascii_positions = []
        if self._fast is not None:
            ascii_positions = [i for i, text in enumerate(texts) if text.isascii()]
            if ascii_positions:
                fast_ids = self._fast.ids([texts[i] for i in ascii_positions])
                for i, ids in zip(ascii_positions, fast_ids):
                    result[i] = ids
        for i, text in enumerate(texts):
            if result[i] is None:
                result[i] = self._wordpiece.ids(text)
        return result

    # -- token classification: pieces with offsets, windows ------------------------

    def text_pieces(self, text: str) -> WordPieces:
        """WordPieces of `text` with their character spans and the basic tokenizer's words.

        Same ids as `token_ids([text])[0]`, on a separate (slower) path.
        """
        return offsets.text_pieces(self._wordpiece, text)

    def word_pieces(self, words: Sequence[str]) -> WordPieces:
        """WordPieces of pre-split words (e.g. CoNLL tokens), each word tokenized on its own."""
        return offsets.word_pieces(self._wordpiece, words)

    def windows(self, num_pieces: int, doc_stride: int) -> List[Window]:
        """Overlapping windows of at most `max_seq_length - 2` pieces (room for [CLS] and [SEP])."""
        return windows(num_pieces, self.max_seq_length - 2, doc_stride)

    def encode_window(self, ids: Sequence[int], window: Window) -> EncodedInput:
        """`[CLS] ids[window] [SEP]`: position `p` of the result holds piece `window.start + p - 1`."""
        input_ids = [self._cls_id, *ids[window.start : window.end], self._sep_id]
        return EncodedInput(input_ids, [0] * len(input_ids))

    def encode_windows(self, pieces: WordPieces, doc_stride: int) -> WindowedText:
        """All windows of `pieces` as model inputs, and where each word is read (no truncation)."""
        return window_pieces(pieces, self.windows(len(pieces.ids), doc_stride), self.encode_window)

    def encode(self, text_a: str, text_b: Optional[str] = None) -> EncodedInput:
        """One example; `text_b` makes it a sentence pair."""
        return self.encode_batch([text_a], None if text_b is None else [text_b])[0]

    def encode_batch(
        self, texts_a: Sequence[str], texts_b: Optional[Sequence[Optional[str]]] = None
    ) -> List[EncodedInput]:
        """Many examples at once (the fast path tokenizes a batch in parallel)."""
        if texts_b is not None and len(texts_b) != len(texts_a):
            raise FeaturizerError(
                "got %d first texts but %d second texts" % (len(texts_a), len(texts_b))
            )
        # Neither text of a pair keeps more than max_seq_length - 3 pieces, whatever the other's length.
        limit = self.max_seq_length - 2
        ids_a = self.token_ids(texts_a, limit)
        ids_b = [None] * len(ids_a)  # type: List
        if texts_b is not None:
            # The reference treats an empty second text as no second text.
            present = [i for i, text in enumerate(texts_b) if text]
            for i, ids in zip(present, self.token_ids([texts_b[i] for i in present], limit)):
                ids_b[i] = ids
        return [self._assemble(a, b) for a, b in zip(ids_a, ids_b)]

    def _assemble(self, ids_a: List[int], ids_b: Optional[List[int]]) -> EncodedInput:
        # The convention in BERT (from the reference):
        #  pair:   [CLS] is this jack ##son ##ville ? [SEP] no it is not . [SEP]
        #  types:  0     0  0    0    0     0       0 0     1  1  1  1   1 1
        #  single: [CLS] the dog is hairy . [SEP]
        #  types:  0     0   0   0  0     0 0
        # An empty token list (e.g. a text of only control characters) counts
        # as "no second text", as in the reference.
        if ids_b:
            if self.max_seq_length < 3:
                raise FeaturizerError(
                    "max_seq_length=%d is too small for a text pair (needs 3 or more)"
                    % self.max_seq_length
                )
            ids_a, ids_b = list(ids_a), list(ids_b)
            truncate_pair(ids_a, ids_b, self.max_seq_length - 3)
            input_ids = [self._cls_id] + ids_a + [self._sep_id] + ids_b + [self._sep_id]
            segment_ids = [0] * (len(ids_a) + 2) + [1] * (len(ids_b) + 1)
        else:
            ids_a = ids_a[: self.max_seq_length - 2]
            input_ids = [self._cls_id] + ids_a + [self._sep_id]
            segment_ids = [0] * len(input_ids)
        return EncodedInput(input_ids, segment_ids)


def _prefix(text: str, chars: int) -> str:
    """`text`, or its start up to the first word break at or after `chars` characters."""
    if len(text) <= chars:
        return text
    found = _WORD_BREAK.search(text, chars)
    return text if found is None else text[: found.start()]


def pad_batch(encoded: Sequence[EncodedInput], length: Optional[int] = None) -> Dict[str, List[List[int]]]:
    """Zero-pads a batch to `length` (default: its longest example) and adds the mask."""
    longest = max((len(e.input_ids) for e in encoded), default=0)
    if length is None:
        length = longest
    elif longest > length:
        raise FeaturizerError("an example has %d tokens, more than length=%d" % (longest, length))
    input_ids, input_mask, segment_ids = [], [], []  # type: List[List[int]], List[List[int]], List[List[int]]
    for ids, segments in encoded:
        padding = [0] * (length - len(ids))
        input_ids.append([*ids, *padding])
        input_mask.append([1] * len(ids) + padding)
        segment_ids.append([*segments, *padding])
    return {INPUT_IDS: input_ids, INPUT_MASK: input_mask, SEGMENT_IDS: segment_ids}
