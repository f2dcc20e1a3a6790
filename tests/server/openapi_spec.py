"""model_server/openapi.yaml for the tests: path lookup and response validation.

Responses are checked with jsonschema against the schema the spec documents
for the operation and status code, resolving the spec's own $refs.
"""

import functools
import os
import re

import jsonschema
import yaml

SPEC_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "model_server", "openapi.yaml")
_PARAM = re.compile(r"\{[^}]+\}")


@functools.lru_cache(maxsize=1)
def spec():
    with open(SPEC_PATH) as f:
        return yaml.safe_load(f)


def template_regex(template):
    """The regex a path template matches (raw path; parameters hold no '/' or ':')."""
    parts = _PARAM.split(template)
    return re.compile("^" + "[^/:]+".join(re.escape(p) for p in parts) + "/?$", re.IGNORECASE)


def operation(method, raw_path):
    """(template, operation) for a concrete raw path; HEAD is documented as GET."""
    method = "get" if method.upper() == "HEAD" else method.lower()
    for template, item in spec()["paths"].items():
        if template_regex(template).match(raw_path) and method in item:
            return template, item[method]
    return None, None


def _resolve(node):
    while "$ref" in node:
        node = jsonschema.RefResolver("", spec()).resolve(node["$ref"])[1]
    return node


def response_schema(method, raw_path, status):
    """The JSON schema documented for this response, or None when the status is not documented."""
    _, op = operation(method, raw_path)
    if op is None:
        return None
    documented = op["responses"].get(str(status)) or op["responses"].get("default")
    if documented is None:
        return None
    return _resolve(documented)["content"]["application/json"]["schema"]


def error_schema():
    return spec()["components"]["schemas"]["Error"]


def validate(instance, schema):
    """Raise jsonschema.ValidationError unless instance fits schema (refs into the spec)."""
    validator = jsonschema.Draft7Validator(schema, resolver=jsonschema.RefResolver("", spec()))
    validator.validate(instance)


def check_response(method, raw_path, response):
    """Assert a requests.Response is documented by the spec and its JSON body fits."""
    if response.status_code >= 400 and operation(method, raw_path)[1] is None:
        schema = error_schema()  # undocumented path: still the error shape
    else:
        schema = response_schema(method, raw_path, response.status_code)
        assert schema is not None, "%s %s -> %d is not documented in openapi.yaml" % (
            method, raw_path, response.status_code)
    assert response.headers["content-type"].startswith("application/json"), response.headers["content-type"]
    validate(response.json(), schema)
