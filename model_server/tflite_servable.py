"""A `model.tflite` version run by TF Lite's interpreter (`--prefer_tflite_model`, as in TF Serving).

TF Serving's TfLiteSession serves a TF Lite model through the same Predict
path as a SavedModel. Its signatures are the SignatureDefs stored in the
model's `signature_defs_metadata` (a FlexBuffer map of key -> serialized
SignatureDef, tflite::GetSignatureDefMap), each tensor name matched to the
model's tensors (or their legacy name without `:N`); a model without them
gets one generated `serving_default` whose inputs and outputs are the model's
tensors under their legacy names. Every input is resized to the shape the
request sends. This class offers the same interface as `Servable`, so the
runner, batcher, REST and gRPC front ends serve it unchanged.
"""

import os
import threading
import time
import warnings

import numpy as np

from bert_contract import DEFAULT_SIGNATURE
from model_server.errors import ServingError, invalid_argument
from model_server.servable import Servable

TFLITE_FILE = "model.tflite"
PREDICT_METHOD = "tensorflow/serving/predict"
SIGNATURE_DEFS_METADATA = "signature_defs_metadata"  # tflite::kSignatureDefsMetadataName
# Field offsets in the vtables of TF Lite's schema (4 + 2 * field index): Model.buffers,
# Model.metadata; Metadata.name, Metadata.buffer; Buffer.data, Buffer.offset, Buffer.size.
_MODEL_BUFFERS, _MODEL_METADATA = 12, 16
_METADATA_NAME, _METADATA_BUFFER = 4, 6
_BUFFER_DATA, _BUFFER_OFFSET, _BUFFER_SIZE = 4, 6, 8


def has_tflite_model(path):
    return os.path.isfile(os.path.join(path, TFLITE_FILE))


def _alias(tensor_name):
    """TF Serving's legacy TF Lite name: the tensor name without its `:N` output index."""
    return tensor_name.split(":", 1)[0]


def metadata_signature_defs(model):
    """{key: SignatureDef} stored in a TF Lite flatbuffer's metadata ({} when it has none).

    Read with the flatbuffers runtime alone (TF 1.15 ships no TF Lite schema
    module): the `signature_defs_metadata` entry names a buffer holding a
    FlexBuffer map of serialized SignatureDefs.
    """
    from flatbuffers import encode, flexbuffers, number_types, packer
    from flatbuffers.table import Table
    from tensorflow.core.protobuf import meta_graph_pb2

    root = Table(model, encode.Get(packer.uoffset, model, 0))

    def tables(table, field):
        offset = table.Offset(field)
        if not offset:
            return []
        start = table.Vector(offset)
        return [Table(model, table.Indirect(start + 4 * k)) for k in range(table.VectorLen(offset))]

    def scalar(table, field, flags):
        offset = table.Offset(field)
        return table.Get(flags, offset + table.Pos) if offset else 0

    buffers = tables(root, _MODEL_BUFFERS)
    for entry in tables(root, _MODEL_METADATA):
        name_offset = entry.Offset(_METADATA_NAME)
        if not name_offset or entry.String(name_offset + entry.Pos) != SIGNATURE_DEFS_METADATA.encode():
            continue
        index = scalar(entry, _METADATA_BUFFER, number_types.Uint32Flags)
        if index >= len(buffers):
            raise ValueError("its signature_defs_metadata names buffer %d of %d" % (index, len(buffers)))
        buffer = buffers[index]
        data_offset = buffer.Offset(_BUFFER_DATA)
        if data_offset:
            start = buffer.Vector(data_offset)
            data = bytes(model[start:start + buffer.VectorLen(data_offset)])
        else:  # large models keep buffers after the flatbuffer
            begin = scalar(buffer, _BUFFER_OFFSET, number_types.Uint64Flags)
            data = bytes(model[begin:begin + scalar(buffer, _BUFFER_SIZE, number_types.Uint64Flags)])
        entries = flexbuffers.GetRoot(data).AsMap
        signatures = {}
        for key, value in zip(entries.Keys, entries.Values):
            signatures[key.AsKey] = meta_graph_pb2.SignatureDef.FromString(value.AsStringBytes)
        return signatures
    return {}


