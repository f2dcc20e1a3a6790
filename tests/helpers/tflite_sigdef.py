"""Run under a TF 2.x Python: a TF Lite model with SignatureDefs in its metadata, as TF Serving's
`saved_model_half_plus_two_tflite_with_sigdef` test model has them.

    python tflite_sigdef.py SRC_MODEL_TFLITE DST_MODEL_TFLITE

Renames the half-plus-two model's tensors `x`/`y` to `tflite_input`/`tflite_output`
and stores (tflite::SetSignatureDefMap's layout: metadata `signature_defs_metadata`
naming a buffer with a FlexBuffer map of key -> serialized SignatureDef)
`serving_default` {x: tflite_input} -> {y: tflite_output:0 (legacy `:N` name)} and
`half` {a: tflite_input} -> {b: tflite_output}. Without them a server would offer only
the generated signature over `tflite_input`.
"""

import sys

from flatbuffers import flexbuffers
from tensorflow.core.protobuf import meta_graph_pb2
from tensorflow.lite.python import schema_py_generated as schema
from tensorflow.lite.tools import flatbuffer_utils

PREDICT = "tensorflow/serving/predict"


def signature(inputs, outputs):
    signature_def = meta_graph_pb2.SignatureDef(method_name=PREDICT)
    for infos, names in ((signature_def.inputs, inputs), (signature_def.outputs, outputs)):
        for alias, name in names.items():
            infos[alias].name = name
            infos[alias].dtype = 1  # DT_FLOAT
    return signature_def


def flex_map(entries):
    builder = flexbuffers.Builder()
    with builder.Map():
        for key, value in sorted(entries.items()):
            builder.Key(key)
            # FlexBuffer strings hold any bytes (TF writes them with fbb.String(key, serialized));
            # the Python builder's String() only takes text.
            builder._WriteBlob(value, append_zero=True, type_=flexbuffers.Type.STRING)
    return bytes(builder.Finish())


def main(source, target):
    with open(source, "rb") as f:
        model = flatbuffer_utils.read_model_from_bytearray(bytearray(f.read()))
    renames = {b"x": b"tflite_input", b"y": b"tflite_output"}
    for tensor in model.subgraphs[0].tensors:
        tensor.name = renames.get(tensor.name, tensor.name)
    entries = {"serving_default": signature({"x": "tflite_input"}, {"y": "tflite_output:0"}),
               "half": signature({"a": "tflite_input"}, {"b": "tflite_output"})}
    buffer = schema.BufferT()
    buffer.data = flex_map({key: value.SerializeToString() for key, value in entries.items()})
    model.buffers.append(buffer)
    metadata = schema.MetadataT()
    metadata.name = "signature_defs_metadata"
    metadata.buffer = len(model.buffers) - 1
    model.metadata = (model.metadata or []) + [metadata]
    with open(target, "wb") as f:
        f.write(flatbuffer_utils.convert_object_to_bytearray(model))


if __name__ == "__main__":
    main(*sys.argv[1:3])
