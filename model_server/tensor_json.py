"""JSON <-> tensor conversion of TensorFlow Serving's REST API (contract 7.1, 8).

Mirrors TFS's json_tensor rules: shapes come from the first element at every
level, each dtype accepts only its JSON types, and errors carry TFS's texts.
A vectorised fast path converts well-formed data; anything it does not accept
is re-run through the element-by-element path, which yields the exact error.
"""

import base64
import binascii
import itertools
import json
import re

import numpy as np
import rapidjson

from model_server.errors import ServingError, invalid_argument

# tensorflow.DataType enum -> (TFS type name, numpy dtype, JSON kind).
DTYPES = {
    1: ("float", np.float32, "float"),
    2: ("double", np.float64, "float"),
    3: ("int32", np.int32, "int"),
    4: ("uint8", np.uint8, "int"),
    5: ("int16", np.int16, "int"),
    6: ("int8", np.int8, "int"),
    7: ("string", np.object_, "string"),
    9: ("int64", np.int64, "int"),
    10: ("bool", np.bool_, "bool"),
    17: ("uint16", np.uint16, "int"),
    19: ("half", np.float16, "float"),
    22: ("uint32", np.uint32, "int"),
    23: ("uint64", np.uint64, "int"),
}
# JSON integers accepted per int dtype (TFS: IsInt for the small types, IsInt64, IsUint, IsUint64).
_INT_RANGES = {
    3: (-2 ** 31, 2 ** 31 - 1), 4: (-2 ** 31, 2 ** 31 - 1), 5: (-2 ** 31, 2 ** 31 - 1),
    6: (-2 ** 31, 2 ** 31 - 1), 17: (-2 ** 31, 2 ** 31 - 1),
    9: (-2 ** 63, 2 ** 63 - 1), 22: (0, 2 ** 32 - 1), 23: (0, 2 ** 64 - 1),
}
# Largest integer a float type holds exactly (TFS refuses lossy ints).
_FLOAT_EXACT = {1: 2 ** 24 - 1, 2: 2 ** 53 - 1, 19: 2 ** 11 - 1}
_FLOAT_LIMITS = {1: float(np.finfo(np.float32).max), 2: float(np.finfo(np.float64).max),
                 19: float(np.finfo(np.float16).max)}
BYTES_SUFFIX = "_bytes"
_BASE64 = re.compile(r"^[A-Za-z0-9+/_-]*={0,2}$")  # standard or web-safe alphabet, padding optional
_WEB_SAFE = str.maketrans("-_", "+/")
_RAPIDJSON_ERROR = re.compile(r"Parse error at offset (?P<offset>\d+): (?P<reason>.*)$", re.DOTALL)
_TRAILING_CONTENT = "The document root must not be followed by other values."
# A \\uD800-\\uDFFF escape: the standard library accepts a lone one, TFS's rapidjson does not.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89abcdefABCDEF]")
# Dimensions a tensor may have: numpy 1.x builds no more (TF's TensorShape allows 254, but a
# model's inputs have a handful, so a deeper tensor is always the client's mistake).
MAX_RANK = 32


def dtype_name(dtype):
    return DTYPES[dtype][0] if dtype in DTYPES else "type%d" % dtype


