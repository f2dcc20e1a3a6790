"""Hugging Face BERT / DistilBERT checkpoint -> checkpoint for bert_runner (Google's BERT layout).

Input: a `save_pretrained` directory: `config.json`, weights (`model.safetensors` of either
layout, `tf_model.h5`, or `pytorch_model.bin` with torch; `hf_weights.py`), `vocab.txt` (or
a WordPiece `tokenizer.json`) and `tokenizer_config.json` (`hf_tokenizer.py`). Output:
`bert_config.json`, `vocab.txt`, the checkpoint and, written last, `conversion.json` (what
was converted, skipped, initialised and from which files).

`convert` (encoder only, `python -m pretrained convert`) writes `bert_model.ckpt` for
`--init_checkpoint`; tensors it cannot place are listed (an error with `strict`).
`convert(..., heads=True)` (`python -m pretrained import`) also takes a sequence- or
token-classification head: it writes `model.ckpt-0` (global step 0), `label_list.txt` and
`task_kind.txt`, i.e. a run directory that `run_classifier.py` / `run_ner.py --do_export`
exports without training; every tensor must be placed (a pre-training head of an
encoder-only checkpoint is dropped and listed).
"""

import json
import logging
import os
import shutil
from typing import Dict, List, Optional

import numpy as np

from bert_contract.model_config import ARCHITECTURE_FIELD, BERT, CLS_POOLING, POOLING_FIELD
from featurizer import FeaturizerError, load_vocab
from pretrained import checkpoint, hf_heads, hf_tokenizer, hf_weights, layout, sentence_pooling
from pretrained.digests import file_sha256
from pretrained.errors import ConversionError
from pretrained.hf_config import bert_config_from_hf, read_json

logger = logging.getLogger(__name__)

HF_CONFIG = "config.json"
HF_WEIGHTS = hf_weights.SAFETENSORS
HF_VOCAB = "vocab.txt"
HF_TOKENIZER_CONFIG = hf_tokenizer.TOKENIZER_CONFIG
BERT_CONFIG = "bert_config.json"
VOCAB = "vocab.txt"
MANIFEST = "conversion.json"
# Bumped when the same input converts to something else, so caches redo it
# (2: "gelu" -> "gelu_exact"; 3: a sentence-transformers model's mean pooling).
CONVERTER_VERSION = 3
POOLER_SEED = 12345
_FLOAT_KINDS = ("f",)


