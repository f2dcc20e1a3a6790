"""The client's own TF Serving messages (serving_client/protos/) against the real ones.

The client must not need tensorflow-serving-api (it depends on TensorFlow), so it
carries a wire-compatible subset of TF Serving's protos. These tests prove the
subset is what the wire expects: every field it declares has TensorFlow's number
and type, bytes written by either side parse to the same message on the other,
and the committed compiled descriptors match the .proto files.
"""

import pytest

from serving_client import _protos

needs_tf = pytest.mark.needs_tf


class RecordingChannel(object):
    def __init__(self):
        self.paths = []

    def unary_unary(self, path, request_serializer, response_deserializer):
        self.paths.append(path)
        return (path, request_serializer, response_deserializer)


def test_stub_calls_tf_servings_method_paths():
    channel = RecordingChannel()
    stub = _protos.PredictionServiceStub(channel)
    assert channel.paths == ["/tensorflow.serving.PredictionService/Predict",
                             "/tensorflow.serving.PredictionService/GetModelMetadata"]
    _, serialize, parse = stub.Predict
    request = _protos.PredictRequest()
    request.model_spec.name = "m"
    assert serialize(request) == request.SerializeToString()
    assert parse(b"") == _protos.PredictResponse()


def test_dtype_names_and_numbers_are_tensorflows():
    assert [_protos.dtype_number(n) for n in ("DT_FLOAT", "DT_INT32", "DT_STRING", "DT_INT64", "DT_BOOL")] == [1, 3, 7, 9, 10]
    assert _protos.dtype_name(3) == "DT_INT32"
    assert _protos.dtype_name(99) == "DT_99"


def test_unpack_any_checks_the_type_url():
    signatures = _protos.SignatureDefMap()
    signatures.signature_def["serving_default"].method_name = "tensorflow/serving/predict"
    response = _protos.GetModelMetadataResponse()
    packed = response.metadata["signature_def"]
    packed.type_url = "type.googleapis.com/tensorflow.serving.SignatureDefMap"
    packed.value = signatures.SerializeToString()
    assert _protos.unpack_any(packed, _protos.SignatureDefMap) == signatures
    packed.type_url = "type.googleapis.com/tensorflow.TensorProto"
    with pytest.raises(ValueError, match="expected a packed tensorflow.serving.SignatureDefMap"):
        _protos.unpack_any(packed, _protos.SignatureDefMap)


# ---------------------------------------------------------------- against TF Serving (Python 3.7 venv)


def tf_messages():
    """Full name -> the real tensorflow / tensorflow-serving-api message class."""
    from tensorflow.core.framework import tensor_pb2, tensor_shape_pb2
    from tensorflow.core.protobuf import meta_graph_pb2
    from tensorflow_serving.apis import get_model_metadata_pb2, model_pb2, predict_pb2

    classes = [tensor_pb2.TensorProto, tensor_shape_pb2.TensorShapeProto, meta_graph_pb2.TensorInfo,
               meta_graph_pb2.SignatureDef, model_pb2.ModelSpec, predict_pb2.PredictRequest, predict_pb2.PredictResponse,
               get_model_metadata_pb2.GetModelMetadataRequest, get_model_metadata_pb2.GetModelMetadataResponse,
               get_model_metadata_pb2.SignatureDefMap]
    return {cls.DESCRIPTOR.full_name: cls for cls in classes}


def _all_messages(descriptor):
    yield descriptor
    for nested in descriptor.nested_types:
        yield from _all_messages(nested)


def _field_signature(field):
    return (field.number, field.type, field.label,
            field.message_type.full_name if field.message_type else None,
            field.enum_type.full_name if field.enum_type else None,
            field.containing_oneof.name if field.containing_oneof else None)


@needs_tf
def test_every_declared_field_has_tensorflows_number_and_type():
    from tensorflow.core.framework import types_pb2
    from tensorflow_serving.apis import prediction_service_pb2

    theirs = {}
    for cls in tf_messages().values():
        for descriptor in _all_messages(cls.DESCRIPTOR):
            theirs[descriptor.full_name] = descriptor
    ours = [message for file_name in ("tensorflow_subset.proto", "serving_subset.proto")
            for top in _protos._POOL.FindFileByName(file_name).message_types_by_name.values()
            for message in _all_messages(top)]
    checked = 0
    for message in ours:
        for field in message.fields:
            their_field = theirs[message.full_name].fields_by_name[field.name]
            assert _field_signature(field) == _field_signature(their_field), (message.full_name, field.name)
            checked += 1
    assert checked >= 50  # every field of the subset, map entries included
    ours_enum = _protos._POOL.FindEnumTypeByName("tensorflow.DataType")
    assert [(v.name, v.number) for v in ours_enum.values] == [(v.name, v.number) for v in types_pb2.DataType.DESCRIPTOR.values]
    their_service = prediction_service_pb2.DESCRIPTOR.services_by_name["PredictionService"]
    for method in _protos._POOL.FindServiceByName(_protos.SERVICE).methods:
        theirs_method = their_service.methods_by_name[method.name]
        assert (method.input_type.full_name, method.output_type.full_name) == (
            theirs_method.input_type.full_name, theirs_method.output_type.full_name)


