"""TFS REST URL grammar (contract 7): which operation a method + path asks for.

Matching is case-insensitive on the raw (still percent-encoded) path, so a
model name holding an encoded '/' or ':' cannot change the route.
"""

import collections
import functools
import re
from urllib.parse import unquote

from model_server.errors import ServingError

Route = collections.namedtuple("Route", "kind model version label verb")

# TF Serving's two URL patterns (http_rest_api_util.cc), matched whole and case-insensitively:
# POST for the inference verbs, GET for status and metadata.
_POST = re.compile(r"/v1/models/([^/:]+)(?:/versions/([0-9]+)|/labels/([^/:]+))?:(classify|regress|predict)",
                   re.IGNORECASE)
_GET = re.compile(r"/v1/models(?:/([^/:]+))?(?:/versions/([0-9]+)|/labels/([^/:]+))?(?:/(metadata))?",
                  re.IGNORECASE)
VERBS = ("predict", "classify", "regress")
_INT64_MAX = 2 ** 63 - 1


class NotV1(Exception):
    """Path outside /v1/: TFS answers 404."""


@functools.lru_cache(maxsize=1024)  # a server sees few distinct paths; errors are not cached
def route(method, raw_path):
    """Route for the request or ServingError (400) / NotV1 (404).

    As in TFS, the verb must be lower case (`:PREDICT` is malformed), a
    `/METADATA` suffix asks for the status, and a trailing slash is malformed.
    """
    if not raw_path.lower().startswith("/v1/"):
        raise NotV1(raw_path)
    pattern = _POST if method == "POST" else _GET if method in ("GET", "HEAD") else None
    match = pattern.fullmatch(raw_path) if pattern is not None else None
    if match is None:
        raise ServingError("INVALID_ARGUMENT", "Malformed request: %s %s" % (method, raw_path))
    model, version, label, last = match.groups()
    version = version_number(version) if version else None
    model = unquote(model) if model else ""
    label = unquote(label) if label else None
    if method == "POST":
        if last not in VERBS:
            raise ServingError("INVALID_ARGUMENT", "Malformed request: %s %s" % (method, raw_path))
        return Route(last, model, version, label, last)
    if not model:
        raise ServingError("INVALID_ARGUMENT", "Missing model name in request.")
    return Route("metadata" if last == "metadata" else "status", model, version, label, None)


def version_number(digits):
    """A URL's version digits as an int64, or TFS's error (never Python's int() limits or traceback)."""
    significant = digits.lstrip("0") or "0"
    if len(significant) > len(str(_INT64_MAX)) or int(significant) > _INT64_MAX:
        raise ServingError("INVALID_ARGUMENT", "Failed to convert version: %s to numeric." % digits)
    return int(significant)
