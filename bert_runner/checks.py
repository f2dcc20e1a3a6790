"""Checks of the model files and flags, run before any work starts.

Each failure is a `RunnerError` naming the flag and file, instead of a shape
error from deep inside TensorFlow after minutes of featurization.
"""

import json
import logging
from typing import Dict, Optional

import tensorflow.compat.v1 as tf
from bert import modeling

from bert_runner import storage
from bert_runner.encoder import build_encoder, check_config
from bert_runner.errors import RunnerError

log = logging.getLogger("bert_runner")

_REQUIRED_CONFIG_KEYS = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads")


def load_bert_config(path: Optional[str]) -> modeling.BertConfig:
    if not path:
        raise RunnerError("--bert_config_file is required")
    try:
        data = json.loads(storage.read_bytes(path).decode("utf-8"))
    except OSError as e:
        raise RunnerError("--bert_config_file=%s: cannot read: %s" % (path, e.strerror or e))
    except ValueError as e:
        raise RunnerError("--bert_config_file=%s: not valid JSON: %s" % (path, e))
    missing = [key for key in _REQUIRED_CONFIG_KEYS if key not in data]
    if missing:
        raise RunnerError("--bert_config_file=%s: missing %s" % (path, ", ".join(missing)))
    config = modeling.BertConfig.from_dict(data)
    try:
        check_config(config)
    except ValueError as e:
        raise RunnerError("--bert_config_file=%s: %s" % (path, e))
    return config


def check_max_seq_length(max_seq_length: int, config: modeling.BertConfig, config_file: str) -> None:
    if max_seq_length > config.max_position_embeddings:
        raise RunnerError(
            "--max_seq_length=%d is larger than max_position_embeddings=%d in %s"
            % (max_seq_length, config.max_position_embeddings, config_file)
        )
    if max_seq_length < 3:
        raise RunnerError("--max_seq_length=%d is too small (at least 3: [CLS], [SEP] and a token)" % max_seq_length)


def check_vocab_size(vocab: Dict[str, int], vocab_file: str, config: modeling.BertConfig, config_file: str) -> None:
    size = len(vocab)
    if size != config.vocab_size:
        raise RunnerError(
            "--vocab_file=%s has %d tokens but vocab_size=%d in %s: they must come from the same model"
            % (vocab_file, size, config.vocab_size, config_file)
        )


def resolve_checkpoint(path: str, flag: str) -> str:
    """A checkpoint prefix from a prefix or a directory; error when there is none."""
    if storage.isdir(path):
        latest = tf.train.latest_checkpoint(path)
        if latest:
            return latest
        raise RunnerError("--%s=%s: the directory holds no checkpoint" % (flag, path))
    if tf.io.gfile.exists(path + ".index"):
        return path
    raise RunnerError("--%s=%s: no checkpoint found (expected %s.index)" % (flag, path, path))


def _model_variable_shapes(config: modeling.BertConfig) -> Dict[str, list]:
    """Names and shapes of the variables the encoder (`encoder.build_encoder`) creates for a config."""
    with tf.Graph().as_default():
        input_ids = tf.placeholder(tf.int32, [None, None])
        build_encoder(config, is_training=False, input_ids=input_ids)
        return {v.op.name: v.shape.as_list() for v in tf.global_variables()}


def check_init_checkpoint(init_checkpoint: str, config: modeling.BertConfig, config_file: str) -> str:
    """Resolves `--init_checkpoint` and refuses one that does not fit the model.

    Shape mismatches or a checkpoint sharing no variable with the model are
    errors (the reference fails with an opaque TensorFlow error or silently
    trains from random weights); model variables the checkpoint lacks are
    listed as a warning, as they start from random values.
    """
    checkpoint = resolve_checkpoint(init_checkpoint, "init_checkpoint")
    try:
        stored = dict(tf.train.list_variables(checkpoint))
    except (tf.errors.OpError, ValueError) as e:
        raise RunnerError("--init_checkpoint=%s: cannot read the checkpoint: %s" % (init_checkpoint, e))
    expected = _model_variable_shapes(config)
    mismatched = [
        "%s %s in the checkpoint, %s in the model" % (name, stored[name], shape)
        for name, shape in sorted(expected.items())
        if name in stored and list(stored[name]) != shape
    ]
    if mismatched:
        raise RunnerError(
            "--init_checkpoint=%s does not fit --bert_config_file=%s: %d variable(s) differ in shape, e.g. %s"
            % (init_checkpoint, config_file, len(mismatched), "; ".join(mismatched[:3]))
        )
    found = [name for name in expected if name in stored]
    if not found:
        raise RunnerError(
            "--init_checkpoint=%s shares no variable with the BERT model of %s (is it a BERT checkpoint?)"
            % (init_checkpoint, config_file)
        )
    missing = sorted(set(expected) - set(found))
    if missing:
        log.warning(
            "--init_checkpoint lacks %d model variable(s), which start from random values: %s",
            len(missing),
            ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else ""),
        )
    return checkpoint