def dump(value):
    """A JSON value as text, for error messages."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def json_type(value):
    if value is None:
        return "Null"
    if value is True:
        return "True"
    if value is False:
        return "False"
    if isinstance(value, dict):
        return "Object"
    if isinstance(value, list):
        return "Array"
    if isinstance(value, str):
        return "String"
    return "Number"


def _type_error(value, dtype):
    return invalid_argument("JSON Value: %s Type: %s is not of expected type: %s"
                            % (dump(value), json_type(value), dtype_name(dtype)))


# ---------------------------------------------------------------- parsing

def parse_document(body):
    """bytes -> the top-level JSON object, with TFS's parse error texts.

    The standard library parses well-formed bodies (fast); what it refuses is
    parsed again by rapidjson, TFS's own parser, for TFS's verdict and error
    text: `Inf` is a number there, and a document ends at its first value
    (kParseStopWhenDoneFlag), whatever follows.
    """
    if not body:
        raise invalid_argument("JSON Parse error: The document is empty")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise invalid_argument("JSON Parse error: Invalid encoding in string. at offset: %d" % exc.start)
    try:
        doc = json.loads(text) if _SURROGATE_ESCAPE.search(text) is None else _parse_as_tfs(text)
    except RecursionError:
        doc = _parse_as_tfs(text, too_deep=True)
    except ValueError:  # JSONDecodeError, or an integer literal beyond Python's digit limit
        doc = _parse_as_tfs(text)
    if not isinstance(doc, dict):
        raise invalid_argument("JSON Value: %s Is not object" % dump(doc))
    return doc


def _parse_as_tfs(text, too_deep=False):
    try:
        doc = rapidjson.loads(text, number_mode=rapidjson.NM_NAN | rapidjson.NM_NATIVE)
    except rapidjson.JSONDecodeError as exc:
        match = _RAPIDJSON_ERROR.match(str(exc))
        if match is None:
            raise invalid_argument("JSON Parse error: %s" % exc) from None
        offset, reason = int(match.group("offset")), match.group("reason")
        if reason == _TRAILING_CONTENT:
            return _parse_as_tfs(text.encode("utf-8")[:offset].decode("utf-8"))
        raise invalid_argument("JSON Parse error: %s at offset: %d" % (reason, offset)) from None
    except (RecursionError, ValueError) as exc:
        raise invalid_argument("JSON Parse error: %s" % exc) from None
    if too_deep:  # valid JSON nested deeper than the tensor converters recurse
        raise invalid_argument("JSON Parse error: Nesting too deep at offset: 0")
    return doc


def signature_name_of(doc):
    """The optional `signature_name` ('' when absent)."""
    if "signature_name" not in doc:
        return ""
    name = doc["signature_name"]
    if not isinstance(name, str):
        raise invalid_argument("JSON Value: %s not formatted correctly. 'signature_name' key must "
                               "be a string value." % dump(doc))
    return name


def is_b64_object(value):
    return isinstance(value, dict) and len(value) == 1 and isinstance(value.get("b64"), str)


def _is_element_object(value):
    return isinstance(value, dict) and not is_b64_object(value)


def parse_predict_inputs(doc, input_dtypes):
    """Predict body -> ("row"|"columnar", {alias: ndarray}). input_dtypes: alias -> DataType."""
    has_instances, has_inputs = "instances" in doc, "inputs" in doc
    if has_instances and has_inputs:
        raise invalid_argument("JSON Value: %s Not formatted correctly expecting only one of "
                               "'inputs' or 'instances' keys to exist " % dump(doc))
    if has_instances:
        instances = doc["instances"]
        if not isinstance(instances, list):
            raise invalid_argument("JSON Value: %s Excepting 'instances' to be an list/array" % dump(doc))
        if not instances:
            raise invalid_argument("JSON Value: %s No values in 'instances' array" % dump(doc))
        return "row", _tensors_from_instances(instances, input_dtypes)
    if has_inputs:
        return "columnar", _tensors_from_inputs(doc["inputs"], input_dtypes)
    raise invalid_argument("Missing 'inputs' or 'instances' key")


def _tensors_from_inputs(value, input_dtypes):
    if not isinstance(value, dict) or is_b64_object(value):
        if len(input_dtypes) > 1:
            raise invalid_argument("inputs is a plain value/list, but expecting an object as multiple "
                                   "input tensors required as per tensorinfo_map")
        (name, dtype), = input_dtypes.items()
        return {name: to_array(value, dtype)}
    tensors = {}
    for name in sorted(input_dtypes):
        if name not in value:
            raise invalid_argument("Missing named input: %s in 'inputs' object." % name)
        tensors[name] = to_array(value[name], input_dtypes[name])
    return tensors


def _tensors_from_instances(instances, input_dtypes):
    first = instances[0]
    if not isinstance(first, dict) and len(input_dtypes) > 1:
        raise invalid_argument("instances is a plain list, but expecting list of objects as multiple "
                               "input tensors required as per tensorinfo_map")
    names = set(input_dtypes)
    if _is_element_object(first):
        for index, element in enumerate(instances):
            if not _is_element_object(element):
                raise invalid_argument("Expecting object but got list at item %d of input list" % index)
            for key in element:
                if key not in names:
                    raise invalid_argument("Failed to process element: %d key: %s of 'instances' list. "
                                           "Error: Invalid argument: JSON object: does not have named "
                                           "input: %s" % (index, key, key))
            if set(element) != names:
                raise invalid_argument("Failed to process element: %d of 'instances' list. JSON object: "
                                       "%s keys must be equal to: %s"
                                       % (index, dump(element), ",".join(sorted(names))))
        columns = {name: [element[name] for element in instances] for name in names}
        keyed = True
    else:
        (name,) = names
        for index, element in enumerate(instances):
            if _is_element_object(element):
                raise invalid_argument("Expecting value/list but got object at item %d of input list" % index)
        columns = {name: instances}
        keyed = False
    tensors = {}
    for name, column in columns.items():
        array = _fast_array(column, input_dtypes[name])
        if array is None:
            array = _instances_slow(column, name, input_dtypes[name], keyed)
        tensors[name] = array
    return tensors


def _instances_slow(column, name, dtype, keyed):
    """Element-by-element conversion of one input; raises TFS's per-element errors."""
    arrays, first_shape = [], None
    for index, element in enumerate(column):
        try:
            array = to_array(element, dtype)
            if first_shape is None:
                first_shape = array.shape
            elif array.size != int(np.prod(first_shape)):
                raise invalid_argument("Expecting tensor size: %d but got: %d"
                                       % (int(np.prod(first_shape)), array.size))
            elif array.shape != first_shape:
                raise invalid_argument("Expecting shape [%s] but got: [%s]" % (
                    ",".join(map(str, first_shape)), ",".join(map(str, array.shape))))
        except Exception as exc:
            where = ("%d key: %s" % (index, name)) if keyed else str(index)
            raise invalid_argument("Failed to process element: %s of 'instances' list. Error: "
                                   "Invalid argument: %s" % (where, exc))
        arrays.append(array)
    return np.stack(arrays)


