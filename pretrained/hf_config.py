"""Hugging Face `config.json` -> `bert_config.json` as `bert.modeling.BertConfig` reads it, and back for the export."""

import json
from typing import Dict, List, Tuple

from bert_contract.model_config import ARCHITECTURE_FIELD, ARCHITECTURES, BERT, DISTILBERT, GELU_EXACT
from pretrained.errors import ConversionError, ExportError

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
# Hugging Face activation -> bert_config.json's hidden_act (bert_runner/encoder.py runs both
# "gelu" = modeling.py's tanh approximation, and "gelu_exact" = the erf GELU Hugging Face calls "gelu").
ACTIVATIONS = {
    "gelu": GELU_EXACT,
    "gelu_new": "gelu",
    "gelu_fast": "gelu",
    "gelu_pytorch_tanh": "gelu",
    "relu": "relu",
    "tanh": "tanh",
    "linear": "linear",
}
# DistilBERT's config.json names -> BERT's; DistilBERT always has LayerNorm eps 1e-12 and no token types.
DISTILBERT_FIELDS = {
    "dim": "hidden_size",
    "n_layers": "num_hidden_layers",
    "n_heads": "num_attention_heads",
    "hidden_dim": "intermediate_size",
    "activation": "hidden_act",
    "dropout": "hidden_dropout_prob",
    "attention_dropout": "attention_probs_dropout_prob",
}
DISTILBERT_DEFAULTS = {"hidden_act": "gelu", "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
                       "initializer_range": 0.02}
MODEL_TYPES = ARCHITECTURES  # Hugging Face's model_type names are ours
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
    """Returns (bert_config dict, notes on what behaves differently after conversion).

    DistilBERT becomes `"architecture": "distilbert"` with BERT's field names (and
    `type_vocab_size` 0: it has no token-type embeddings); bert_runner/encoder.py builds it.
    """
    model_type = hf.get("model_type", "bert")
    if model_type not in MODEL_TYPES:
        raise ConversionError(
            "%s: model_type is %r; supported: %s (the featurizer implements BERT's WordPiece tokenizer only)"
            % (source, model_type, ", ".join(MODEL_TYPES))
        )
    if model_type == DISTILBERT:
        hf = _distilbert_as_bert(hf)
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
    for field in REQUIRED_FIELDS + (() if model_type == DISTILBERT else ("type_vocab_size",)):
        value = config[field]
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            raise ConversionError("%s: %s must be a positive integer, got %r" % (source, field, value))
    if config["hidden_size"] % config["num_attention_heads"]:
        raise ConversionError(
            "%s: hidden_size %d is not a multiple of num_attention_heads %d"
            % (source, config["hidden_size"], config["num_attention_heads"])
        )
    if model_type == DISTILBERT:
        config[ARCHITECTURE_FIELD] = DISTILBERT

    notes = []
    activation = config["hidden_act"]
    if activation not in ACTIVATIONS:
        raise ConversionError(
            "%s: hidden_act %r is not supported (supported: %s)"
            % (source, activation, ", ".join(sorted(ACTIVATIONS)))
        )
    config["hidden_act"] = ACTIVATIONS[activation]
    eps = hf.get("layer_norm_eps", MODELING_LAYER_NORM_EPS)
    if abs(eps - MODELING_LAYER_NORM_EPS) > 1e-15:
        notes.append(
            "layer_norm_eps: the checkpoint used %g, bert/modeling.py always uses %g"
            % (eps, MODELING_LAYER_NORM_EPS)
        )
    return config, notes


def _distilbert_as_bert(hf: dict) -> dict:
    """DistilBERT's config under BERT's names; type_vocab_size 0 (no token-type embeddings)."""
    bert = {bert_name: hf[name] for name, bert_name in DISTILBERT_FIELDS.items() if name in hf}
    for field, default in DISTILBERT_DEFAULTS.items():
        bert.setdefault(field, default)
    for field in ("vocab_size", "max_position_embeddings", "initializer_range"):
        if field in hf:
            bert[field] = hf[field]
    bert["type_vocab_size"] = 0
    return bert


# bert_config.json's hidden_act -> Hugging Face's: the first ACTIVATIONS entry naming it ("gelu_exact" -> "gelu",
# modeling.py's tanh "gelu" -> "gelu_new"), so a config converted there and back is the same.
HF_ACTIVATIONS = {ours: hf for hf, ours in reversed(list(ACTIVATIONS.items()))}
# What the export writes beside the sizes (Hugging Face's own defaults for these fields).
DISTILBERT_EXTRAS = {"sinusoidal_pos_embds": False, "qa_dropout": 0.1, "seq_classif_dropout": 0.2,
                     "tie_weights_": True}


def hf_config_from_bert(config: Dict[str, object], source: str) -> Dict[str, object]:
    """bert_config.json -> the size and activation fields of a Hugging Face config.json (the inverse of
    `bert_config_from_hf`: DistilBERT under its own names, LayerNorm epsilon modeling.py's)."""
    activation = config.get("hidden_act", DEFAULTS["hidden_act"])
    if activation not in HF_ACTIVATIONS:
        raise ExportError("%s: hidden_act %r has no Hugging Face activation (supported: %s)"
                          % (source, activation, ", ".join(sorted(HF_ACTIVATIONS))))
    fields = {field: config[field] for field in REQUIRED_FIELDS}
    for field, default in DEFAULTS.items():
        fields[field] = config.get(field, default)
    fields["hidden_act"] = HF_ACTIVATIONS[activation]
    if config.get(ARCHITECTURE_FIELD) == DISTILBERT:
        hf = {name: fields[bert_name] for name, bert_name in DISTILBERT_FIELDS.items()}
        for field in ("vocab_size", "max_position_embeddings", "initializer_range"):
            hf[field] = fields[field]
        return dict(hf, model_type=DISTILBERT, **DISTILBERT_EXTRAS)
    return dict(fields, model_type=BERT, layer_norm_eps=MODELING_LAYER_NORM_EPS, position_embedding_type="absolute")