def convert(
    hf_dir: str, output_dir: str, strict: bool = False, origin: Optional[str] = None, heads: bool = False,
    encoder_only: bool = False,
) -> Dict[str, object]:
    """Converts and returns the manifest it wrote to `output_dir/conversion.json`.

    Raises ConversionError for a checkpoint that does not fit its config (shape,
    missing variable, bad vocab, unsupported tokenizer setting, model type or head) and,
    with `strict` or `heads`, for tensors it could not place.
    """
    config_path = os.path.join(hf_dir, HF_CONFIG)
    if not os.path.isfile(config_path):
        raise ConversionError("missing file %s (a Hugging Face model directory needs config.json, the weights "
                              "and vocab.txt)" % config_path)
    hf_config = read_json(config_path)
    config, notes = bert_config_from_hf(hf_config, config_path)
    head = hf_heads.head_from_config(hf_config, config_path, encoder_only or not heads)
    tokenizer = hf_tokenizer.read_settings(hf_dir)
    notes += tokenizer.notes
    if head.kind is None:  # an imported head was trained on the pooled [CLS]
        pooling, pooling_notes = sentence_pooling.read_pooling(hf_dir)
        notes += pooling_notes
        if pooling:
            config[POOLING_FIELD] = pooling
    weights_path = hf_weights.weights_file(hf_dir)
    for note in notes:
        logger.info("note: %s", note)

    os.makedirs(output_dir, exist_ok=True)
    manifest_path = os.path.join(output_dir, MANIFEST)
    if os.path.exists(manifest_path):
        os.remove(manifest_path)  # the marker must not outlive the files it vouches for
    vocab_file = os.path.join(output_dir, VOCAB)
    source_vocab = os.path.join(hf_dir, HF_VOCAB)
    if tokenizer.vocab is None:
        shutil.copyfile(source_vocab, vocab_file)
    else:
        logger.info("no %s: writing the vocab of %s", source_vocab, hf_tokenizer.TOKENIZER_JSON)
        with open(vocab_file, "w", encoding="utf-8") as f:
            f.write("".join(token + "\n" for token in tokenizer.vocab))
    _check_vocab(vocab_file, config["vocab_size"])

    expected = layout.expected_variables(config, head.kind, len(head.labels))
    tensors, weights_layout = hf_weights.read_weights(weights_path)
    variables, unmapped, buffers = _map_tensors(tensors, expected, weights_path)
    initialised = _fill_missing(variables, expected, config, weights_path)
    if buffers:
        logger.info("skipped %d buffer(s) that hold no weights: %s", len(buffers), ", ".join(buffers))
    dropped = []
    if heads and head.kind is None:
        dropped = [name for name in unmapped if name.startswith(hf_heads.PRETRAINING_HEAD_PREFIXES)]
        unmapped = [name for name in unmapped if name not in dropped]
        if dropped:
            logger.info("dropped the pre-training head's %d tensor(s): %s", len(dropped), ", ".join(dropped))
    for name in unmapped:
        logger.warning("unmapped tensor %s in %s (no bert_runner variable takes it)", name, weights_path)
    if unmapped and (strict or heads):
        raise ConversionError("%s: %d unexpected tensor(s) that no variable takes: %s"
                              % (weights_path, len(unmapped), ", ".join(unmapped)))
    if head.row_order is not None:
        for name in (layout.OUTPUT_WEIGHTS, layout.OUTPUT_BIAS):
            variables[name] = variables[name][head.row_order]

    bert_config_file = os.path.join(output_dir, BERT_CONFIG)
    with open(bert_config_file, "w", encoding="utf-8") as f:
        json.dump(config, f, indent=2, sort_keys=True)
        f.write("\n")
    logger.info("writing %d variables to %s", len(variables), output_dir)
    if head.kind is None:
        prefix = checkpoint.write_checkpoint(variables, output_dir)
    else:
        prefix = checkpoint.write_checkpoint(variables, output_dir, checkpoint.RUN_CHECKPOINT_NAME, global_step=0)
        _write_run_files(output_dir, head)
    _check_written(prefix, expected)

    sources = [config_path, weights_path] + ([source_vocab] if tokenizer.vocab is None else [])
    manifest = {
        "bert_config_file": os.path.abspath(bert_config_file),
        "vocab_file": os.path.abspath(vocab_file),
        "init_checkpoint": os.path.abspath(prefix),
        "do_lower_case": tokenizer.do_lower_case,
        "max_seq_length": hf_tokenizer.max_seq_length(tokenizer, config["max_position_embeddings"]),
        "architecture": config.get(ARCHITECTURE_FIELD, BERT),
        "pooling": config.get(POOLING_FIELD, CLS_POOLING),
        "head": head.kind,
        "labels": head.labels,
        "thresholds": head.thresholds,
        "output_dir": os.path.abspath(output_dir) if head.kind else None,
        "weights_layout": weights_layout,
        "origin": origin,
        "converter_version": CONVERTER_VERSION,
        "source_sha256": {os.path.basename(path): file_sha256(path) for path in sources},
        "converted": len(variables) - len(initialised),
        "initialised": initialised,
        "unmapped": unmapped,
        "dropped_head": dropped,
        "skipped_buffers": buffers,
        "notes": notes,
    }
    _write_json_atomically(manifest_path, manifest)
    return manifest


def _write_run_files(output_dir, head) -> None:
    """label_list.txt and task_kind.txt, as a run of run_classifier.py / run_ner.py leaves them; thresholds.json
    as the multi-label family saves tuned thresholds (for the checkpoint of step 0: `--tune_thresholds` exports them)."""
    from bert_runner import labels, results
    from bert_runner.multi_label import THRESHOLDS_FILE

    labels.save_labels(output_dir, head.labels)
    labels.save_run_kind(output_dir, head.kind)
    if head.thresholds:
        results.write_json(os.path.join(output_dir, THRESHOLDS_FILE),
                           {"labels": head.labels, "thresholds": head.thresholds, "global_step": 0})


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
    if set(missing) != {layout.POOLER_KERNEL, layout.POOLER_BIAS}:  # e.g. BertForTokenClassification has none
        for name in missing:
            logger.error("missing variable %s", name)
        raise ConversionError("%s lacks %d tensor(s) the model needs: %s"
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
    written.pop("global_step", None)
    if written != dict(expected):
        wrong = sorted(set(written.items()) ^ set(expected.items()))
        raise ConversionError("checkpoint %s does not hold the expected variables: %s"
                              % (prefix, wrong[:5]))


def _write_json_atomically(path, value) -> None:
    temporary = path + ".tmp"
    with open(temporary, "w", encoding="utf-8") as f:
        json.dump(value, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(temporary, path)
