"""Lambda events -> (method, path, body) and answers back in the event's own shape.

API Gateway HTTP APIs and Function URLs send payload format 2.0
(`version: "2.0"`, `requestContext.http.method`, `rawPath`); REST APIs send 1.0
(`httpMethod`, `path`). Both may carry a base64 body (`isBase64Encoded`). Any
other event is a direct invocation: the event itself is the request, and its
answer the document itself (an error as `{"error", "status"}`), even when the
event is not a JSON object at all.
"""

import base64
import binascii
import json
from typing import Any, Dict, NamedTuple, Optional

from text_api.errors import BadRequest


class Invocation(NamedTuple):
    method: str
    path: str
    body: bytes
    authorization: Optional[str] = None  # the Authorization header


def is_http(event: Any) -> bool:
    """Whether the event came through API Gateway or a Function URL (else: a direct invocation)."""
    if not isinstance(event, dict):
        return False
    return (event.get("version") == "2.0" and isinstance(event.get("requestContext"), dict)) or "httpMethod" in event


def parse_http(event: Dict[str, Any]) -> Invocation:
    """An HTTP event's request (`is_http(event)` is true)."""
    headers = event.get("headers") if isinstance(event.get("headers"), dict) else {}
    authorization = next((str(v) for k, v in headers.items() if str(k).lower() == "authorization"), None)
    if "httpMethod" in event:
        return Invocation(str(event["httpMethod"]).upper(), str(event.get("path") or "/"), _body(event), authorization)
    http = event["requestContext"].get("http") or {}
    return Invocation(str(http.get("method", "")).upper(), str(event.get("rawPath") or http.get("path") or "/"),
                      _body(event), authorization)


def _body(event: Dict[str, Any]) -> bytes:
    body = event.get("body")
    if body is None:
        return b""
    if not isinstance(body, str):
        raise BadRequest("the event's body is not a string")
    if event.get("isBase64Encoded"):
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise BadRequest("the event's body is marked base64 but is not valid base64")
    return body.encode("utf-8")


def answer(http: bool, status: int, document: Dict[str, Any], headers: Optional[Dict[str, str]] = None) -> Dict[str, Any]:
    """The HTTP proxy response for API Gateway / Function URLs; the document itself (plus status) when direct."""
    if not http:
        return document if status == 200 else dict(document, status=status)
    all_headers = {"Content-Type": "application/json"}
    all_headers.update(headers or {})
    return {"statusCode": status, "headers": all_headers, "body": json.dumps(document, ensure_ascii=False),
            "isBase64Encoded": False}
