"""Run under TF2_PYTHON (.venv-tf2): tiny random Hugging Face models and transformers' own outputs.

    python hf_tiny_models.py SPEC.json OUT_DIR

SPEC: {"vocab_file", "texts", "pairs", "minilm_dir" (optional), "minilm_texts"}. For BERT and
DistilBERT, each with no head, a sequence-classification, a token-classification and a
multi-label (problem_type multi_label_classification) head, builds the model with transformers' TF classes, gives every weight random values (so that
the mapping of each tensor matters and the probabilities spread out), saves it with
`save_pretrained` as TF-layout `model.safetensors` and as `tf_model.h5` with the tokenizer,
and runs it on the texts (one at a time, and as one padded batch; pairs for BERT) tokenized
by transformers' BertTokenizer. For all-MiniLM-L6-v2 (PyTorch-layout safetensors, loaded by
the TF class without torch) it writes the encoder's last hidden states. OUT_DIR/expected.json
lists the directories, the input ids and the outputs (softmax(logits), sigmoid(logits) for
multi-label, or hidden states).
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import transformers  # noqa: E402

HIDDEN, LAYERS, HEADS, INNER, POSITIONS = 32, 2, 2, 64, 64
SEQUENCE_LABELS = {0: "spam", 1: "ham", 2: "unsure"}
MULTI_LABELS = {0: "joy", 1: "anger", 2: "fear"}  # problem_type multi_label_classification: a sigmoid each
# Not in the NER family's order (O, then B-/I- per type): the importer must permute the rows.
TOKEN_LABELS = {0: "B-per", 1: "O", 2: "I-loc", 3: "I-per", 4: "B-loc"}
KINDS = [
    ("bert", None, "TFBertModel"), ("bert", "seq", "TFBertForSequenceClassification"),
    ("bert", "tok", "TFBertForTokenClassification"), ("distilbert", None, "TFDistilBertModel"),
    ("distilbert", "seq", "TFDistilBertForSequenceClassification"),
    ("distilbert", "tok", "TFDistilBertForTokenClassification"),
    ("bert", "multi", "TFBertForSequenceClassification"),
    ("distilbert", "multi", "TFDistilBertForSequenceClassification"),
]


def config(architecture, head, vocab_size):
    labels = {"seq": SEQUENCE_LABELS, "tok": TOKEN_LABELS, "multi": MULTI_LABELS}.get(head, {0: "LABEL_0", 1: "LABEL_1"})
    label_args = dict(id2label=labels, label2id={v: k for k, v in labels.items()})
    if head == "multi":
        label_args["problem_type"] = "multi_label_classification"
    if architecture == "bert":
        return transformers.BertConfig(vocab_size=vocab_size, hidden_size=HIDDEN, num_hidden_layers=LAYERS,
                                       num_attention_heads=HEADS, intermediate_size=INNER,
                                       max_position_embeddings=POSITIONS, **label_args)
    return transformers.DistilBertConfig(vocab_size=vocab_size, dim=HIDDEN, n_layers=LAYERS, n_heads=HEADS,
                                         hidden_dim=INNER, max_position_embeddings=POSITIONS, **label_args)


def randomize(model, seed):
    """Every weight random: embeddings N(0,1), kernels N(0, 1/fan_in), LayerNorm around (1, 0), biases small."""
    rng = np.random.RandomState(seed)
    for weight in model.weights:
        name, shape = weight.name, tuple(weight.shape)
        if name.endswith(("gamma:0",)):
            value = 1.0 + 0.2 * rng.standard_normal(shape)
        elif name.endswith(("beta:0", "bias:0")):
            value = 0.2 * rng.standard_normal(shape)
        elif name.endswith("kernel:0"):
            scale = 3.0 if "classifier/kernel" in name and "pre_classifier" not in name else 1.0
            value = scale * rng.standard_normal(shape) / np.sqrt(shape[0])
        else:
            value = rng.standard_normal(shape)
        weight.assign(value.astype(np.float32))


def tokenizer_for(architecture, vocab_file, directory):
    cls = transformers.BertTokenizer if architecture == "bert" else transformers.DistilBertTokenizer
    fast = transformers.BertTokenizerFast if architecture == "bert" else transformers.DistilBertTokenizerFast
    fast(vocab_file=vocab_file, do_lower_case=True).save_pretrained(directory)
    return cls(vocab_file=vocab_file, do_lower_case=True)


def run(model, tokenizer, texts, pairs, head):
    encoded = tokenizer(texts, pairs, padding=True, return_tensors="tf")
    inputs = {key: encoded[key] for key in ("input_ids", "attention_mask")}
    if "token_type_ids" in encoded and "Distil" not in type(model).__name__:
        inputs["token_type_ids"] = encoded["token_type_ids"]
    output = model(inputs, training=False)
    values = output.logits if head else output.last_hidden_state
    if head == "multi":
        values = tf.math.sigmoid(values)
    elif head:
        values = tf.nn.softmax(values, axis=-1)
    return {"input_ids": encoded["input_ids"].numpy().tolist(),
            "attention_mask": encoded["attention_mask"].numpy().tolist(),
            "outputs": values.numpy().tolist()}


def cases(model, tokenizer, spec, architecture, head):
    found = [dict(name="batch", texts=spec["texts"], pairs=None)]
    found += [dict(name="single-%d" % i, texts=[text], pairs=None) for i, text in enumerate(spec["texts"][:2])]
    if architecture == "bert":
        found.append(dict(name="pairs", texts=spec["texts"], pairs=spec["pairs"]))
    for case in found:
        case.update(run(model, tokenizer, case["texts"], case["pairs"], head))
    return found


def main(spec_file, out_dir):
    with open(spec_file, encoding="utf-8") as f:
        spec = json.load(f)
    with open(spec["vocab_file"], encoding="utf-8") as f:
        vocab_size = len(f.read().splitlines())
    expected = {"transformers": transformers.__version__, "tensorflow": tf.__version__, "models": {}}
    for seed, (architecture, head, class_name) in enumerate(KINDS):
        name = "%s-%s" % (architecture, head or "none")
        model = getattr(transformers, class_name)(config(architecture, head, vocab_size))
        model(model.dummy_inputs, training=False)
        randomize(model, seed)
        dirs = {}
        for layout, safe in (("safetensors", True), ("h5", False)):
            directory = os.path.join(out_dir, name, layout)
            model.save_pretrained(directory, safe_serialization=safe)
            tokenizer = tokenizer_for(architecture, spec["vocab_file"], directory)
            dirs[layout] = directory
        expected["models"][name] = {"architecture": architecture, "head": head, "dirs": dirs,
                                    "id2label": {str(k): v for k, v in model.config.id2label.items()},
                                    "cases": cases(model, tokenizer, spec, architecture, head)}
    if spec.get("minilm_dir"):
        model = transformers.TFBertModel.from_pretrained(spec["minilm_dir"])
        tokenizer = transformers.BertTokenizer.from_pretrained(spec["minilm_dir"])
        expected["minilm"] = run(model, tokenizer, spec["minilm_texts"], None, None)
    with open(os.path.join(out_dir, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(expected, f)
    print("transformers %s, tensorflow %s: %d models" % (transformers.__version__, tf.__version__,
                                                        len(expected["models"])))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
