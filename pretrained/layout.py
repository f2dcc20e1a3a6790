"""The variable names and shapes bert/modeling.py creates, and which Hugging Face tensor feeds each.

Kept apart from the conversion so a test can hold the layout against a real `BertModel` graph.
`tf_name_for` (import) and `hf_name_for` (export) read the same tables in opposite directions.
"""

import collections
from typing import Dict, Optional, Tuple

from bert_contract.model_config import ARCHITECTURE_FIELD, DISTILBERT, OUTPUT_BIAS, OUTPUT_WEIGHTS
from bert_contract.model_config import PRE_CLASSIFIER_SCOPE as PRE_CLASSIFIER
from pretrained.hf_heads import HEAD_CLASSES

Shape = Tuple[int, ...]

POOLER_KERNEL = "bert/pooler/dense/kernel"
POOLER_BIAS = "bert/pooler/dense/bias"
# The output layer of both heads (bert_runner.classification.output_layer) is [num_labels, hidden] like
# Hugging Face's `classifier.weight`, so it is taken untransposed.
_HEAD_TENSORS = {
    "classifier.weight": (OUTPUT_WEIGHTS, False),
    "classifier.bias": (OUTPUT_BIAS, False),
    "pre_classifier.weight": (PRE_CLASSIFIER + "/kernel", True),
    "pre_classifier.bias": (PRE_CLASSIFIER + "/bias", False),
}

# Hugging Face prefixes for the encoder: `BertModel` saves none, `BertFor*` heads save "bert.",
# `DistilBertFor*` heads "distilbert.".
HF_PREFIXES = ("bert.", "distilbert.")
# DistilBERT's module names -> BERT's (the layers compute the same post-LayerNorm block).
_DISTILBERT_NAMES = (
    ("transformer.layer.", "encoder.layer."),
    ("attention.q_lin.", "attention.self.query."),
    ("attention.k_lin.", "attention.self.key."),
    ("attention.v_lin.", "attention.self.value."),
    ("attention.out_lin.", "attention.output.dense."),
    ("sa_layer_norm.", "attention.output.LayerNorm."),
    ("ffn.lin1.", "intermediate.dense."),
    ("ffn.lin2.", "output.dense."),
    ("output_layer_norm.", "output.LayerNorm."),
)
# Buffers Hugging Face saves next to the weights; they hold no learned values.
HF_BUFFERS = ("embeddings.position_ids", "embeddings.token_type_ids")
_LAYER_NORM_LEAVES = {"weight": "gamma", "gamma": "gamma", "bias": "beta", "beta": "beta"}
_DENSE_LEAVES = {"weight": "kernel", "bias": "bias"}


def is_distilbert(config: Dict[str, object]) -> bool:
    return config.get(ARCHITECTURE_FIELD) == DISTILBERT


def expected_variables(
    config: Dict[str, object], head: Optional[str] = None, num_labels: int = 0
) -> "collections.OrderedDict[str, Shape]":
    """Every variable bert_runner's encoder (and the layers of task kind `head`) makes for this bert_config,
    in graph order.

    DistilBERT has no token-type embeddings and no pooler; a head that reads the pooled first token
    (`hf_heads.HEAD_CLASSES`) adds its `pre_classifier`.
    """
    hidden = config["hidden_size"]
    inner = config["intermediate_size"]
    distilbert = is_distilbert(config)
    shapes = collections.OrderedDict()  # type: collections.OrderedDict[str, Shape]
    embeddings = "bert/embeddings/"
    shapes[embeddings + "word_embeddings"] = (config["vocab_size"], hidden)
    if not distilbert:
        shapes[embeddings + "token_type_embeddings"] = (config["type_vocab_size"], hidden)
    shapes[embeddings + "position_embeddings"] = (config["max_position_embeddings"], hidden)
    _layer_norm(shapes, embeddings + "LayerNorm", hidden)
    for index in range(config["num_hidden_layers"]):
        layer = "bert/encoder/layer_%d/" % index
        for name in ("query", "key", "value"):
            _dense(shapes, layer + "attention/self/" + name, hidden, hidden)
        _dense(shapes, layer + "attention/output/dense", hidden, hidden)
        _layer_norm(shapes, layer + "attention/output/LayerNorm", hidden)
        _dense(shapes, layer + "intermediate/dense", hidden, inner)
        _dense(shapes, layer + "output/dense", inner, hidden)
        _layer_norm(shapes, layer + "output/LayerNorm", hidden)
    if not distilbert:
        _dense(shapes, "bert/pooler/dense", hidden, hidden)
    if head is None:
        return shapes
    if HEAD_CLASSES[head].pooled and distilbert:
        _dense(shapes, PRE_CLASSIFIER, hidden, hidden)
    shapes[OUTPUT_WEIGHTS] = (num_labels, hidden)
    shapes[OUTPUT_BIAS] = (num_labels,)
    return shapes


