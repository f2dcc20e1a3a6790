"""WordPiece vocabulary loading, with the exact id assignment of BERT's reference code."""

from typing import Dict

from bert_contract import NotUtf8Error, bytes_sha256, decode_utf8, file_sha256
from featurizer.errors import FeaturizerError

# Tokens every BERT classifier input needs; a vocab without them cannot be used.
REQUIRED_TOKENS = ("[CLS]", "[SEP]", "[UNK]")


def load_vocab(vocab_file: str) -> Dict[str, int]:
    """Maps token -> id like `bert.tokenization.load_vocab`.

    Each line is stripped; a repeated token keeps its first id and the next new
    token takes `len(vocab)`, so ids are not always line numbers. Reading the
    file the same way is what makes our ids identical to the reference's.
    """
    return parse_vocab(read_vocab_bytes(vocab_file), vocab_file)


def read_vocab_bytes(vocab_file: str) -> bytes:
    try:
        with open(vocab_file, "rb") as f:
            return f.read()
    except OSError as e:
        raise FeaturizerError("cannot read vocab file %s: %s" % (vocab_file, e.strerror or e))


def parse_vocab(raw: bytes, vocab_file: str) -> Dict[str, int]:
    """`load_vocab` of a file's bytes (e.g. the vocab an export carries); `vocab_file` names it in errors."""
    try:
        text = decode_utf8(raw, vocab_file)
    except NotUtf8Error as e:
        raise FeaturizerError("%s:%d: vocab file is not valid UTF-8" % (vocab_file, e.line))
    # Split on "\n" only, as readline() does; a blank line inside the file is
    # a token (""), the empty string after a final newline is not.
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    tokens = [line.strip() for line in lines]
    vocab = dict(zip(tokens, range(len(tokens))))
    if len(vocab) < len(tokens):  # repeated tokens: first id wins, ids shift (rare, slower)
        vocab = {}
        for token in tokens:
            if token not in vocab:
                vocab[token] = len(vocab)
    missing = [t for t in REQUIRED_TOKENS if t not in vocab]
    if missing:
        raise FeaturizerError(
            "vocab file %s lacks the special token(s) %s" % (vocab_file, ", ".join(missing))
        )
    return vocab


def vocab_sha256(vocab_file: str) -> str:
    """Checksum that ties an export to the exact vocab file it was trained with."""
    return file_sha256(vocab_file)


def vocab_bytes_sha256(raw: bytes) -> str:
    """`vocab_sha256` of a vocab given as bytes."""
    return bytes_sha256(raw)
