"""Content digests that identify a vocab or weights file on every side."""

import hashlib
from typing import BinaryIO

_BLOCK = 1 << 20


def stream_sha256(stream: BinaryIO) -> str:
    """sha256 of everything left in a binary stream (a local file, or one opened through tf.io.gfile)."""
    digest = hashlib.sha256()
    for block in iter(lambda: stream.read(_BLOCK), b""):
        digest.update(block)
    return digest.hexdigest()


def file_sha256(path: str) -> str:
    with open(path, "rb") as f:
        return stream_sha256(f)


def bytes_sha256(data: bytes) -> str:
    """The digest `file_sha256` gives for a file holding `data` (e.g. a vocab sent by a server)."""
    return hashlib.sha256(data).hexdigest()
