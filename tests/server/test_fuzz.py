"""Property-based fuzzing of the REST API with Hypothesis (FUZZ_CASES requests, default 1000).

Requests mix valid and mutated paths, methods, bodies (predict/classify/regress
documents with wrong types, NaN/Infinity, huge ints, odd unicode; arbitrary JSON;
raw bytes; gzip). For each: no 5xx except the documented 503/504, the response is
documented by model_server/openapi.yaml and fits its schema (errors are exactly
{"error": str}); afterwards the process is alive and a valid predict succeeds.
"""

import gzip
import json
import os
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import openapi_spec
import toy_savedmodel as toy_models

pytestmark = pytest.mark.needs_tf

FUZZ_CASES = int(os.environ.get("FUZZ_CASES", "1000"))
ROW = toy_models.bert_rows(1)[0]
INPUTS = sorted(ROW) + ["text", "x", "n", "tf_example"]
SIGNATURES = ["serving_default", "metadata", "multi", "classify", "regress"]  # not "slow": it runs to the timeout

names = st.one_of(st.sampled_from(["toy", "TOY", "nope", "..", "%2E%2E%2Fetc", "toy%2F..", "%00", "a%3Ab"]),
                  st.text(min_size=1, max_size=20).map(lambda t: quote(t, safe="")))
variants = st.one_of(st.just(""), st.integers(0, 2 ** 70).map(lambda v: "/versions/%d" % v),
                     st.sampled_from(["/versions/1", "/versions/-1", "/versions/x", "/labels/stable", "/labels/"]),
                     names.map(lambda n: "/labels/" + n))
suffixes = st.one_of(st.sampled_from(["", "/", "/metadata", ":predict", ":classify", ":regress", ":PREDICT",
                                      ":explode", "/metadata:predict", "//", "/x/y"]),
                     st.text(max_size=10).map(lambda t: quote(t, safe="/:")))
paths = st.one_of(st.builds(lambda n, v, s: "/v1/models/" + n + v + s, names, variants, suffixes),
                  st.sampled_from(["/", "/v1", "/v1/models", "/v2/models/toy", "/monitoring/prometheus/metrics"]),
                  st.text(max_size=30).map(lambda t: "/" + quote(t, safe="/:%")))

scalars = st.one_of(st.none(), st.booleans(), st.integers(-2 ** 64, 2 ** 64), st.floats(allow_nan=True),
                    st.text(max_size=20), st.sampled_from([{"b64": "AAEC"}, {"b64": "%%"}, {"b64": 5}]))
json_values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=6), st.dictionaries(st.sampled_from(INPUTS) | st.text(max_size=8), inner, max_size=6)),
    max_leaves=30)
tensors = st.one_of(json_values, st.lists(st.integers(-5, 2 ** 31), min_size=0, max_size=6),
                    st.lists(st.lists(st.integers(-5, 50), min_size=4, max_size=4), min_size=1, max_size=3))
rows = st.one_of(st.fixed_dictionaries({k: st.just(v) for k, v in ROW.items()}),
                 st.dictionaries(st.sampled_from(INPUTS), tensors, max_size=5),
                 st.builds(lambda k, v: dict(ROW, **{k: v}), st.sampled_from(sorted(ROW)), tensors), json_values)
signature = st.one_of(st.sampled_from(SIGNATURES), json_values)
documents = st.one_of(
    st.builds(lambda s, r: {"signature_name": s, "instances": r}, signature, st.lists(rows, max_size=4)),
    st.builds(lambda r: {"instances": r}, st.lists(rows, min_size=1, max_size=4)),
    st.builds(lambda i: {"inputs": i}, st.dictionaries(st.sampled_from(INPUTS), tensors, max_size=5) | json_values),
    st.builds(lambda s, c, e: {"signature_name": s, "context": c, "examples": e}, signature,
              st.dictionaries(st.just("x") | st.text(max_size=4), tensors, max_size=2),
              st.lists(st.dictionaries(st.just("x") | st.text(max_size=4), tensors, max_size=2), max_size=3)),
    st.dictionaries(st.text(max_size=12), json_values, max_size=4),
    json_values)
bodies = st.one_of(st.none(), documents.map(lambda d: json.dumps(d).encode()), st.binary(max_size=200),
                   documents.map(lambda d: json.dumps(d).encode()[:-3]))
methods = st.sampled_from(["GET", "HEAD", "POST", "POST", "POST", "PUT", "DELETE", "PATCH", "TRACE"])
gzipped = st.sampled_from([None, None, None, "gzip", "gzip-garbage", "deflate"])


def encode(body, encoding):
    if encoding is None or body is None:
        return body, {}
    if encoding == "gzip":
        return gzip.compress(body), {"Content-Encoding": "gzip"}
    if encoding == "gzip-garbage":
        return body, {"Content-Encoding": "gzip"}
    return body, {"Content-Encoding": encoding}


def check(response, method, path):
    status = response.status_code
    assert status < 500 or status in (503, 504), (method, path, status, response.text[:300])
    if method == "HEAD" or path == "/monitoring/prometheus/metrics" and status == 200:
        return
    openapi_spec.check_response(method, path, response)


def test_fuzzed_requests_never_crash_the_server(toy_server, local_only):
    import requests

    session = requests.Session()
    sent = []

    @settings(max_examples=FUZZ_CASES, deadline=None, database=None, derandomize=True, print_blob=True,
              suppress_health_check=list(HealthCheck))
    @given(method=methods, path=paths, body=bodies, encoding=gzipped)
    def one_request(method, path, body, encoding):
        data, headers = encode(body, encoding)
        # requests would normalise the path; send it raw.
        request = requests.Request(method, toy_server.rest_url, data=data, headers=headers).prepare()
        request.url = toy_server.rest_url + path
        response = session.send(request, timeout=30)
        sent.append(status_class(response.status_code))
        check(response, method, path)

    one_request()
    print("fuzz cases: %d (%s)" % (len(sent), {c: sent.count(c) for c in sorted(set(sent))}))
    assert len(sent) >= FUZZ_CASES
    assert toy_server.process.poll() is None
    response = session.post(toy_server.rest_url + "/v1/models/toy:predict", json={"instances": [ROW]}, timeout=30)
    assert response.status_code == 200 and len(response.json()["predictions"]) == 1


def status_class(status):
    return "%dxx" % (status // 100)