def dense_shape(value):
    """The shape the first element at every level gives; INVALID_ARGUMENT beyond MAX_RANK levels."""
    shape = []
    while isinstance(value, list):
        if len(shape) == MAX_RANK:
            raise invalid_argument("JSON Value: tensor nested deeper than %d levels; a tensor has at most "
                                   "%d dimensions" % (MAX_RANK, MAX_RANK))
        shape.append(len(value))
        if not value:
            break
        value = value[0]
    return shape


def to_array(value, dtype):
    """One JSON value (scalar or nested lists) -> ndarray of the signature dtype."""
    if dtype not in DTYPES:
        raise ServingError("UNIMPLEMENTED", "Conversion of JSON Value: %s to type: %s"
                           % (dump(value), dtype_name(dtype)))
    array = _fast_array(value, dtype)
    if array is not None:
        return array
    shape = dense_shape(value)
    flat = []
    _fill(value, 0, shape, dtype, flat)
    return _finish(flat, shape, dtype)


def _fill(value, level, shape, dtype, flat):
    rank = len(shape)
    if not isinstance(value, list):
        if level != rank:
            raise invalid_argument("JSON Value: %s found at incorrect level: %d in the JSON DOM. "
                                   "Expected at level: %d" % (dump(value), level + 1, rank))
        flat.append(_scalar(value, dtype))
        return
    if level >= rank:
        raise invalid_argument("Encountered list at unexpected level: %d expected < %d" % (level, rank))
    if len(value) != shape[level]:
        raise invalid_argument("Encountered list at unexpected size: %d at level: %d expected size: %d"
                               % (len(value), level, shape[level]))
    for item in value:
        _fill(item, level + 1, shape, dtype, flat)