def _predict_request(request):
    """Fills a PredictRequest (ours or TF's) with every value field the client sends."""
    request.model_spec.name = "sms"
    request.model_spec.version.value = 1700000000
    request.model_spec.signature_name = "serving_default"
    request.output_filter.append("probabilities")
    values = {
        "input_ids": (3, "int_val", [[101, 2, 102], [101, 7, 102]]),
        "lengths": (9, "int64_val", [[-5, 2 ** 40]]),
        "scores": (1, "float_val", [[0.25, -1.5]]),
        "weights": (2, "double_val", [[1e-300]]),
        "text": (7, "string_val", [[b"caf\xc3\xa9", b"\x00\xff"]]),
        "flags": (10, "bool_val", [[True, False]]),
    }
    for name, (dtype, field, rows) in values.items():
        tensor = request.inputs[name]
        tensor.dtype = dtype
        for size in (len(rows), len(rows[0])):
            tensor.tensor_shape.dim.add(size=size)
        getattr(tensor, field).extend(value for row in rows for value in row)
    request.inputs["packed"].dtype = 1
    request.inputs["packed"].tensor_shape.dim.add(size=-1, name="batch")
    request.inputs["packed"].tensor_content = b"\x00\x00\x80?\x00\x00\x00@"
    return request


@needs_tf
def test_predict_request_bytes_interchange_both_ways():
    from google.protobuf import text_format

    theirs_class = tf_messages()["tensorflow.serving.PredictRequest"]
    ours = _predict_request(_protos.PredictRequest())
    theirs = _predict_request(theirs_class())
    assert ours.SerializeToString(deterministic=True) == theirs.SerializeToString(deterministic=True)
    parsed_by_them = theirs_class.FromString(ours.SerializeToString())
    parsed_by_us = _protos.PredictRequest.FromString(theirs.SerializeToString())
    assert parsed_by_them == theirs and parsed_by_us == ours
    assert text_format.MessageToString(parsed_by_us) == text_format.MessageToString(parsed_by_them)


@needs_tf
def test_predict_response_from_tensorflow_reads_as_ours():
    import numpy as np
    import tensorflow as tf

    from serving_client._grpc import from_tensor_proto

    theirs = tf_messages()["tensorflow.serving.PredictResponse"]()
    theirs.model_spec.name = "sms"
    theirs.model_spec.version.value = 3
    theirs.outputs["probabilities"].CopyFrom(tf.make_tensor_proto(np.array([[0.25, 0.75], [0.5, 0.5]], np.float32)))
    theirs.outputs["labels"].CopyFrom(tf.make_tensor_proto([b"ham", b"spam"]))
    ours = _protos.PredictResponse.FromString(theirs.SerializeToString())
    assert ours.model_spec.version.value == 3
    assert from_tensor_proto(ours.outputs["probabilities"]) == [[0.25, 0.75], [0.5, 0.5]]
    assert from_tensor_proto(ours.outputs["labels"]) == ["ham", "spam"]


@needs_tf
def test_model_metadata_interchanges_both_ways_with_the_any_type_url():
    messages = tf_messages()
    theirs_map = messages["tensorflow.serving.SignatureDefMap"]()
    signature = theirs_map.signature_def["serving_default"]
    signature.method_name = "tensorflow/serving/predict"
    signature.inputs["input_ids"].name = "input_ids:0"
    signature.inputs["input_ids"].dtype = 3
    for size in (-1, 128):
        signature.inputs["input_ids"].tensor_shape.dim.add(size=size)
    signature.outputs["probabilities"].name = "probabilities:0"
    signature.outputs["probabilities"].dtype = 1
    theirs = messages["tensorflow.serving.GetModelMetadataResponse"]()
    theirs.model_spec.name = "sms"
    theirs.metadata["signature_def"].Pack(theirs_map)

    ours = _protos.GetModelMetadataResponse.FromString(theirs.SerializeToString())
    ours_map = _protos.unpack_any(ours.metadata["signature_def"], _protos.SignatureDefMap)
    assert ours_map.SerializeToString(deterministic=True) == theirs_map.SerializeToString(deterministic=True)

    back = messages["tensorflow.serving.GetModelMetadataResponse"].FromString(ours.SerializeToString())
    unpacked = messages["tensorflow.serving.SignatureDefMap"]()
    assert back.metadata["signature_def"].Unpack(unpacked) and unpacked == theirs_map


@needs_tf
def test_committed_descriptors_match_the_proto_files():
    from google.protobuf import descriptor_pb2

    from scripts.client_protos import compile_descriptor_set
    from serving_client._proto_descriptors import FILE_DESCRIPTOR_SET

    fresh = descriptor_pb2.FileDescriptorSet.FromString(compile_descriptor_set())
    committed = descriptor_pb2.FileDescriptorSet.FromString(FILE_DESCRIPTOR_SET)
    assert committed == fresh, "serving_client/_proto_descriptors.py is stale: run `make client-protos`"
