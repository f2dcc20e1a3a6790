"""Run under TF2_PYTHON (.venv-tf2): load `export-hf` directories with transformers and answer for them.

    python hf_export_check.py SPEC.json OUT.json

SPEC: {"models": [{"name", "dir", "texts", "pairs" (or null)}]}. For each directory:
AutoConfig, AutoTokenizer and TFAutoModelFor{Sequence,Token}Classification (chosen by
`architectures`, loading the PyTorch-layout model.safetensors without torch), every log
record and Python warning transformers emitted while loading, the tokenizer's ids for the
texts (one padded batch), softmax or sigmoid (multi-label) of the logits, and the
`text-classification` pipeline's top label and score per text (sequence classifiers).
"""

import json
import logging
import os
import sys
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

import tensorflow as tf  # noqa: E402
import transformers  # noqa: E402


class Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.lines = []

    def emit(self, record):
        self.lines.append("%s: %s" % (record.levelname, record.getMessage()))


def load(directory):
    """(config, tokenizer, model, log lines) with transformers' loading messages captured."""
    records = Records()
    logger = logging.getLogger("transformers")
    logger.addHandler(records)
    transformers.logging.set_verbosity_info()
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            config = transformers.AutoConfig.from_pretrained(directory)
            tokenizer = transformers.AutoTokenizer.from_pretrained(directory)
            auto = (transformers.TFAutoModelForTokenClassification if "TokenClassification" in config.architectures[0]
                    else transformers.TFAutoModelForSequenceClassification)
            model = auto.from_pretrained(directory)
    finally:
        logger.removeHandler(records)
        transformers.logging.set_verbosity_warning()
    return config, tokenizer, model, records.lines + ["warning: %s" % w.message for w in caught]


def answer(spec):
    config, tokenizer, model, log = load(spec["dir"])
    encoded = tokenizer(spec["texts"], spec.get("pairs"), padding=True, return_tensors="tf")
    inputs = {key: encoded[key] for key in ("input_ids", "attention_mask")}
    if config.model_type == "bert":
        inputs["token_type_ids"] = encoded["token_type_ids"]
    logits = model(inputs, training=False).logits
    multi_label = config.problem_type == "multi_label_classification"
    probabilities = tf.math.sigmoid(logits) if multi_label else tf.nn.softmax(logits, axis=-1)
    result = {"log": log, "config": config.to_dict(), "tokenizer": type(tokenizer).__name__,
              "model": type(model).__name__, "is_fast": tokenizer.is_fast,
              "input_ids": encoded["input_ids"].numpy().tolist(),
              "attention_mask": encoded["attention_mask"].numpy().tolist(),
              "probabilities": probabilities.numpy().tolist()}
    if "SequenceClassification" in config.architectures[0] and not spec.get("pairs"):
        pipe = transformers.pipeline("text-classification", model=model, tokenizer=tokenizer, framework="tf")
        result["pipeline"] = [[row["label"], row["score"]] for row in pipe(spec["texts"])]
    return result


def main(spec_file, out_file):
    with open(spec_file, encoding="utf-8") as f:
        spec = json.load(f)
    results = {model["name"]: answer(model) for model in spec["models"]}
    with open(out_file, "w", encoding="utf-8") as f:
        json.dump({"transformers": transformers.__version__, "models": results}, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
