"""model_server/openapi.yaml matches the server: same routes, and real responses fit its schemas."""

import itertools
import json

import jsonschema
import pytest

import openapi_spec
import toy_savedmodel as toy_models
from model_server import rest_routes
from test_rest import ERRORS

ROW = toy_models.bert_rows(1)[0]
VARIANTS = {"": "", "/versions/{version}": "/versions/3", "/labels/{label}": "/labels/stable"}
SUFFIXES = ["", "/metadata"] + [":" + verb for verb in rest_routes.VERBS]
SAMPLES = {"{model_name}": "m%2Fx", "{version}": "3", "{label}": "stable"}
MONITORING = "/monitoring/prometheus/metrics"
METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "FOO"]


def concrete(template):
    for name, value in SAMPLES.items():
        template = template.replace(name, value)
    return template


def served_routes():
    """Every (method, template) the REST URL grammar accepts (HEAD folded into GET)."""
    routes = set()
    for method, variant, suffix in itertools.product(METHODS, VARIANTS, SUFFIXES):
        template = "/v1/models/{model_name}" + variant + suffix
        try:
            rest_routes.route(method, concrete(template))
        except rest_routes.ServingError:
            continue
        routes.add(("get" if method == "HEAD" else method.lower(), template))
    return routes


def documented_routes():
    return {(method, template) for template, item in openapi_spec.spec()["paths"].items()
            for method in item if method in ("get", "post", "put", "delete", "patch", "head", "options")
            and template != MONITORING}


def test_spec_is_openapi_3_0_and_every_ref_resolves():
    document = openapi_spec.spec()
    assert document["openapi"].startswith("3.0.")
    resolver = jsonschema.RefResolver("", document)

    def walk(node):
        if isinstance(node, dict):
            if "$ref" in node:
                resolver.resolve(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(document)
    for schema in document["components"]["schemas"].values():
        jsonschema.Draft7Validator.check_schema(schema)


def test_spec_and_server_have_the_same_routes():
    assert served_routes() == documented_routes()
    for method, template in documented_routes():
        route = rest_routes.route(method.upper(), concrete(template))
        assert route.model == "m/x"
        assert template.endswith(route.kind) or (route.kind == "status" and not template.endswith("metadata"))


def test_every_run_documents_the_error_codes():
    for method, template in documented_routes():
        responses = openapi_spec.spec()["paths"][template][method]["responses"]
        if method == "post":
            assert {"400", "404", "413", "429", "499", "501", "503", "504"} <= set(responses), template
        assert all(code == "200" or responses[code] == {"$ref": "#/components/responses/Error"}
                   for code in responses), template


def test_error_schema_is_exactly_one_string():
    schema = openapi_spec.error_schema()
    openapi_spec.validate({"error": "x"}, schema)
    for bad in ({}, {"error": 1}, {"error": "x", "more": 1}, ["x"]):
        with pytest.raises(jsonschema.ValidationError):
            openapi_spec.validate(bad, schema)


GOOD = [
    ("GET", "/v1/models/toy", None),
    ("GET", "/v1/models/toy/versions/1", None),
    ("GET", "/v1/models/toy/metadata", None),
    ("GET", "/v1/models/toy/versions/1/metadata", None),
    ("POST", "/v1/models/toy:predict", {"instances": [ROW]}),
    ("POST", "/v1/models/toy/versions/1:predict", {"inputs": {k: [v] for k, v in ROW.items()}}),
    ("POST", "/v1/models/toy:predict", {"signature_name": "multi", "instances": [{"text": "a", "x": [1, 2]}]}),
    ("POST", "/v1/models/toy:classify", {"signature_name": "classify", "examples": [{"x": [1.0, 2.0]}]}),
    ("POST", "/v1/models/toy:regress", {"signature_name": "regress", "examples": [{"x": [1.0, 2.0]}]}),
]


@pytest.mark.needs_tf
@pytest.mark.parametrize("method,path,body", GOOD + [e[:3] for e in ERRORS],
                         ids=["good-%d" % i for i in range(len(GOOD))] + ["error-%d" % i for i in range(len(ERRORS))])
def test_real_responses_fit_the_spec(rest, method, path, body):
    data = body if isinstance(body, str) else (None if body is None else json.dumps(body))
    response = rest.request(method, path, data=data)
    if (method, path, body) in GOOD:
        assert response.status_code == 200, response.text
    openapi_spec.check_response(method, path, response)
