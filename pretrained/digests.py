"""SHA-256 of files, in hex and in the urlsafe-base64 form wheel RECORD files use."""

import base64

from bert_contract import file_sha256

BLOCK = 1 << 20

__all__ = ["BLOCK", "file_sha256", "record_digest"]


def record_digest(hex_digest: str) -> str:
    """`sha256=` value of a wheel RECORD line: urlsafe base64 without padding."""
    return base64.urlsafe_b64encode(bytes.fromhex(hex_digest)).rstrip(b"=").decode("ascii")
