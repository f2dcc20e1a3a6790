"""The weights of a `save_pretrained` directory as PyTorch-layout arrays, whatever file holds them.

Hugging Face writes four kinds of weight files; each is read here into one form,
Hugging Face's PyTorch names (`bert.encoder.layer.0.attention.self.query.weight`) with
Linear weights as [out, in], so `layout.py` needs one mapping:

* `model.safetensors` from PyTorch (`format: pt`): read as is;
* `model.safetensors` from the TF classes (`format: tf`) and `tf_model.h5` (Keras' HDF5,
  read with h5py): TF names (`bert/encoder/layer_._0/attention/self/query/kernel:0`) and
  kernels [in, out], renamed and transposed;
* `pytorch_model.bin`: only with `torch` installed (only torch reads it; `weights_only=True`
  loads tensors and refuses any other object).
"""

import os
from typing import Dict, Tuple

import numpy as np

from pretrained.errors import ConversionError

SAFETENSORS = "model.safetensors"
TF_H5 = "tf_model.h5"
PYTORCH_BIN = "pytorch_model.bin"
# Looked for in this order; the first one present is read.
WEIGHT_FILES = (SAFETENSORS, TF_H5, PYTORCH_BIN)
SHARD_INDEXES = ("model.safetensors.index.json", "tf_model.h5.index.json", "pytorch_model.bin.index.json")
# TF leaf name -> (PyTorch leaf, transpose?)
_TF_LEAVES = {"kernel": ("weight", True), "gamma": ("weight", False), "beta": ("bias", False),
              "embeddings": ("weight", False), "weight": ("weight", False), "bias": ("bias", False)}


def weights_file(hf_dir: str) -> str:
    """The path of the weights this directory holds; an error naming what was looked for."""
    for name in WEIGHT_FILES:
        path = os.path.join(hf_dir, name)
        if os.path.isfile(path):
            return path
    for name in SHARD_INDEXES:
        if os.path.isfile(os.path.join(hf_dir, name)):
            raise ConversionError("%s: sharded checkpoints are not supported; save_pretrained it again with a "
                                  "max_shard_size larger than the model" % os.path.join(hf_dir, name))
    raise ConversionError("%s holds no weights (looked for %s)" % (hf_dir, ", ".join(WEIGHT_FILES)))


def read_weights(path: str) -> Tuple[Dict[str, np.ndarray], str]:
    """(PyTorch name -> array, the file's layout: "pytorch" or "tensorflow")."""
    name = os.path.basename(path)
    if name == SAFETENSORS:
        return _read_safetensors(path)
    if name == TF_H5:
        return pytorch_layout(_read_h5(path), path), "tensorflow"
    if name == PYTORCH_BIN:
        return _read_torch_bin(path), "pytorch"
    raise ConversionError("%s: unknown weight file (expected one of %s)" % (path, ", ".join(WEIGHT_FILES)))


def pytorch_layout(tf_weights: Dict[str, np.ndarray], source: str) -> Dict[str, np.ndarray]:
    """TF-class names and [in, out] kernels -> PyTorch names and [out, in] weights."""
    out = {}
    for tf_name, value in tf_weights.items():
        name, transpose = pytorch_name(tf_name)
        if name in out:
            raise ConversionError("%s: two tensors map to %s (one is %s)" % (source, name, tf_name))
        out[name] = value.T if transpose else value
    return out


def pytorch_name(tf_name: str) -> Tuple[str, bool]:
    """`bert/encoder/layer_._0/output/dense/kernel:0` -> (`bert.encoder.layer.0.output.dense.weight`, True)."""
    parts = tf_name.split(":")[0].split("/")
    parts = [part.replace("layer_._", "layer.") for part in parts]
    leaf, transpose = _TF_LEAVES.get(parts[-1], (parts[-1], False))
    return ".".join(parts[:-1] + [leaf]), transpose


def _read_safetensors(path):
    from safetensors import safe_open

    try:
        with safe_open(path, framework="np") as f:
            fmt = (f.metadata() or {}).get("format", "pt")
            tensors = {key: f.get_tensor(key) for key in f.keys()}
    except Exception as e:  # the Rust reader raises its own types, e.g. SafetensorError
        raise ConversionError("cannot read %s with safetensors: %s" % (path, e)) from e
    if fmt == "tf":
        return pytorch_layout(tensors, path), "tensorflow"
    if fmt not in ("pt", "np"):
        raise ConversionError("%s: safetensors format %r (supported: pt, tf)" % (path, fmt))
    return tensors, "pytorch"


def _read_h5(path):
    """Keras HDF5 weights: datasets `<layer>/<model scope>/<TF variable name>` -> TF variable name."""
    import h5py

    tensors = {}
    try:
        with h5py.File(path, "r") as f:
            def visit(name, item):
                if isinstance(item, h5py.Dataset):
                    parts = name.split("/")
                    if len(parts) < 3:
                        raise ConversionError("%s: unexpected dataset %s (not a Keras weight)" % (path, name))
                    tensors["/".join(parts[2:])] = np.asarray(item)
            f.visititems(visit)
    except OSError as e:
        raise ConversionError("cannot read %s with h5py: %s" % (path, e)) from e
    return tensors


def _read_torch_bin(path):
    try:
        import torch
    except ImportError:
        raise ConversionError("%s needs PyTorch to read; install torch, or save the model with "
                              "save_pretrained(..., safe_serialization=True) to get model.safetensors" % path) from None
    state = torch.load(path, map_location="cpu", weights_only=True)
    return {name: value.float().numpy() if value.is_floating_point() else value.numpy()
            for name, value in state.items()}