def _dense(shapes, scope, fan_in, fan_out):
    shapes[scope + "/kernel"] = (fan_in, fan_out)
    shapes[scope + "/bias"] = (fan_out,)


def _layer_norm(shapes, scope, width):
    shapes[scope + "/beta"] = (width,)
    shapes[scope + "/gamma"] = (width,)


def is_buffer(hf_name: str) -> bool:
    return strip_prefix(hf_name) in HF_BUFFERS


def strip_prefix(hf_name: str) -> str:
    """The encoder-relative name, DistilBERT's modules renamed to BERT's (no BERT name contains theirs)."""
    for prefix in HF_PREFIXES:
        if hf_name.startswith(prefix):
            hf_name = hf_name[len(prefix):]
            break
    for old, new in _DISTILBERT_NAMES:
        hf_name = hf_name.replace(old, new)
    return hf_name


def tf_name_for(hf_name: str) -> Optional[Tuple[str, bool]]:
    """(bert/modeling.py variable name, transpose?) for a Hugging Face tensor name.

    The name is derived structurally (dots -> slashes, `layer.N` -> `layer_N`, Linear
    `weight` -> `kernel`, LayerNorm `weight/bias` or `gamma/beta` -> `gamma/beta`); the
    caller checks it against `expected_variables`, so heads such as `cls.*` stay unmapped.
    Linear weights are [out, in] in PyTorch and [in, out] in TF, hence the transpose.
    DistilBERT's names are first renamed to BERT's; the heads' `classifier` and
    `pre_classifier` go to bert_runner's output layer and DistilBERT pre-classifier.
    """
    if hf_name in _HEAD_TENSORS:
        return _HEAD_TENSORS[hf_name]
    parts = strip_prefix(hf_name).split(".")
    if len(parts) > 3 and parts[:2] == ["encoder", "layer"] and parts[2].isdigit():
        parts = ["encoder", "layer_" + parts[2]] + parts[3:]
    if len(parts) < 2:
        return None
    scope, leaf = parts[:-1], parts[-1]
    if scope[-1] == "LayerNorm":
        if leaf not in _LAYER_NORM_LEAVES:
            return None
        return _tf_name(scope + [_LAYER_NORM_LEAVES[leaf]]), False
    if scope[-1].endswith("_embeddings"):
        return (_tf_name(scope), False) if leaf == "weight" else None
    if leaf not in _DENSE_LEAVES:
        return None
    return _tf_name(scope + [_DENSE_LEAVES[leaf]]), leaf == "weight"


def _tf_name(parts):
    return "bert/" + "/".join(parts)


def hf_name_for(tf_name: str, distilbert: bool) -> Tuple[str, bool]:
    """(Hugging Face PyTorch-layout name in a `*For*` head model, transpose?) for a bert_runner variable.

    The inverse of `tf_name_for`, from the same tables: `bert/encoder/layer_0/intermediate/dense/kernel`
    -> `bert.encoder.layer.0.intermediate.dense.weight` (DistilBERT: `distilbert.transformer.layer.0.ffn.lin1.weight`).
    Each answer is checked by mapping it back, so the two directions cannot drift apart.
    """
    head = [hf for hf, (name, _) in _HEAD_TENSORS.items() if name == tf_name]
    if head:
        return head[0], _HEAD_TENSORS[head[0]][1]
    parts = tf_name.split("/")
    if parts[0] != "bert" or len(parts) < 3:
        raise ValueError("%s is not a bert_runner encoder variable" % tf_name)
    parts = parts[1:]
    if parts[0] == "encoder" and parts[1].startswith("layer_"):
        parts = ["encoder", "layer", parts[1][len("layer_"):]] + parts[2:]
    if parts[-1].endswith("_embeddings"):
        parts.append("weight")
    elif parts[-2] == "LayerNorm":
        parts[-1] = _first_key(_LAYER_NORM_LEAVES, parts[-1])
    else:
        parts[-1] = _first_key(_DENSE_LEAVES, parts[-1])
    name = ".".join(parts)
    if distilbert:
        for hf_part, bert_part in _DISTILBERT_NAMES:  # in table order: attention.output.* before output.*
            name = name.replace(bert_part, hf_part)
    name = HF_PREFIXES[1 if distilbert else 0] + name
    back = tf_name_for(name)
    if back is None or back[0] != tf_name:
        raise ValueError("%s: the inverse name %s maps back to %s" % (tf_name, name, back))
    return name, back[1]


def _first_key(table: Dict[str, str], value: str) -> str:
    """The canonical Hugging Face leaf for a TF leaf: the first key of the table that maps to it."""
    for key, mapped in table.items():
        if mapped == value:
            return key
    raise ValueError("no Hugging Face leaf maps to %r" % value)
