"""Lambda events as API Gateway and Function URLs send them, for the handler's tests."""

import base64
import json


def v2_event(method, path, body=None, base64_body=False):
    event = {"version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
             "headers": {"content-type": "application/json"},
             "requestContext": {"http": {"method": method, "path": path, "protocol": "HTTP/1.1"}},
             "isBase64Encoded": base64_body}
    if body is not None:
        text = json.dumps(body)
        event["body"] = base64.b64encode(text.encode()).decode() if base64_body else text
    return event


def v1_event(method, path, body=None, base64_body=False):
    event = {"resource": "/{proxy+}", "path": path, "httpMethod": method, "headers": {}, "isBase64Encoded": base64_body,
             "requestContext": {"stage": "prod"}}
    if body is not None:
        text = json.dumps(body)
        event["body"] = base64.b64encode(text.encode()).decode() if base64_body else text
    return event
