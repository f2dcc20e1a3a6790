"""Test helpers: a tiny Hugging Face-format BERT, and a NumPy forward pass over HF weights.

The NumPy pass reads the Hugging Face tensor names directly and shares no code with the
converter, so agreement with `modeling.BertModel` on the converted checkpoint checks the
mapping, the transposes and the config translation together. It computes the GELU the
config names as Hugging Face does ("gelu" is the erf form), so the two should agree to
float32 rounding.
"""

import json
import math
import os
import shutil

import numpy as np
import tiny_bert  # tests/helpers, on sys.path through pyproject.toml's pytest `pythonpath`

# What tests/helpers/hf_tiny_models.py runs the tiny Hugging Face models on (the `hf_models` fixture).
TEXTS = ["good movie", "the food is awful and the movie is bad too , free cash now !!", "great"]
PAIRS = ["bad", "ok fine", "the movie is great"]
MINILM_TEXTS = ["A man is playing a guitar.", "How do I reset my password? Click 'forgot password'.",
                "Congratulations! You've WON a £1000 prize. Call 09061701461 now."]


def gelu_tanh(x):
    return 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x ** 3)))


_erf = np.vectorize(math.erf)


def gelu_erf(x):
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


ACTIVATIONS = {"gelu": gelu_erf, "gelu_new": gelu_tanh, "relu": lambda x: np.maximum(x, 0.0)}


def _layer_norm(x, gamma, beta, eps=1e-12):
    mean = x.mean(axis=-1, keepdims=True)
    variance = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / np.sqrt(variance + eps) * gamma + beta


def _canonical(weights):
    """Drops a `bert.` prefix and maps old `LayerNorm.gamma/beta` to `weight/bias`."""
    out = {}
    for name, value in weights.items():
        if name.startswith("bert."):
            name = name[len("bert."):]
        name = name.replace("LayerNorm.gamma", "LayerNorm.weight").replace("LayerNorm.beta", "LayerNorm.bias")
        out[name] = np.asarray(value, dtype=np.float64)
    return out


def numpy_bert(weights, config, input_ids, input_mask, segment_ids):
    """Final hidden states [batch, seq, hidden] of a Hugging Face BertModel, in float64."""
    w = _canonical(weights)
    input_ids, segment_ids = np.asarray(input_ids), np.asarray(segment_ids)
    mask = np.asarray(input_mask, dtype=np.float64)
    batch, length = input_ids.shape
    heads = config["num_attention_heads"]
    head_size = config["hidden_size"] // heads

    def linear(x, name):
        return x @ w[name + ".weight"].T + w[name + ".bias"]

    def norm(x, name):
        return _layer_norm(x, w[name + ".weight"], w[name + ".bias"])

    def split_heads(x):
        return x.reshape(batch, length, heads, head_size).transpose(0, 2, 1, 3)

    x = (w["embeddings.word_embeddings.weight"][input_ids]
         + w["embeddings.position_embeddings.weight"][:length][None]
         + w["embeddings.token_type_embeddings.weight"][segment_ids])
    x = norm(x, "embeddings.LayerNorm")
    adder = (1.0 - mask)[:, None, None, :] * -10000.0
    for index in range(config["num_hidden_layers"]):
        p = "encoder.layer.%d." % index
        q = split_heads(linear(x, p + "attention.self.query"))
        k = split_heads(linear(x, p + "attention.self.key"))
        v = split_heads(linear(x, p + "attention.self.value"))
        scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(head_size) + adder
        scores = np.exp(scores - scores.max(axis=-1, keepdims=True))
        probs = scores / scores.sum(axis=-1, keepdims=True)
        context = (probs @ v).transpose(0, 2, 1, 3).reshape(batch, length, heads * head_size)
        attention = norm(linear(context, p + "attention.output.dense") + x, p + "attention.output.LayerNorm")
        inner = ACTIVATIONS[config.get("hidden_act", "gelu")](linear(attention, p + "intermediate.dense"))
        x = norm(linear(inner, p + "output.dense") + attention, p + "output.LayerNorm")
    return x


def tiny_hf_config(vocab_size, **overrides):
    """config.json as transformers writes it for a BertModel."""
    config = dict(tiny_bert.bert_config(vocab_size), model_type="bert", architectures=["BertModel"],
                  layer_norm_eps=1e-12, pad_token_id=0, position_embedding_type="absolute")
    config.update(overrides)
    return config


