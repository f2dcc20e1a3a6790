"""Hugging Face BERT checkpoint -> Google BERT checkpoint for bert/modeling.py.

Input: a directory with `config.json`, `model.safetensors`, `vocab.txt` (and optionally
`tokenizer_config.json`). Output: `bert_config.json`, `vocab.txt`, `bert_model.ckpt.*`
and, written last, `conversion.json` (what was converted, skipped, initialised and from
which files). Weights are read with `safetensors.numpy`, so PyTorch is not needed.
"""

import json
import logging
import os
import shutil
from typing import Dict, List, Optional

import numpy as np

from featurizer import FeaturizerError, load_vocab
from pretrained import checkpoint, layout
from pretrained.digests import file_sha256
from pretrained.errors import ConversionError
from pretrained.hf_config import bert_config_from_hf, read_json

logger = logging.getLogger(__name__)

HF_CONFIG = "config.json"
HF_WEIGHTS = "model.safetensors"
HF_VOCAB = "vocab.txt"
HF_TOKENIZER_CONFIG = "tokenizer_config.json"
BERT_CONFIG = "bert_config.json"
VOCAB = "vocab.txt"
MANIFEST = "conversion.json"
POOLER_SEED = 12345
_FLOAT_KINDS = ("f",)


def convert(
    hf_dir: str, output_dir: str, strict: bool = False, origin: Optional[str] = None
) -> Dict[str, object]:
    """Converts and returns the manifest it wrote to `output_dir/conversion.json`.

    Raises ConversionError for a checkpoint that does not fit its config (shape,
    missing variable, bad vocab) and, with `strict`, for tensors it could not place.
    """
    paths = {name: os.path.join(hf_dir, name) for name in (HF_CONFIG, HF_WEIGHTS, HF_VOCAB)}
    for path in paths.values():
        if not os.path.isfile(path):
            raise ConversionError("missing file %s (a Hugging Face BERT directory needs %s)"
                                  % (path, ", ".join(sorted(paths))))
    os.makedirs(output_dir, exist_ok=True)
    manifest_path = os.path.join(output_dir, MANIFEST)
    if os.path.exists(manifest_path):
        os.remove(manifest_path)  # the marker must not outlive the files it vouches for

    config, notes = bert_config_from_hf(read_json(paths[HF_CONFIG]), paths[HF_CONFIG])
    for note in notes:
        logger.info("note: %s", note)
    _check_vocab(paths[HF_VOCAB], config["vocab_size"])

    expected = layout.expected_variables(config)
    tensors = _load_safetensors(paths[HF_WEIGHTS])
    variables, unmapped, buffers = _map_tensors(tensors, expected, paths[HF_WEIGHTS])
    initialised = _fill_missing(variables, expected, config, paths[HF_WEIGHTS])
    if buffers:
        logger.info("skipped %d buffer(s) that hold no weights: %s", len(buffers), ", ".join(buffers))
    for name in unmapped:
        logger.warning("unmapped tensor %s in %s (no bert/modeling.py variable takes it)",
                       name, paths[HF_WEIGHTS])
    if unmapped and strict:
        raise ConversionError("%s: %d tensor(s) could not be mapped: %s"
                              % (paths[HF_WEIGHTS], len(unmapped), ", ".join(unmapped)))

    bert_config_file = os.path.join(output_dir, BERT_CONFIG)
    with open(bert_config_file, "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2, sort_keys=True)
        f.write("\n")
    vocab_file = os.path.join(output_dir, VOCAB)
    shutil.copyfile(paths[HF_VOCAB], vocab_file)
    logger.info("writing %d variables to %s", len(variables), output_dir)
    prefix = checkpoint.write_checkpoint(variables, output_dir)
    _check_written(prefix, expected)

    manifest = {
        "bert_config_file": os.path.abspath(bert_config_file),
        "vocab_file": os.path.abspath(vocab_file),
        "init_checkpoint": os.path.abspath(prefix),
        "do_lower_case": _do_lower_case(hf_dir),
        "origin": origin,
        "source_sha256": {name: file_sha256(path) for name, path in sorted(paths.items())},
        "converted": len(variables) - len(initialised),
        "initialised": initialised,
        "unmapped": unmapped,
        "skipped_buffers": buffers,
        "notes": notes,
    }
    _write_json_atomically(manifest_path, manifest)
    return manifest


def read_manifest(output_dir: str) -> Optional[Dict[str, object]]:
    """The manifest of a finished conversion, or None when there is none (or it is unreadable)."""
    try:
        with open(os.path.join(output_dir, MANIFEST), encoding="utf-8") as f:
            manifest = json.load(f)
    except (OSError, ValueError):
        return None
    return manifest if isinstance(manifest, dict) else None


def _check_vocab(vocab_file: str, vocab_size: int) -> None:
    try:
        size = len(load_vocab(vocab_file))
    except FeaturizerError as e:
        raise ConversionError(str(e)) from None
    if size > vocab_size:
        raise ConversionError("%s has %d tokens but the config's vocab_size is %d: ids would run "
                              "past the embedding table" % (vocab_file, size, vocab_size))
    if size < vocab_size:
        logger.info("%s has %d tokens, the embedding table %d rows (the rest are never used)",
                    vocab_file, size, vocab_size)


def _load_safetensors(path: str) -> Dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    try:
        return load_file(path)
    except Exception as e:  # the Rust reader raises its own types, e.g. SafetensorError
        raise ConversionError("cannot read %s with safetensors.numpy: %s" % (path, e)) from e


def _map_tensors(tensors, expected, source):
    """(TF name -> float32 array, unmapped HF names, skipped buffers); refuses bad shapes."""
    variables = {}
    taken_from = {}
    unmapped, buffers, mismatches = [], [], []
    for hf_name in sorted(tensors):
        if layout.is_buffer(hf_name):
            buffers.append(hf_name)
            continue
        target = layout.tf_name_for(hf_name)
        if target is None or target[0] not in expected:
            unmapped.append(hf_name)
            continue
        tf_name, transpose = target
        if tf_name in taken_from:
            raise ConversionError("%s: %s and %s both map to %s"
                                  % (source, taken_from[tf_name], hf_name, tf_name))
        value = tensors[hf_name]
        if value.dtype.kind not in _FLOAT_KINDS:
            raise ConversionError("%s: tensor %s has dtype %s, expected floats"
                                  % (source, hf_name, value.dtype))
        if transpose:
            value = value.T
        if value.shape != expected[tf_name]:
            mismatches.append("%s has shape %s%s, the config needs %s for %s" % (
                hf_name, list(tensors[hf_name].shape),
                " (%s as a TF kernel)" % list(value.shape) if transpose else "",
                list(expected[tf_name]), tf_name))
            continue
        taken_from[tf_name] = hf_name
        variables[tf_name] = np.ascontiguousarray(value, dtype=np.float32)
    if mismatches:
        for message in mismatches:
            logger.error("shape mismatch: %s", message)
        raise ConversionError("%s does not fit its config: %s" % (source, "; ".join(mismatches)))
    return variables, unmapped, buffers


def _fill_missing(variables, expected, config, source) -> List[str]:
    """Initialises a missing pooler like modeling.py would; any other gap is an error."""
    missing = [name for name in expected if name not in variables]
    if not missing:
        return []
    if set(missing) != {layout.POOLER_KERNEL, layout.POOLER_BIAS}:
        for name in missing:
            logger.error("missing variable %s", name)
        raise ConversionError("%s lacks %d variable(s) bert/modeling.py needs: %s"
                              % (source, len(missing), ", ".join(missing)))
    hidden, stddev = config["hidden_size"], config["initializer_range"]
    variables[layout.POOLER_KERNEL] = _truncated_normal((hidden, hidden), stddev, POOLER_SEED)
    variables[layout.POOLER_BIAS] = np.zeros((hidden,), np.float32)
    logger.info("%s has no pooler: initialised bert/pooler/dense like modeling.py does "
                "(truncated normal, stddev %g, zero bias; seed %d); fine-tuning trains it",
                source, stddev, POOLER_SEED)
    return missing


def _truncated_normal(shape, stddev, seed):
    """tf.truncated_normal_initializer's distribution: normal, redrawn beyond 2 stddev."""
    rng = np.random.RandomState(seed)
    values = rng.normal(0.0, stddev, size=shape)
    outside = np.abs(values) > 2 * stddev
    while outside.any():
        values[outside] = rng.normal(0.0, stddev, size=int(outside.sum()))
        outside = np.abs(values) > 2 * stddev
    return values.astype(np.float32)


def _check_written(prefix, expected) -> None:
    written = checkpoint.list_checkpoint(prefix)
    if written != dict(expected):
        wrong = sorted(set(written.items()) ^ set(expected.items()))
        raise ConversionError("checkpoint %s does not hold the expected variables: %s"
                              % (prefix, wrong[:5]))


def _do_lower_case(hf_dir) -> Optional[bool]:
    """The tokenizer's casing from tokenizer_config.json; None when the directory does not say."""
    path = os.path.join(hf_dir, HF_TOKENIZER_CONFIG)
    if not os.path.isfile(path):
        return None
    value = read_json(path).get("do_lower_case")
    return value if isinstance(value, bool) else None


def _write_json_atomically(path, value) -> None:
    temporary = path + ".tmp"
    with open(temporary, "w", encoding="utf-8") as f:
        json.dump(value, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(temporary, path)
