"""`python -m text_gateway`: parse the flags and serve with uvicorn.

On SIGTERM/SIGINT uvicorn stops accepting connections, lets requests in
flight finish (up to --graceful_shutdown_seconds) and then runs the app's
shutdown, which stops the watchers and closes the upstream connections.
With --workers > 1 each worker process builds the app from the settings
passed in the environment.
"""

import json
import logging
import os
import sys
from typing import List, Optional

import uvicorn
from uvicorn.protocols.http.auto import AutoHTTPProtocol

from text_api.auth import load_auth
from text_api.errors import ConfigurationError
from text_gateway.app import create_app
from text_gateway.settings import GatewaySettings, parse_settings

SETTINGS_ENV = "TEXT_GATEWAY_SETTINGS"


class JsonErrorProtocol(AutoHTTPProtocol):  # type: ignore[misc, valid-type]
    """uvicorn's HTTP protocol, but a request its parser refuses (a malformed Content-Length, a broken
    request line) gets the API's `{"error": ...}` 400 instead of uvicorn's plain text."""

    def send_400_response(self, msg: str) -> None:
        body = json.dumps({"error": "not a valid HTTP/1.1 request (%s): check the request line and the headers, "
                                    "e.g. Content-Length" % msg.rstrip(".")}).encode("utf-8")
        head = b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: %d\r\n" \
               b"connection: close\r\n\r\n" % len(body)
        self.transport.write(head + body)
        self.transport.close()


def app_from_env():
    """The app factory uvicorn's worker processes call."""
    fields = json.loads(os.environ[SETTINGS_ENV])
    fields["model_names"] = tuple(fields["model_names"])
    return create_app(GatewaySettings(**fields))


def main(argv: Optional[List[str]] = None) -> int:
    settings = parse_settings(argv)
    try:
        auth = load_auth(settings.auth_token_file)
    except ConfigurationError as e:
        print("text_gateway: error: %s" % e.message, file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    options = dict(
        host=settings.host,
        port=settings.http_port,
        log_level=settings.log_level,
        timeout_graceful_shutdown=int(settings.graceful_shutdown_seconds),
        access_log=False,
        http=JsonErrorProtocol,
    )
    if auth.enabled:
        logging.getLogger("text_gateway").info("bearer token required on the API routes")
    if settings.workers > 1:
        os.environ[SETTINGS_ENV] = json.dumps(settings._asdict())
        uvicorn.run("text_gateway.server:app_from_env", factory=True, workers=settings.workers, **options)
    else:
        uvicorn.run(create_app(settings), **options)
    return 0


if __name__ == "__main__":
    sys.exit(main())
