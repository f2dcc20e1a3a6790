"""The text API's requests and answers, without a web framework: an adapter carries them in and out.

    call = api.resolve(method, path, authorization)         # routes; 401/404/405/unknown model raise
    examples, parameters = api.parse(call, body)            # predict routes: the body, checked
    document = api.predictions(call, await-or-not call.backend.predict(examples, parameters))
    status, document, headers = api.info(call)              # every other route

Every failure is an `ApiError` (text_api.errors) that the adapter answers as
`{"error": ...}` with its status and headers.
"""

from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Tuple

from text_api import routes
from text_api.auth import BearerAuth
from text_api.backend import Backend
from text_api.errors import NotFound
from text_api.payload import Example, Parameters, parse_json, parse_predict, parse_single

Answer = Tuple[int, Dict[str, Any], Dict[str, str]]


class Call(NamedTuple):
    route: str  # a name of text_api.routes
    backend: Optional[Backend] = None  # the model it addresses (predict, predict_one, status)

    @property
    def predicts(self) -> bool:
        return self.route in (routes.PREDICT, routes.PREDICT_ONE)


class TextApi:
    """The API over `backends` (by name, the first one answering `/predict`)."""

    def __init__(self, backends: Sequence[Backend], max_instances: int, served: Optional[Sequence[str]] = None,
                 auth: Optional[BearerAuth] = None):
        self.backends = {backend.name: backend for backend in backends}
        self.max_instances = max_instances
        self.served = served  # route names this front end answers (None: all)
        self.auth = auth or BearerAuth(None)

    def resolve(self, method: str, path: str, authorization: Optional[str] = None) -> Call:
        """The call a request makes; `authorization` is its Authorization header (checked when a token is set)."""
        name, params = routes.match(method, path, self.served)
        self.auth.check(name, authorization)
        if name == routes.PREDICT_ONE:
            return Call(name, next(iter(self.backends.values())))
        if "name" in params:
            return Call(name, self.backend(params["name"]))
        return Call(name)

    def backend(self, name: str) -> Backend:
        backend = self.backends.get(name)
        if backend is None:
            raise NotFound("model %r is not served here; models: %s" % (name, ", ".join(self.backends)))
        return backend

    def parse(self, call: Call, body: bytes) -> Tuple[List[Example], Parameters]:
        document = parse_json(body)
        if call.route == routes.PREDICT_ONE:
            example, parameters = parse_single(document)
            return [example], parameters
        return parse_predict(document, self.max_instances)

    @staticmethod
    def predictions(call: Call, records: List[Dict[str, Any]]) -> Dict[str, Any]:
        return records[0] if call.route == routes.PREDICT_ONE else {"predictions": records}

    def info(self, call: Call) -> Answer:
        """The answer of a route that predicts nothing."""
        if call.route == routes.LIVENESS:
            return 200, {"status": "alive"}, {}
        if call.route == routes.MODELS:
            return 200, {"models": list(self.backends)}, {}
        if call.route == routes.READINESS:
            models = {name: backend.status() for name, backend in self.backends.items()}
            ready = all(status["ready"] for status in models.values())
            return (200 if ready else 503), {"ready": ready, "models": models}, {}
        if call.route == routes.STATUS:
            assert call.backend is not None
            status = call.backend.status()
            if status["ready"]:
                return 200, status, {}
            body = dict({"error": "model %s is not ready: %s" % (call.backend.name, status.get("reason"))}, **status)
            return 503, body, {"Retry-After": "1"}
        raise NotFound("no route for %s here" % call.route)