class TfLiteServable(object):
    """`model.tflite` in a version directory, ready to run like a Servable."""

    def __init__(self, path):
        import tensorflow as tf
        from tensorflow.core.protobuf import meta_graph_pb2

        self.path = path
        with open(os.path.join(path, TFLITE_FILE), "rb") as f:
            model = f.read()
        with warnings.catch_warnings():  # TF 2.19 announces the interpreter's move to ai_edge_litert
            warnings.simplefilter("ignore")
            self._interpreter = tf.lite.Interpreter(model_content=model)
        self._interpreter.allocate_tensors()
        inputs = {d["name"]: d for d in self._interpreter.get_input_details()}
        outputs = {d["name"]: d for d in self._interpreter.get_output_details()}
        try:
            stored = metadata_signature_defs(model)
        except Exception as exc:  # noqa: BLE001  a malformed flatbuffer or SignatureDef
            raise invalid_argument("Invalid SignatureDefs found in TfLite model: %s" % exc) from None
        if stored:
            self.signatures = stored
            for signature in stored.values():
                for kind, infos, tensors in (("input", signature.inputs, inputs), ("output", signature.outputs, outputs)):
                    for alias, info in infos.items():
                        info.name = _tensor_name(info.name, tensors, kind, alias)
        else:  # TFS: "No signature def found in TFLite model. Generating one."
            signature = meta_graph_pb2.SignatureDef(method_name=PREDICT_METHOD)
            for infos, details in ((signature.inputs, inputs), (signature.outputs, outputs)):
                for name, detail in details.items():
                    info = infos[_alias(name)]
                    info.name = name
                    info.dtype = tf.as_dtype(detail["dtype"]).as_datatype_enum
                    for size in detail.get("shape_signature", detail["shape"]):  # TF 1.15 has no shape_signature
                        info.tensor_shape.dim.add().size = int(size)
            self.signatures = {DEFAULT_SIGNATURE: signature}
        # Per signature: alias -> the interpreter's tensor detail.
        self._inputs = {key: {alias: inputs[info.name] for alias, info in signature.inputs.items()}
                        for key, signature in self.signatures.items()}
        self._outputs = {key: {alias: outputs[info.name] for alias, info in signature.outputs.items()}
                         for key, signature in self.signatures.items()}
        self._shapes = {name: tuple(detail["shape"]) for name, detail in inputs.items()}
        self._lock = threading.Lock()  # one interpreter: runs take turns

    signature = Servable.signature  # the same lookup and error over self.signatures

    def check_inputs(self, signature_name, inputs):
        """Only dtypes are checked here; shapes resize the interpreter's inputs, as in TF Serving."""
        details = self._inputs[signature_name or DEFAULT_SIGNATURE]
        for alias, array in inputs.items():
            expected = np.dtype(details[alias]["dtype"])
            if array.dtype != expected and not (expected.kind in "SUO" and array.dtype.kind in "SUO"):
                raise invalid_argument("Expects arg[%s] to be %s but %s is provided"
                                       % (alias, expected.name, array.dtype.name))

    def run(self, signature_name, inputs, output_aliases, deadline=None):
        self.signature(signature_name)
        key = signature_name or DEFAULT_SIGNATURE
        input_details, output_details = self._inputs[key], self._outputs[key]
        if deadline is not None and deadline <= time.monotonic():
            raise ServingError("DEADLINE_EXCEEDED", "Deadline exceeded before the model run started")
        interpreter = self._interpreter
        with self._lock:
            try:
                resized = False
                for alias, array in inputs.items():
                    detail = input_details[alias]
                    if self._shapes[detail["name"]] != array.shape:
                        self._shapes[detail["name"]] = None  # unknown until the allocation below succeeds
                        interpreter.resize_tensor_input(detail["index"], list(array.shape))
                        self._shapes[detail["name"]] = array.shape
                        resized = True
                if resized:
                    interpreter.allocate_tensors()
                for alias, array in inputs.items():
                    interpreter.set_tensor(input_details[alias]["index"], array)
                interpreter.invoke()
                return {alias: interpreter.get_tensor(output_details[alias]["index"]).copy()
                        for alias in output_aliases}
            except (ValueError, RuntimeError) as exc:  # the interpreter's own refusal of a shape or value
                raise invalid_argument("TF Lite: %s" % str(exc).strip().split("\n", 1)[0]) from None

    def close(self):
        self._interpreter = None


def _tensor_name(name, tensors, kind, alias):
    """The model's tensor a stored SignatureDef names: as written, or its legacy name without `:N`."""
    if name in tensors:
        return name
    if _alias(name) in tensors:
        return _alias(name)
    raise invalid_argument("Invalid SignatureDefs found in TfLite model: Signature %s %s references an unknown "
                           "tensor %s" % (kind, alias, name))
