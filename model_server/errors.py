"""Canonical error codes shared by the REST and gRPC front ends.

Every failure inside the server is a `ServingError(code, message)`; each front
end maps the code once (HTTP status / grpc.StatusCode), so a message reads the
same over both transports, as it does with TensorFlow Serving.
"""

import logging
import os
import re

import grpc

from bert_contract import HTTP_STATUS

log = logging.getLogger(__name__)

# Canonical code name -> HTTP status (contract section 8), shared with the client.

# Longer messages (which echo request JSON, as TFS's do) keep their head and tail, so a
# hostile request cannot make the server answer megabytes of error text.
MAX_MESSAGE_CHARS = 4096
_KEEP_TAIL_CHARS = 1024
_TF_NODE = re.compile(r"\[\[(?:\{\{)?node (?P<node>[^\s}]+)")

# tensorflow.error.Code numbers, as used by tf.errors.OpError.error_code.
CODE_NUMBERS = {name: code.value[0] for name, code in grpc.StatusCode.__members__.items()}
CODE_NAMES = {number: name for name, number in CODE_NUMBERS.items()}


class ServingError(Exception):
    """A request or load failure with a canonical code name and TFS-style text."""

    def __init__(self, code, message):
        if code not in HTTP_STATUS:
            raise ValueError("unknown canonical code: %r" % (code,))
        message = _bounded(_encodable(message))
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def http_status(self):
        return HTTP_STATUS[self.code]

    @property
    def grpc_code(self):
        return grpc.StatusCode[self.code]

    def __str__(self):
        return self.message


def _bounded(message):
    if len(message) <= MAX_MESSAGE_CHARS:
        return message
    head = MAX_MESSAGE_CHARS - _KEEP_TAIL_CHARS
    return "%s ... [%d characters omitted] ... %s" % (
        message[:head], len(message) - head - _KEEP_TAIL_CHARS, message[-_KEEP_TAIL_CHARS:])


def _encodable(message):
    """The message with lone surrogates (a JSON `\\ud800` echoed back) written as `\\ud800` text.

    Both front ends encode messages as UTF-8 (the REST body, gRPC's status
    details), which a lone surrogate cannot be.
    """
    try:
        message.encode("utf-8")
        return message
    except UnicodeEncodeError:
        return message.encode("utf-8", "backslashreplace").decode("utf-8")


def op_error_message(message):
    """A TF run error on one line: its first line plus the failing node's name.

    TF appends the node's Python definition site (a server file path) and
    sometimes a stack; clients need neither.
    """
    first = message.strip().split("\n", 1)[0].strip()
    node = _TF_NODE.search(message)
    if node and node.group("node") not in first:
        return "%s [[node %s]]" % (first, node.group("node"))
    return first


def invalid_argument(message):
    return ServingError("INVALID_ARGUMENT", message)


def not_found(message):
    return ServingError("NOT_FOUND", message)


def load_error(exc):
    """The ServingError of an exception raised while loading a version; the loader logs it.

    A TF error keeps its code (a corrupt SavedModel is DATA_LOSS or INVALID_ARGUMENT
    there); anything else is INTERNAL, but no "error while serving a request".
    """
    return _known(exc) or ServingError("INTERNAL", "%s: %s" % (type(exc).__name__, exc))


def _known(exc):
    """The ServingError an exception carries or TF's error code gives, else None."""
    if isinstance(exc, ServingError):
        return exc
    code_number = getattr(exc, "error_code", None)  # tf.errors.OpError
    if isinstance(code_number, int) and code_number in CODE_NAMES:
        return ServingError(CODE_NAMES[code_number], op_error_message(getattr(exc, "message", str(exc))))
    return None


def from_exception(exc):
    """Turn any exception raised while serving a request into a ServingError."""
    known = _known(exc)
    if known is not None:
        return known
    if isinstance(exc, (ValueError, TypeError)) and _raised_by_tensorflow(exc):
        # TF's own checks of a feed (wrong shape/dtype) raise these: the client's mistake.
        return ServingError("INVALID_ARGUMENT", str(exc))
    # Anything else is the server's own fault: a 500, and a traceback in the log (once).
    if not getattr(exc, "_serving_logged", False):
        log.error("Internal error while serving a request", exc_info=exc)
        try:
            exc._serving_logged = True
        except AttributeError:  # exceptions with __slots__
            pass
    return ServingError("INTERNAL", "%s: %s" % (type(exc).__name__, exc))


def _raised_by_tensorflow(exc):
    """Whether the innermost Python frame of exc's traceback is TensorFlow's code."""
    traceback = exc.__traceback__
    if traceback is None:
        return False
    while traceback.tb_next is not None:
        traceback = traceback.tb_next
    parts = traceback.tb_frame.f_code.co_filename.split(os.sep)
    return "tensorflow" in parts or "tensorflow_core" in parts
