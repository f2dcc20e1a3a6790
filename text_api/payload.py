"""Request bodies -> texts and parameters, with errors naming the field at fault.

KServe v1: `{"instances": [...], "parameters": {...}}`, each instance a text
or `{"text": ..., "text_pair": ...}`. The `/predict` alias takes
`{"text": ..., "text_pair": ..., "parameters": {...}}`, a direct Lambda
invocation `{"texts": [...], "text_pairs": [...], "parameters": {...}}`.
"""

import json
from typing import Any, List, NamedTuple, Optional, Tuple

from text_api.errors import BadRequest, TooLarge

Example = Tuple[str, Optional[str]]


class Parameters(NamedTuple):
    top_k: Optional[int] = None  # keep the k best labels in `scores`
    # What it means is the model's decoder's: a label set's decision value, the score below which a
    # single-label classifier's labels and a tagger's spans are left out.
    threshold: Optional[float] = None
    truncation: bool = True  # False: a text longer than the model's length is refused


def parse_json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except UnicodeDecodeError:
        raise BadRequest("the body is not UTF-8 JSON")
    except ValueError as e:
        raise BadRequest("the body is not valid JSON: %s" % e)
    except RecursionError:
        raise BadRequest("the body's JSON is nested too deeply")


def parse_predict(document: Any, max_instances: int) -> Tuple[List[Example], Parameters]:
    """The examples and parameters of a KServe v1 predict body."""
    if not isinstance(document, dict):
        raise BadRequest('expected a JSON object with "instances", got %s' % _kind(document))
    unknown = sorted(set(document) - {"instances", "parameters"})
    if unknown:
        raise BadRequest('unknown field(s) %s; expected "instances" and optional "parameters"' % ", ".join(unknown))
    instances = document.get("instances")
    if not isinstance(instances, list):
        raise BadRequest('"instances" must be a list of texts or {"text", "text_pair"} objects, got %s' % _kind(instances))
    if not instances:
        raise BadRequest('"instances" is empty')
    if len(instances) > max_instances:
        raise TooLarge("%d instances in one request; the limit is %d" % (len(instances), max_instances))
    examples = [_instance(item, "instances[%d]" % i) for i, item in enumerate(instances)]
    return examples, parse_parameters(document.get("parameters"))


def parse_single(document: Any) -> Tuple[Example, Parameters]:
    """The example and parameters of a `/predict` body."""
    if not isinstance(document, dict):
        raise BadRequest('expected a JSON object with "text", got %s' % _kind(document))
    unknown = sorted(set(document) - {"text", "text_pair", "parameters"})
    if unknown:
        raise BadRequest('unknown field(s) %s; expected "text", optional "text_pair" and "parameters"' % ", ".join(unknown))
    example = _instance({k: v for k, v in document.items() if k != "parameters"}, "body")
    return example, parse_parameters(document.get("parameters"))


def parse_direct(document: Any, max_instances: int) -> Tuple[List[Example], Parameters]:
    """The examples and parameters of a direct (non-HTTP) Lambda invocation."""
    if not isinstance(document, dict):
        raise BadRequest('expected a JSON object with "texts", got %s' % _kind(document))
    unknown = sorted(set(document) - {"texts", "text_pairs", "parameters"})
    if unknown:
        raise BadRequest('unknown field(s) %s; expected "texts", optional "text_pairs" and "parameters"' % ", ".join(unknown))
    texts, pairs = document.get("texts"), document.get("text_pairs")
    if not isinstance(texts, list) or not texts or not all(isinstance(t, str) for t in texts):
        raise BadRequest('"texts" must be a non-empty list of strings')
    if len(texts) > max_instances:
        raise TooLarge("%d texts in one event; the limit is %d" % (len(texts), max_instances))
    if pairs is not None and (not isinstance(pairs, list) or len(pairs) != len(texts)
                              or not all(p is None or isinstance(p, str) for p in pairs)):
        raise BadRequest('"text_pairs" must be a list of strings (or nulls) as long as "texts"')
    return list(zip(texts, pairs or [None] * len(texts))), parse_parameters(document.get("parameters"))


def content_length(value: Optional[str], limit: int) -> Optional[int]:
    """A request's declared body size, checked: BadRequest when it is not a whole number, TooLarge over `limit`."""
    if value is None:
        return None
    if not value.strip().isdigit():
        raise BadRequest("Content-Length %r is not a whole number of bytes" % value)
    size = int(value)
    if size > limit:
        raise TooLarge("the body has %d bytes; the limit is %d" % (size, limit))
    return size


def parse_parameters(value: Any) -> Parameters:
    if value is None:
        return Parameters()
    if not isinstance(value, dict):
        raise BadRequest('"parameters" must be an object, got %s' % _kind(value))
    unknown = sorted(set(value) - set(Parameters._fields))
    if unknown:
        raise BadRequest("unknown parameter(s) %s; known: %s" % (", ".join(unknown), ", ".join(Parameters._fields)))
    top_k = value.get("top_k")
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
        raise BadRequest('"parameters.top_k" must be a whole number >= 1, got %s' % json.dumps(top_k))
    threshold = value.get("threshold")
    if threshold is not None and (
        isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0.0 <= threshold <= 1.0
    ):
        raise BadRequest('"parameters.threshold" must be a number from 0 to 1, got %s' % json.dumps(threshold))
    truncation = value.get("truncation", True)
    if not isinstance(truncation, bool):
        raise BadRequest('"parameters.truncation" must be true or false, got %s' % json.dumps(truncation))
    return Parameters(top_k, None if threshold is None else float(threshold), truncation)


def _instance(item: Any, where: str) -> Example:
    if isinstance(item, str):
        return item, None
    if not isinstance(item, dict):
        raise BadRequest('%s: expected a text or an object with "text", got %s' % (where, _kind(item)))
    unknown = sorted(set(item) - {"text", "text_pair"})
    if unknown:
        raise BadRequest('%s: unknown field(s) %s; expected "text" and optional "text_pair"' % (where, ", ".join(unknown)))
    text = item.get("text")
    if not isinstance(text, str):
        raise BadRequest('%s.text must be a string, got %s' % (where, _kind(text)))
    pair = item.get("text_pair")
    if pair is not None and not isinstance(pair, str):
        raise BadRequest('%s.text_pair must be a string, got %s' % (where, _kind(pair)))
    return text, pair


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(type(value), "a number")
