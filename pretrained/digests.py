"""SHA-256 of files, in hex and in the urlsafe-base64 form wheel RECORD files use."""

import base64
import hashlib

BLOCK = 1 << 20


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def record_digest(hex_digest: str) -> str:
    """`sha256=` value of a wheel RECORD line: urlsafe base64 without padding."""
    return base64.urlsafe_b64encode(bytes.fromhex(hex_digest)).rstrip(b"=").decode("ascii")
