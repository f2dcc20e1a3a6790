"""Hugging Face `config.json` -> `bert_config.json` as `bert.modeling.BertConfig` reads it."""

import json
from typing import Dict, List, Tuple

from pretrained.errors import ConversionError

# Fields that fix the weight shapes: without them there is no layout to convert into.
REQUIRED_FIELDS = (
    "vocab_size",
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "intermediate_size",
    "max_position_embeddings",
)
# Hugging Face's BertConfig defaults, used when a config.json leaves them out.
DEFAULTS = {
    "type_vocab_size": 2,
    "hidden_act": "gelu",
    "hidden_dropout_prob": 0.1,
    "attention_probs_dropout_prob": 0.1,
    "initializer_range": 0.02,
}
GELU_NOTE = (
    "hidden_act: Hugging Face 'gelu' is the exact (erf) GELU, bert/modeling.py computes its "
    "tanh approximation; hidden states differ by up to ~2e-3 (measured on all-MiniLM-L6-v2), "
    "which fine-tuning absorbs"
)
# Hugging Face activation -> (bert/modeling.py name, note when the two differ).
ACTIVATIONS = {
    "gelu": ("gelu", GELU_NOTE),
    "gelu_new": ("gelu", None),
    "gelu_fast": ("gelu", None),
    "gelu_pytorch_tanh": ("gelu", None),
    "relu": ("relu", None),
    "tanh": ("tanh", None),
    "linear": ("linear", None),
}
# tf.contrib.layers.layer_norm, which bert/modeling.py uses, has this epsilon built in.
MODELING_LAYER_NORM_EPS = 1e-12


def read_json(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            value = json.load(f)
    except FileNotFoundError:
        raise ConversionError("missing file %s" % path) from None
    except (OSError, ValueError) as e:
        raise ConversionError("cannot read %s: %s" % (path, e)) from e
    if not isinstance(value, dict):
        raise ConversionError("%s: expected a JSON object, got %s" % (path, type(value).__name__))
    return value


def bert_config_from_hf(hf: dict, source: str) -> Tuple[Dict[str, object], List[str]]:
    """Returns (bert_config dict, notes on what behaves differently after conversion)."""
    model_type = hf.get("model_type", "bert")
    if model_type != "bert":
        raise ConversionError(
            "%s: model_type is %r; only BERT-architecture checkpoints (model_type 'bert') convert"
            % (source, model_type)
        )
    position_type = hf.get("position_embedding_type", "absolute")
    if position_type != "absolute":
        raise ConversionError(
            "%s: position_embedding_type %r is not supported by bert/modeling.py (absolute only)"
            % (source, position_type)
        )
    missing = [field for field in REQUIRED_FIELDS if field not in hf]
    if missing:
        raise ConversionError("%s lacks the field(s) %s" % (source, ", ".join(missing)))

    config = {field: hf[field] for field in REQUIRED_FIELDS}
    for field, default in DEFAULTS.items():
        config[field] = hf.get(field, default)
    for field in REQUIRED_FIELDS + ("type_vocab_size",):
        value = config[field]
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise ConversionError("%s: %s must be a positive integer, got %r" % (source, field, value))
    if config["hidden_size"] % config["num_attention_heads"]:
        raise ConversionError(
            "%s: hidden_size %d is not a multiple of num_attention_heads %d"
            % (source, config["hidden_size"], config["num_attention_heads"])
        )

    notes = []
    activation = config["hidden_act"]
    if activation not in ACTIVATIONS:
        raise ConversionError(
            "%s: hidden_act %r has no bert/modeling.py equivalent (supported: %s)"
            % (source, activation, ", ".join(sorted(ACTIVATIONS)))
        )
    config["hidden_act"], note = ACTIVATIONS[activation]
    if note:
        notes.append(note)
    eps = hf.get("layer_norm_eps", MODELING_LAYER_NORM_EPS)
    if abs(eps - MODELING_LAYER_NORM_EPS) > 1e-15:
        notes.append(
            "layer_norm_eps: the checkpoint used %g, bert/modeling.py always uses %g"
            % (eps, MODELING_LAYER_NORM_EPS)
        )
    return config, notes