def _scalar(value, dtype):
    kind = DTYPES[dtype][2]
    if kind == "string":
        if isinstance(value, str):
            return value.encode("utf-8")
        if isinstance(value, dict):
            return decode_b64(value)
        raise _type_error(value, dtype)
    if isinstance(value, dict):
        raise _type_error(value, dtype)
    if kind == "bool":
        if isinstance(value, bool):
            return value
        raise _type_error(value, dtype)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _type_error(value, dtype)
    if kind == "int":
        low, high = _INT_RANGES[dtype]
        if not isinstance(value, int) or not low <= value <= high:
            raise _type_error(value, dtype)
        return value
    check_lossless(value, dtype)
    return value


def check_lossless(value, dtype):
    if isinstance(value, int):
        ok = abs(value) <= _FLOAT_EXACT[dtype]
    else:
        ok = value != value or abs(value) == float("inf") or abs(value) <= _FLOAT_LIMITS[dtype]
    if not ok:
        raise invalid_argument("Cannot convert JSON value: %s to %s without loss of precision."
                               % (dump(value), dtype_name(dtype)))


def decode_b64(value):
    if not is_b64_object(value):
        raise invalid_argument("JSON Value: %s not formatted correctly for base64 data" % dump(value))
    text = value["b64"]
    if not _BASE64.match(text):
        raise invalid_argument("Unable to base64 decode")
    text = text.rstrip("=").translate(_WEB_SAFE)
    try:
        return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise invalid_argument("Unable to base64 decode") from None


def _finish(flat, shape, dtype):
    np_dtype = DTYPES[dtype][1]
    if np_dtype is np.object_:
        array = np.empty(len(flat), dtype=object)
        array[:] = flat
        return array.reshape(shape)
    return np.array(flat, dtype=np_dtype).reshape(shape)


def _fast_array(value, dtype):
    """Vectorised conversion of well-formed numeric/bool/plain-string data, else None."""
    shape = dense_shape(value)
    level = [value]
    for size in shape:
        if set(map(type, level)) != {list} or set(map(len, level)) != {size}:
            return None
        level = list(itertools.chain.from_iterable(level))
        if size == 0:
            break
    flat = level
    if 0 in shape:
        return np.zeros(shape, dtype=DTYPES[dtype][1])
    types = set(map(type, flat))
    kind = DTYPES[dtype][2]
    if kind == "int":
        if types != {int}:
            return None
        low, high = _INT_RANGES[dtype]
        if min(flat) < low or max(flat) > high:
            return None
    elif kind == "float":
        if not types <= {int, float}:
            return None
        if int in types and max(abs(x) for x in flat if type(x) is int) > _FLOAT_EXACT[dtype]:
            return None
        if float in types:
            finite = [abs(x) for x in flat if type(x) is float and x == x and x != float("inf")
                      and x != float("-inf")]
            if finite and max(finite) > _FLOAT_LIMITS[dtype]:
                return None
    elif kind == "bool":
        if types != {bool}:
            return None
    elif types != {str}:
        return None
    else:
        flat = [item.encode("utf-8") for item in flat]
    return _finish(flat, shape, dtype)


# ---------------------------------------------------------------- responses

class _Raw(object):
    """JSON text written as it is: float32 numbers formatted in one go instead of one repr() each."""

    __slots__ = ("text",)

    def __init__(self, text):
        self.text = text