def tiny_hf_weights(config, seed=0, pooler=True):
    """Random weights under Hugging Face BertModel names (plus the position_ids buffer)."""
    rng = np.random.RandomState(seed)
    hidden, inner = config["hidden_size"], config["intermediate_size"]

    def normal(*shape, scale=0.3):
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    weights = {
        "embeddings.word_embeddings.weight": normal(config["vocab_size"], hidden, scale=1.0),
        "embeddings.position_embeddings.weight": normal(config["max_position_embeddings"], hidden, scale=1.0),
        "embeddings.token_type_embeddings.weight": normal(config["type_vocab_size"], hidden, scale=1.0),
        "embeddings.position_ids": np.arange(config["max_position_embeddings"], dtype=np.int64)[None],
    }

    def linear(name, fan_in, fan_out):
        weights[name + ".weight"] = normal(fan_out, fan_in, scale=1.0 / np.sqrt(fan_in))
        weights[name + ".bias"] = normal(fan_out, scale=0.1)

    def layer_norm(name):
        weights[name + ".weight"] = 1.0 + normal(hidden, scale=0.1)
        weights[name + ".bias"] = normal(hidden, scale=0.1)

    layer_norm("embeddings.LayerNorm")
    for index in range(config["num_hidden_layers"]):
        p = "encoder.layer.%d." % index
        for name in ("query", "key", "value"):
            linear(p + "attention.self." + name, hidden, hidden)
        linear(p + "attention.output.dense", hidden, hidden)
        layer_norm(p + "attention.output.LayerNorm")
        linear(p + "intermediate.dense", hidden, inner)
        linear(p + "output.dense", inner, hidden)
        layer_norm(p + "output.LayerNorm")
    if pooler:
        linear("pooler.dense", hidden, hidden)
    return weights


def rename(weights, prefix="", gamma_beta=False):
    """The naming variants found in the wild: `bert.` prefix, old LayerNorm gamma/beta."""
    out = {}
    for name, value in weights.items():
        if gamma_beta and ".LayerNorm." in name:
            name = name.replace("LayerNorm.weight", "LayerNorm.gamma")
            name = name.replace("LayerNorm.bias", "LayerNorm.beta")
        out[prefix + name] = value
    return out


def write_hf_dir(directory, vocab_file, config, weights, do_lower_case=True):
    """A Hugging Face model directory: config.json, model.safetensors, vocab.txt, tokenizer_config.json."""
    from safetensors.numpy import save_file

    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    with open(os.path.join(directory, "tokenizer_config.json"), "w") as f:
        json.dump({"do_lower_case": do_lower_case, "tokenizer_class": "BertTokenizer"}, f)
    save_file(weights, os.path.join(directory, "model.safetensors"))
    shutil.copyfile(vocab_file, os.path.join(directory, "vocab.txt"))
    return str(directory)


def as_distilbert_config(bert_config):
    """A BERT config.json's sizes as DistilBERT's config.json names them."""
    c = bert_config
    return {"model_type": "distilbert", "architectures": ["DistilBertModel"], "vocab_size": c["vocab_size"],
            "dim": c["hidden_size"], "n_layers": c["num_hidden_layers"], "n_heads": c["num_attention_heads"],
            "hidden_dim": c["intermediate_size"], "max_position_embeddings": c["max_position_embeddings"],
            "activation": c.get("hidden_act", "gelu"), "dropout": 0.1, "attention_dropout": 0.1,
            "initializer_range": 0.02, "pad_token_id": 0}


def run_encoder(manifest, inputs, output="sequence"):
    """Sequence output (or, with output="sentence", the sentence vector its config's pooling gives) of
    bert_runner's encoder on a converted checkpoint, initialised as run_classifier does."""
    import tensorflow.compat.v1 as tf
    from bert import modeling

    from bert_runner.encoder import build_encoder

    config = modeling.BertConfig.from_json_file(manifest["bert_config_file"])
    with tf.Graph().as_default():
        tensors = {key: tf.constant(np.asarray(value, np.int32)) for key, value in inputs.items()}
        model = build_encoder(config, False, tensors["input_ids"], tensors["input_mask"], tensors["segment_ids"])
        tvars = tf.trainable_variables()
        checkpoint = manifest["init_checkpoint"]
        assignment, initialised = modeling.get_assignment_map_from_checkpoint(tvars, checkpoint)
        assert sorted(v.name for v in tvars if v.name not in initialised) == []
        tf.train.init_from_checkpoint(checkpoint, assignment)
        with tf.Session() as session:
            session.run(tf.global_variables_initializer())
            return session.run(model.get_sentence_output() if output == "sentence" else model.get_sequence_output())
