"""An optional bearer-token check in front of the text API (gateway and Lambda handler alike).

The token comes from a file (`--auth_token_file` / `TEXT_API_TOKEN_FILE`, e.g. a
mounted Kubernetes secret) or from `TEXT_API_TOKEN`; without either, every
request passes, as before. A request must then carry `Authorization: Bearer
<token>`; the comparison takes the same time wherever the tokens differ
(`hmac.compare_digest`). Probes and the metrics scraper keep their routes
(`text_api.routes.OPEN`). A refusal is 401 with `WWW-Authenticate` (RFC 6750).
"""

import hmac
import os
from typing import Mapping, Optional

from text_api import routes
from text_api.errors import ConfigurationError, Unauthorized

TOKEN_ENV = "TEXT_API_TOKEN"
TOKEN_FILE_ENV = "TEXT_API_TOKEN_FILE"
REALM = "text-api"


class BearerAuth:
    def __init__(self, token: Optional[str]):
        self.token = token.encode("utf-8") if token else None

    @property
    def enabled(self) -> bool:
        return self.token is not None

    def check(self, route: str, authorization: Optional[str]) -> None:
        """Unauthorized unless the route is open, no token is set, or `authorization` carries the token."""
        if self.token is None or route in routes.OPEN:
            return
        scheme, _, given = (authorization or "").strip().partition(" ")
        if scheme.lower() != "bearer" or not given.strip():
            raise Unauthorized("this API needs an `Authorization: Bearer <token>` header", 'Bearer realm="%s"' % REALM)
        if not hmac.compare_digest(given.strip().encode("utf-8"), self.token):
            raise Unauthorized("the bearer token is not valid",
                               'Bearer realm="%s", error="invalid_token"' % REALM)


def load_auth(token_file: Optional[str] = None, environ: Mapping[str, str] = os.environ) -> BearerAuth:
    """The check for a token file (else $TEXT_API_TOKEN_FILE), else $TEXT_API_TOKEN, else none."""
    path = token_file or environ.get(TOKEN_FILE_ENV)
    if path:
        try:
            with open(path, encoding="utf-8") as f:
                token = f.read().strip()
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigurationError("the API token file %s cannot be read: %s" % (path, getattr(e, "strerror", e)))
        if not token:
            raise ConfigurationError("the API token file %s is empty" % path)
        return BearerAuth(token)
    return BearerAuth(environ.get(TOKEN_ENV) or None)