def to_json_value(name, array):
    """ndarray -> nested lists for JSON; `*_bytes` string outputs as {"b64": ...}.

    A float32 tensor of rank >= 1 becomes a list of `_Raw` rows (one per 0th-dimension
    entry, so row-format answers can split it), a scalar one `_Raw`; `encode` writes them.
    """
    array = np.asarray(array)
    if array.dtype.kind in "OSU":
        as_b64 = name.endswith(BYTES_SUFFIX)
        return _map_nested(array.tolist(), lambda item: _encode_bytes(item, as_b64))
    if array.dtype.kind == "c":
        raise invalid_argument("Tensor %s: complex outputs cannot be written as JSON" % name)
    if array.dtype == np.float32 and array.size:
        return _float32_rows(array)
    return array.tolist()


def _float32_rows(array):
    """A float32 tensor's JSON text per row, each number as TFS's fallback writes it (`%.9g`).

    Nine significant digits read back as the same float32 (TFS writes `%g`'s six when those
    do, else these nine); a whole number keeps a `.0` and NaN/Infinity are words, as in TFS.
    The float64 text of the same value (`repr`) is ~17 digits: a token classifier's
    [L, num_tags] answer would be ~1.5x the bytes, written and parsed ~2x slower.
    """
    flat = array.ravel()
    values = flat.tolist()
    texts = ("%.9g\x00" * len(values) % tuple(values)).split("\x00")
    texts.pop()
    with np.errstate(invalid="ignore"):
        special = np.flatnonzero(~np.isfinite(flat) | (flat == np.trunc(flat)))
    for index in special.tolist():
        texts[index] = float_text(values[index])
    for size in reversed(array.shape[1:]):
        texts = ["[" + ",".join(texts[i:i + size]) + "]" for i in range(0, len(texts), size)]
    rows = [_Raw(text) for text in texts]
    return rows if array.ndim else rows[0]


def float_text(value):
    """One float32 value as `_float32_rows` writes it."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    text = "%.9g" % value
    return text if "." in text or "e" in text else text + ".0"


def _encode_bytes(item, as_b64):
    if isinstance(item, str):
        item = item.encode("utf-8")
    if as_b64:
        return {"b64": base64.b64encode(item).decode("ascii")}
    return item.decode("utf-8", errors="replace")


def _map_nested(value, fn):
    if isinstance(value, list):
        return [_map_nested(item, fn) for item in value]
    return fn(value)


def predict_response(outputs, fmt):
    """{alias: ndarray} -> the response object for the request's format."""
    names = sorted(outputs)
    if fmt == "columnar":
        if len(names) == 1:
            return {"outputs": to_json_value(names[0], outputs[names[0]])}
        return {"outputs": {name: to_json_value(name, outputs[name]) for name in names}}
    if len(names) == 1:
        return {"predictions": to_json_value(names[0], outputs[names[0]])}
    batch = None
    for name in names:
        array = outputs[name]
        if array.ndim == 0:
            raise invalid_argument("Tensor name: %s has no shape information " % name)
        if batch is None:
            batch = array.shape[0]
        elif array.shape[0] != batch:
            raise invalid_argument("Tensor name: %s has inconsistent batch size: %d expecting: %d"
                                   % (name, array.shape[0], batch))
    columns = {name: to_json_value(name, outputs[name]) for name in names}
    return {"predictions": [{name: columns[name][row] for name in names} for row in range(batch)]}


def encode(obj):
    """Response object -> bytes (NaN/Infinity written as TFS does; `_Raw` rows as they are)."""
    return _dumps(obj).encode("utf-8")


def _dumps(value):
    if isinstance(value, dict):
        return "{" + ",".join(dump(str(key)) + ":" + _dumps(item) for key, item in value.items()) + "}"
    if isinstance(value, _Raw):
        return value.text
    if isinstance(value, list) and value and isinstance(value[0], (_Raw, dict)):  # float32 rows, row-format answers
        return "[" + ",".join(_dumps(item) for item in value) + "]"
    return dump(value)
