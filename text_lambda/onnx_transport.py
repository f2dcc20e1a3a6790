"""The `onnx` backend: TF Serving's REST API answered in process by onnxruntime.

`--export_onnx` writes `<version>/onnx/` (`model.onnx`, `vocab.txt`,
`model_info.json`; names in `bert_contract`). This transport gives
`serving_client` the same answers a model server would give for that
version — the metadata of `serving_default`, `metadata` and `vocab`, and
predictions — so featurization, the vocab and casing checks, windows and
entity decoding are the client's own code, exactly as in the `proxy` backend.
No TensorFlow, no network: requests never leave the process.
"""

import base64
import os
import re
from typing import Any, Dict, Optional

import numpy as np
import onnxruntime

from bert_contract import (
    DEFAULT_SIGNATURE,
    METADATA_OUTPUT,
    METADATA_SIGNATURE,
    ONNX_INFO_FILE,
    ONNX_MODEL_FILE,
    ONNX_VOCAB_FILE,
    VOCAB_OUTPUT,
    VOCAB_SIGNATURE,
    ModelInfo,
    MetadataError,
    bytes_sha256,
)
from serving_client import Request, Response, Transport

# ONNX element types of a BERT export -> TF Serving's dtype names and numpy's.
_DTYPES = {"tensor(int32)": ("DT_INT32", np.int32), "tensor(int64)": ("DT_INT64", np.int64),
           "tensor(float)": ("DT_FLOAT", np.float32)}
_MODEL_PATH = re.compile(r"/v1/models/(?P<name>[^/:]+)(/versions/(?P<version>\d+))?(?P<verb>/metadata|:predict)$")


class OnnxModelError(RuntimeError):
    """An ONNX model directory that cannot be served; the message names the file."""


