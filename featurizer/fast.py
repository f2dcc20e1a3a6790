"""Optional fast path: Hugging Face `tokenizers` (Rust) WordPiece for ASCII text.

The Rust BERT normalizer differs from the reference on some non-ASCII input
(it also drops unassigned and private-use characters), so only ASCII texts are
sent here; everything else goes through the pure-Python tokenizer. On ASCII the
two are identical, which the parity tests check on real data and on generated
text. Special tokens are deliberately *not* registered, so a literal "[CLS]" in
a text is split into "[", "cls", "]" as the reference does.
"""

from typing import Dict, List, Optional, Sequence

from featurizer.wordpiece import MAX_INPUT_CHARS_PER_WORD, UNK_TOKEN

try:  # the package is optional: without it the pure-Python path is used
    from tokenizers import Tokenizer, normalizers, pre_tokenizers
    from tokenizers.models import WordPiece
except ImportError:  # pragma: no cover - exercised only where tokenizers is missing
    Tokenizer = None


def available() -> bool:
    return Tokenizer is not None


class FastAsciiTokenizer:
    """Batch WordPiece ids for ASCII texts."""

    def __init__(self, vocab: Dict[str, int], do_lower_case: bool):
        self._tokenizer = bert_wordpiece(vocab, do_lower_case)

    def ids(self, texts: Sequence[str]) -> List[List[int]]:
        """WordPiece ids of each (ASCII) text, without special tokens."""
        encodings = self._tokenizer.encode_batch(list(texts), add_special_tokens=False)
        return [encoding.ids for encoding in encodings]

    def tokens(self, texts: Sequence[str]) -> List[List[str]]:
        encodings = self._tokenizer.encode_batch(list(texts), add_special_tokens=False)
        return [encoding.tokens for encoding in encodings]


def bert_wordpiece(vocab: Dict[str, int], do_lower_case: bool) -> "Tokenizer":
    """The featurizer's basic tokenizer + WordPiece as a `tokenizers.Tokenizer`, without special tokens
    (also the core of the `tokenizer.json` that `python -m pretrained export-hf` writes)."""
    if Tokenizer is None:
        raise ImportError("the 'tokenizers' package is not installed")
    model = WordPiece(
        vocab=dict(vocab),
        unk_token=UNK_TOKEN,
        max_input_chars_per_word=MAX_INPUT_CHARS_PER_WORD,
    )
    tokenizer = Tokenizer(model)
    tokenizer.normalizer = normalizers.BertNormalizer(
        clean_text=True,
        handle_chinese_chars=True,
        strip_accents=do_lower_case,
        lowercase=do_lower_case,
    )
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    return tokenizer


def make(vocab: Dict[str, int], do_lower_case: bool) -> Optional[FastAsciiTokenizer]:
    """The fast tokenizer, or None where `tokenizers` is not installed."""
    return FastAsciiTokenizer(vocab, do_lower_case) if available() else None
