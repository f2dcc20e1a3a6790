"""A `model.tflite` version run by TF Lite's interpreter (`--prefer_tflite_model`, as in TF Serving).

TF Serving's TfLiteSession serves a TF Lite model through the same Predict
path as a SavedModel: one `serving_default` signature whose inputs and outputs
are the model's tensors, named without their `:N` suffix, and every input is
resized to the shape the request sends. This class offers the same interface
as `Servable`, so the runner, batcher, REST and gRPC front ends serve it
unchanged.
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


def has_tflite_model(path):
    return os.path.isfile(os.path.join(path, TFLITE_FILE))


def _alias(tensor_name):
    """TF Serving's legacy TF Lite name: the tensor name without its `:N` output index."""
    return tensor_name.split(":", 1)[0]


class TfLiteServable(object):
    """`model.tflite` in a version directory, ready to run like a Servable."""

    def __init__(self, path):
        import tensorflow as tf
        from tensorflow.core.protobuf import meta_graph_pb2

        self.path = path
        with warnings.catch_warnings():  # TF 2.19 announces the interpreter's move to ai_edge_litert
            warnings.simplefilter("ignore")
            self._interpreter = tf.lite.Interpreter(model_path=os.path.join(path, TFLITE_FILE))
        self._interpreter.allocate_tensors()
        self._inputs = {_alias(d["name"]): d for d in self._interpreter.get_input_details()}
        self._outputs = {_alias(d["name"]): d for d in self._interpreter.get_output_details()}
        signature = meta_graph_pb2.SignatureDef(method_name=PREDICT_METHOD)
        for infos, details in ((signature.inputs, self._inputs), (signature.outputs, self._outputs)):
            for alias, detail in details.items():
                info = infos[alias]
                info.name = detail["name"]
                info.dtype = tf.as_dtype(detail["dtype"]).as_datatype_enum
                for size in detail.get("shape_signature", detail["shape"]):  # TF 1.15 has no shape_signature
                    info.tensor_shape.dim.add().size = int(size)
        self.signatures = {DEFAULT_SIGNATURE: signature}
        self._shapes = {alias: tuple(detail["shape"]) for alias, detail in self._inputs.items()}
        self._lock = threading.Lock()  # one interpreter: runs take turns

    signature = Servable.signature  # the same lookup and error over self.signatures

    def check_inputs(self, signature_name, inputs):
        """Only dtypes are checked here; shapes resize the interpreter's inputs, as in TF Serving."""
        for alias, array in inputs.items():
            expected = np.dtype(self._inputs[alias]["dtype"])
            if array.dtype != expected and not (expected.kind in "SUO" and array.dtype.kind in "SUO"):
                raise invalid_argument("Expects arg[%s] to be %s but %s is provided"
                                       % (alias, expected.name, array.dtype.name))

    def run(self, signature_name, inputs, output_aliases, deadline=None):
        self.signature(signature_name)
        if deadline is not None and deadline <= time.monotonic():
            raise ServingError("DEADLINE_EXCEEDED", "Deadline exceeded before the model run started")
        interpreter = self._interpreter
        with self._lock:
            try:
                resized = False
                for alias, array in inputs.items():
                    if self._shapes[alias] != array.shape:
                        self._shapes[alias] = None  # unknown until the allocation below succeeds
                        interpreter.resize_tensor_input(self._inputs[alias]["index"], list(array.shape))
                        self._shapes[alias] = array.shape
                        resized = True
                if resized:
                    interpreter.allocate_tensors()
                for alias, array in inputs.items():
                    interpreter.set_tensor(self._inputs[alias]["index"], array)
                interpreter.invoke()
                return {alias: interpreter.get_tensor(self._outputs[alias]["index"]).copy()
                        for alias in output_aliases}
            except (ValueError, RuntimeError) as exc:  # the interpreter's own refusal of a shape or value
                raise invalid_argument("TF Lite: %s" % str(exc).strip().split("\n", 1)[0]) from None

    def close(self):
        self._interpreter = None
