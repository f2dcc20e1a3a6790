"""The route table of the text API, for the gateway and the Lambda handler alike.

    GET  /, /healthz                     liveness: {"status": "alive"}
    GET  /readyz                         200 when every model is ready, else 503
    GET  /metrics                        Prometheus (the gateway only)
    GET  /v1/models                      {"models": [names]}
    GET  /v1/models/{name}               {"name", "ready", "version", "task", "labels"}; 503 when not ready
    POST /v1/models/{name}:predict       {"instances": [...], "parameters": {...}} -> {"predictions": [...]}
    POST /predict                        {"text", "text_pair", "parameters"} -> one prediction (the first model)

A path that a route knows with another method is 405 (with `Allow`), any
other path 404. A model name never holds "/" or ":", so
`/v1/models/demo:predict` is always the predict route, whatever the method.
"""

import re
from typing import Dict, Iterable, List, NamedTuple, Optional, Pattern, Tuple

from text_api.errors import MethodNotAllowed, NotFound

LIVENESS, READINESS, METRICS, MODELS, STATUS, PREDICT, PREDICT_ONE = (
    "liveness", "readiness", "metrics", "models", "status", "predict", "predict_one")
# Routes that answer whoever asks (probes and scrapers), whatever else guards the others.
OPEN = (LIVENESS, READINESS, METRICS)


class Route(NamedTuple):
    name: str
    method: str
    path: str
    pattern: Pattern


def _route(name: str, method: str, path: str) -> Route:
    return Route(name, method, path, re.compile("^%s$" % re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/:]+)", re.escape(path))))


ROUTES = (
    _route(LIVENESS, "GET", "/"),
    _route(LIVENESS, "GET", "/healthz"),
    _route(READINESS, "GET", "/readyz"),
    _route(METRICS, "GET", "/metrics"),
    _route(MODELS, "GET", "/v1/models"),
    _route(STATUS, "GET", "/v1/models/{name}"),
    _route(PREDICT, "POST", "/v1/models/{name}:predict"),
    _route(PREDICT_ONE, "POST", "/predict"),
)


def match(method: str, path: str, served: Optional[Iterable[str]] = None) -> Tuple[str, Dict[str, str]]:
    """(route name, path parameters); NotFound or MethodNotAllowed. `served`: the route names this front end answers."""
    names = set(served) if served is not None else None
    allowed = []  # type: List[str]
    for route in ROUTES:
        if names is not None and route.name not in names:
            continue
        found = route.pattern.match(path)
        if found is None:
            continue
        if route.method == method.upper() or (route.method == "GET" and method.upper() == "HEAD"):
            return route.name, found.groupdict()
        allowed.append(route.method)
    if allowed:
        raise MethodNotAllowed("method %s is not allowed on %s; use %s" % (method, path, " or ".join(allowed)),
                               ", ".join(allowed))
    raise NotFound("no route %s %s" % (method, path))
