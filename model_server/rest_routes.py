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

_MODEL = re.compile(
    r"^/v1/models/(?P<model>[^/:]+)"
    r"(?:/versions/(?P<version>[^/:]+)|/labels/(?P<label>[^/:]+))?"
    r"(?:/(?P<metadata>metadata)|:(?P<verb>[^/:]+))?/?$",
    re.IGNORECASE)
_NO_MODEL = re.compile(r"^/v1/models/?$", re.IGNORECASE)
VERBS = ("predict", "classify", "regress")


class NotV1(Exception):
    """Path outside /v1/: TFS answers 404."""


@functools.lru_cache(maxsize=1024)  # a server sees few distinct paths; errors are not cached
def route(method, raw_path):
    """Route for the request or ServingError (400) / NotV1 (404)."""
    if not raw_path.lower().startswith("/v1/"):
        raise NotV1(raw_path)
    malformed = ServingError("INVALID_ARGUMENT", "Malformed request: %s %s" % (method, raw_path))
    if _NO_MODEL.match(raw_path):
        if method in ("GET", "HEAD"):
            raise ServingError("INVALID_ARGUMENT", "Missing model name in request.")
        raise malformed
    match = _MODEL.match(raw_path)
    if match is None:
        raise malformed
    version = match.group("version")
    if version is not None and not version.isdigit():
        raise malformed
    version = int(version) if version is not None else None
    label = unquote(match.group("label")) if match.group("label") else None
    model = unquote(match.group("model"))
    verb = match.group("verb")
    if method == "GET" or method == "HEAD":
        if verb is not None:
            raise malformed
        kind = "metadata" if match.group("metadata") else "status"
        return Route(kind, model, version, label, None)
    if method == "POST":
        if verb is None or match.group("metadata") or verb.lower() not in VERBS:
            raise malformed
        return Route(verb.lower(), model, version, label, verb.lower())
    raise malformed
