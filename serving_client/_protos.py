"""TF Serving's gRPC messages and PredictionService stub, without TensorFlow.

Built at import time from serving_client/protos/*.proto (compiled into
_proto_descriptors.py by `make client-protos`) in a private descriptor pool:
TensorFlow and tensorflow-serving-api register the same full names
(`tensorflow.TensorProto`, `tensorflow.serving.PredictRequest`) in protobuf's
default pool, and a process may import both. The wire format, the service
path and the `Any` type URLs are what TF Serving uses, so the bytes are
interchangeable.
"""

from typing import Any, Callable

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

from serving_client._proto_descriptors import FILE_DESCRIPTOR_SET

SERVICE = "tensorflow.serving.PredictionService"
TYPE_URL_PREFIX = "type.googleapis.com/"


def _load_pool() -> Any:
    pool = descriptor_pool.DescriptorPool()
    for file_proto in descriptor_pb2.FileDescriptorSet.FromString(FILE_DESCRIPTOR_SET).file:
        pool.AddSerializedFile(file_proto.SerializeToString())  # dependencies come first
    return pool


_POOL = _load_pool()
# protobuf >= 4.21 has GetMessageClass; 3.20 (next to TF 1.15) only MessageFactory.GetPrototype.
_get_class = getattr(message_factory, "GetMessageClass", None) or message_factory.MessageFactory(_POOL).GetPrototype


def _message(full_name: str) -> Any:
    return _get_class(_POOL.FindMessageTypeByName(full_name))


TensorProto = _message("tensorflow.TensorProto")
TensorShapeProto = _message("tensorflow.TensorShapeProto")
SignatureDefMap = _message("tensorflow.serving.SignatureDefMap")
PredictRequest = _message("tensorflow.serving.PredictRequest")
PredictResponse = _message("tensorflow.serving.PredictResponse")
GetModelMetadataRequest = _message("tensorflow.serving.GetModelMetadataRequest")
GetModelMetadataResponse = _message("tensorflow.serving.GetModelMetadataResponse")

_DATA_TYPE = _POOL.FindEnumTypeByName("tensorflow.DataType")


def dtype_number(name: str) -> int:
    """'DT_INT32' -> 3; KeyError for a name TensorFlow does not have."""
    return _DATA_TYPE.values_by_name[name].number


def dtype_name(number: int) -> str:
    """3 -> 'DT_INT32'; an unknown number as 'DT_<n>'."""
    value = _DATA_TYPE.values_by_number.get(number)
    return value.name if value is not None else "DT_%d" % number


def unpack_any(packed: Any, message_class: Any) -> Any:
    """The message inside a google.protobuf.Any, checked against its type URL."""
    expected = TYPE_URL_PREFIX + message_class.DESCRIPTOR.full_name
    if packed.type_url != expected:
        raise ValueError("expected a packed %s, got type URL %r" % (message_class.DESCRIPTOR.full_name, packed.type_url))
    return message_class.FromString(packed.value)


class PredictionServiceStub(object):
    """Client stub of TF Serving's PredictionService (Predict and GetModelMetadata)."""

    def __init__(self, channel: Any):
        self.Predict = _unary_method(channel, "Predict")
        self.GetModelMetadata = _unary_method(channel, "GetModelMetadata")


def _unary_method(channel: Any, name: str) -> Callable[..., Any]:
    """A callable for one PredictionService method, typed by the .proto's declaration."""
    method = _POOL.FindServiceByName(SERVICE).methods_by_name[name]
    return channel.unary_unary(
        "/%s/%s" % (SERVICE, method.name),
        request_serializer=_get_class(method.input_type).SerializeToString,
        response_deserializer=_get_class(method.output_type).FromString,
    )
