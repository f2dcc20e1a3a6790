"""TensorProto -> ndarray for gRPC requests, checked before anything is allocated.

`tf.make_ndarray` trusts the proto: a DT_RESOURCE or DT_VARIANT tensor raises
KeyError (an INTERNAL answer), and one value with a declared shape of
[1, 100000000] is broadcast to 400 MB. Here the dtype, the shape and the
element count are checked against what the request actually carries and the
size of the array to build against a byte budget first: client mistakes are
INVALID_ARGUMENT, arrays over the budget RESOURCE_EXHAUSTED.
"""

from model_server.errors import ServingError, invalid_argument
from model_server.tensor_json import MAX_RANK

# dtype number -> (name, bytes per element, repeated field holding its values, values per element).
# Strings count their bytes plus a pointer each. Resource, variant, quantized and unsigned
# 32/64-bit tensors (which tf.make_ndarray cannot read) are refused.
_LAYOUTS = {
    1: ("DT_FLOAT", 4, "float_val", 1),
    2: ("DT_DOUBLE", 8, "double_val", 1),
    3: ("DT_INT32", 4, "int_val", 1),
    4: ("DT_UINT8", 1, "int_val", 1),
    5: ("DT_INT16", 2, "int_val", 1),
    6: ("DT_INT8", 1, "int_val", 1),
    7: ("DT_STRING", 0, "string_val", 1),
    8: ("DT_COMPLEX64", 8, "scomplex_val", 2),
    9: ("DT_INT64", 8, "int64_val", 1),
    10: ("DT_BOOL", 1, "bool_val", 1),
    14: ("DT_BFLOAT16", 2, "half_val", 1),
    17: ("DT_UINT16", 2, "int_val", 1),
    18: ("DT_COMPLEX128", 16, "dcomplex_val", 2),
    19: ("DT_HALF", 2, "half_val", 1),
}


def _dtype_name(number):
    from tensorflow.core.framework import types_pb2
    try:
        return types_pb2.DataType.Name(number)
    except ValueError:
        return "dtype %d" % number


def check_tensor(alias, proto, budget_bytes):
    """Bytes the array of `proto` will take; raises INVALID_ARGUMENT/RESOURCE_EXHAUSTED first.

    As TF, fewer values than elements are padded with the last one (zeros when
    there are none), so the array can be far larger than the request: its size
    is what the budget limits.
    """
    layout = _LAYOUTS.get(proto.dtype)
    if layout is None:
        raise invalid_argument("input tensor '%s' has %s, which a request cannot carry"
                               % (alias, _dtype_name(proto.dtype)))
    name, item_bytes, field, per_element = layout
    if len(proto.tensor_shape.dim) > MAX_RANK:
        raise invalid_argument("input tensor '%s' has %d dimensions; a tensor has at most %d"
                               % (alias, len(proto.tensor_shape.dim), MAX_RANK))
    count = 1
    for dim in proto.tensor_shape.dim:
        if dim.size < 0:
            raise invalid_argument("input tensor '%s' has a negative dimension size %d" % (alias, dim.size))
        count *= dim.size  # Python ints: [2**40, 64] does not overflow
    shape = [dim.size for dim in proto.tensor_shape.dim]
    if proto.tensor_content and name == "DT_STRING":
        raise invalid_argument("input tensor '%s' of DT_STRING must give string_val, not tensor_content" % alias)
    if proto.tensor_content:
        if len(proto.tensor_content) != count * item_bytes:
            raise invalid_argument("input tensor '%s' of shape %s and %s needs %d bytes of tensor_content; got %d"
                                   % (alias, shape, name, count * item_bytes, len(proto.tensor_content)))
        size = count * item_bytes
    else:
        values = getattr(proto, field)
        if len(values) % per_element or len(values) // per_element > count:
            raise invalid_argument("input tensor '%s' of shape %s has %d elements but the request gives %d "
                                   "values in %s" % (alias, shape, count, len(values), field))
        if name == "DT_STRING":
            padding = count - len(values)
            size = count * 8 + sum(len(value) for value in values) + padding * (len(values[-1]) if values else 0)
        else:
            size = count * item_bytes
    if size > budget_bytes:
        raise ServingError("RESOURCE_EXHAUSTED", "input tensor '%s' of shape %s and %s would take %d bytes, "
                           "more than the %d bytes a request may use" % (alias, shape, name, size, budget_bytes))
    return size


def request_arrays(inputs, budget_bytes):
    """{alias: ndarray} of a request's input TensorProtos; all are checked (together against
    the budget) before any is converted."""
    import tensorflow.compat.v1 as tf
    left = budget_bytes
    for alias in sorted(inputs):
        left -= check_tensor(alias, inputs[alias], left)
    return {alias: tf.make_ndarray(proto) for alias, proto in inputs.items()}
