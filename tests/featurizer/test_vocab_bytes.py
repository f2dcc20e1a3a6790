"""A vocab handed over as bytes (read by the trainer through tf.io.gfile) equals the same file read by path."""

from featurizer import Featurizer, FeaturizerError, vocab_sha256

import pytest


def test_vocab_bytes_give_the_same_ids_and_digest_as_the_file(tiny_vocab_file):
    with open(tiny_vocab_file, "rb") as f:
        raw = f.read()
    from_path = Featurizer(tiny_vocab_file, max_seq_length=16)
    from_bytes = Featurizer("s3://bucket/vocab.txt", max_seq_length=16, vocab_bytes=raw)
    assert from_bytes.vocab == from_path.vocab
    assert from_bytes.vocab_sha256 == from_path.vocab_sha256 == vocab_sha256(tiny_vocab_file)
    assert from_bytes.encode("the movie is good") == from_path.encode("the movie is good")


def test_bad_vocab_bytes_name_the_file_they_came_from():
    with pytest.raises(FeaturizerError, match=r"^s3://bucket/vocab.txt:2: vocab file is not valid UTF-8"):
        Featurizer("s3://bucket/vocab.txt", vocab_bytes=b"[CLS]\n\xff\n")