class OnnxTransport(Transport):
    """Serves one ONNX export to a `ServingClient` under `name` (any URL host; the path decides)."""

    def __init__(self, model_dir: str, name: str, threads: int = 0, source: Optional[str] = None):
        """`source`: where `model_dir` was copied from (an `s3://` URL), which names the export version."""
        self.name = name
        info_path = os.path.join(model_dir, ONNX_INFO_FILE)
        try:
            with open(info_path, encoding="utf-8") as f:
                self.info_json = f.read()
            with open(os.path.join(model_dir, ONNX_VOCAB_FILE), "rb") as f:
                self.vocab = f.read()
        except OSError as e:
            raise OnnxModelError("%s: %s (written by --export_onnx)" % (e.filename, e.strerror))
        try:
            info = ModelInfo.from_json(self.info_json)
        except MetadataError as e:
            raise OnnxModelError("%s: %s" % (info_path, e))
        if bytes_sha256(self.vocab) != info.vocab_sha256:
            raise OnnxModelError("%s does not match the vocab sha256 in %s" % (os.path.join(model_dir, ONNX_VOCAB_FILE), info_path))
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        try:
            self.session = onnxruntime.InferenceSession(
                os.path.join(model_dir, ONNX_MODEL_FILE), options, providers=["CPUExecutionProvider"]
            )
        except Exception as e:  # onnxruntime raises its own (pybind) exception types
            raise OnnxModelError("%s: %s" % (os.path.join(model_dir, ONNX_MODEL_FILE), e))
        self.inputs = {arg.name: _tensor_spec(arg) for arg in self.session.get_inputs()}
        self.outputs = {arg.name: _tensor_spec(arg) for arg in self.session.get_outputs()}
        self.output_name = self.session.get_outputs()[0].name
        self.version = _version_of(source or model_dir)
        self._metadata = self._metadata_body()

    def send(self, request: Request) -> Response:
        match = _MODEL_PATH.search(request.url)
        if match is None or match.group("name") != self.name:
            return _error(404, "Servable not found for request: %s" % request.url)
        if match.group("version") and self.version is not None and int(match.group("version")) != self.version:
            return _error(404, "Servable not found for request: version %s of %s" % (match.group("version"), self.name))
        if match.group("verb") == "/metadata" and request.method == "GET":
            return Response(200, json=self._metadata)
        if match.group("verb") == ":predict" and request.method == "POST":
            return self._predict(request.json if isinstance(request.json, dict) else {})
        return _error(405, "%s is not allowed on %s" % (request.method, request.url))

    def _predict(self, body: Dict[str, Any]) -> Response:
        inputs = body.get("inputs")
        if not isinstance(inputs, dict):
            return _error(400, "expected columnar 'inputs' (an object of named tensors)")
        missing = sorted(set(self.inputs) - set(inputs))
        if missing:
            return _error(400, "missing input(s) %s" % ", ".join(missing))
        rows = len(next(iter(inputs.values())))
        signature = body.get("signature_name") or DEFAULT_SIGNATURE
        if signature == METADATA_SIGNATURE:
            return Response(200, json={"outputs": [self.info_json] * rows})
        if signature == VOCAB_SIGNATURE:
            return Response(200, json={"outputs": [{"b64": base64.b64encode(self.vocab).decode("ascii")}] * rows})
        if signature != DEFAULT_SIGNATURE:
            return _error(400, "Serving signature name: \"%s\" not found in signature def" % signature)
        try:
            feed = {name: np.asarray(inputs[name], dtype=_DTYPES[spec["dtype_onnx"]][1]) for name, spec in self.inputs.items()}
            (output,) = self.session.run([self.output_name], feed)
        except (ValueError, TypeError) as e:
            return _error(400, "bad input tensors: %s" % e)
        except Exception as e:  # onnxruntime's own errors: shapes the model cannot take
            return _error(400, "onnxruntime: %s" % e)
        return Response(200, json={"outputs": output.tolist()})

    def _metadata_body(self) -> Dict[str, Any]:
        """What TF Serving's GET .../metadata answers for this version."""
        inputs = {name: _tf_tensor(name, spec) for name, spec in self.inputs.items()}
        signatures = {
            DEFAULT_SIGNATURE: _signature(inputs, {self.output_name: _tf_tensor(self.output_name, self.outputs[self.output_name])}),
            METADATA_SIGNATURE: _signature(inputs, {METADATA_OUTPUT: _string_tensor(METADATA_OUTPUT)}),
            VOCAB_SIGNATURE: _signature(inputs, {VOCAB_OUTPUT: _string_tensor(VOCAB_OUTPUT)}),
        }
        return {
            "model_spec": {"name": self.name, "signature_name": "", "version": "" if self.version is None else str(self.version)},
            "metadata": {"signature_def": {"signature_def": signatures}},
        }


def _tensor_spec(arg: Any) -> Dict[str, Any]:
    if arg.type not in _DTYPES:
        raise OnnxModelError("ONNX tensor %s has type %s; a BERT export has %s" % (arg.name, arg.type, ", ".join(_DTYPES)))
    return {"dtype_onnx": arg.type, "shape": [dim if isinstance(dim, int) else -1 for dim in arg.shape]}


def _tf_tensor(name: str, spec: Dict[str, Any]) -> Dict[str, Any]:
    return {"dtype": _DTYPES[spec["dtype_onnx"]][0], "name": "%s:0" % name,
            "tensor_shape": {"dim": [{"size": str(size), "name": ""} for size in spec["shape"]], "unknown_rank": False}}


def _string_tensor(name: str) -> Dict[str, Any]:
    return {"dtype": "DT_STRING", "name": "%s:0" % name, "tensor_shape": {"dim": [{"size": "-1", "name": ""}], "unknown_rank": False}}


def _signature(inputs: Dict[str, Any], outputs: Dict[str, Any]) -> Dict[str, Any]:
    return {"inputs": inputs, "outputs": outputs, "method_name": "tensorflow/serving/predict"}


def _version_of(model_dir: str) -> Optional[int]:
    """The export version `<version>/onnx/` came from (a path or a URL); None once copied elsewhere."""
    parent = model_dir.rstrip("/").split("/")[-2] if "/" in model_dir.rstrip("/") else ""
    if not model_dir.startswith("s3://"):
        parent = os.path.basename(os.path.dirname(os.path.abspath(model_dir)))
    return int(parent) if parent.isdigit() else None


def _error(status: int, message: str) -> Response:
    return Response(status, json={"error": message})
