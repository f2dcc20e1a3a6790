"""Content digests that identify a vocab or weights file on every side."""

import hashlib

_BLOCK = 1 << 20


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def bytes_sha256(data: bytes) -> str:
    """The digest `file_sha256` gives for a file holding `data` (e.g. a vocab sent by a server)."""
    return hashlib.sha256(data).hexdigest()
