"""transformers' side of the export-hf parity checks; runs under the TF 2.x venv (.venv-tf2).

    .venv-tf2/bin/python bench/hf_transformers.py SPEC.json OUT.json

SPEC: {"models": [{"name", "dir", "texts", "pairs" (or null), "pipeline" (bool), "stride" (tagger pipeline)}]}. For each
`python -m pretrained export-hf` directory: AutoConfig, AutoTokenizer and
TFAutoModelFor{Sequence,Token}Classification (by `architectures`; the PyTorch-layout
model.safetensors loads without torch), with every log record and warning transformers
emitted while loading; per text the tokenizer's ids (truncated to model_max_length, as the
featurizer truncates to max_seq_length) and the probabilities of its logits (softmax;
sigmoid for problem_type multi_label_classification; per real token for a tagger); with
"pipeline", what `transformers.pipeline("text-classification")` (top label, score) or
`pipeline("token-classification", aggregation_strategy="first", stride=...)` (entity_group,
start, end, score per entity) answers. Used by tests/pretrained/test_hf_export.py and bench/hf_export.py.
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

BATCH = 32
MULTI_LABEL = "multi_label_classification"


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
            auto = (transformers.TFAutoModelForTokenClassification if is_tagger(config)
                    else transformers.TFAutoModelForSequenceClassification)
            model = auto.from_pretrained(directory)
    finally:
        logger.removeHandler(records)
        transformers.logging.set_verbosity_warning()
    return config, tokenizer, model, records.lines + ["warning: %s" % w.message for w in caught]


def is_tagger(config):
    return config.architectures[0].endswith("ForTokenClassification")


def probabilities(config, tokenizer, model, texts, pairs):
    """(ids per text, probabilities per text: [labels] or [real tokens][tags])."""
    ids, out = [], []
    for start in range(0, len(texts), BATCH):
        chunk_pairs = pairs[start:start + BATCH] if pairs else None
        encoded = tokenizer(texts[start:start + BATCH], chunk_pairs, padding=True, truncation=True, return_tensors="tf")
        inputs = {key: encoded[key] for key in ("input_ids", "attention_mask", "token_type_ids") if key in encoded}
        if config.model_type == "distilbert":
            inputs.pop("token_type_ids", None)
        logits = model(inputs, training=False).logits
        values = tf.math.sigmoid(logits) if config.problem_type == MULTI_LABEL else tf.nn.softmax(logits, axis=-1)
        for row, mask, value in zip(encoded["input_ids"].numpy(), encoded["attention_mask"].numpy(), values.numpy()):
            real = mask.astype(bool)
            ids.append(row[real].tolist())
            out.append(value[real].tolist() if is_tagger(config) else value.tolist())
    return ids, out


def pipeline_answers(config, tokenizer, model, texts, stride=None):
    if is_tagger(config):
        pipe = transformers.pipeline("token-classification", model=model, tokenizer=tokenizer, framework="tf",
                                     aggregation_strategy="first", stride=stride)
        return [[[e["entity_group"], int(e["start"]), int(e["end"]), float(e["score"])] for e in entities]
                for entities in pipe(texts)]
    pipe = transformers.pipeline("text-classification", model=model, tokenizer=tokenizer, framework="tf")
    if config.problem_type == MULTI_LABEL:  # every label's sigmoid
        return [{row["label"]: float(row["score"]) for row in rows} for rows in pipe(texts, top_k=None, truncation=True)]
    return [[row["label"], float(row["score"])] for row in pipe(texts, truncation=True)]


def answer(spec):
    config, tokenizer, model, log = load(spec["dir"])
    ids, values = probabilities(config, tokenizer, model, spec["texts"], spec.get("pairs"))
    result = {"log": log, "config": config.to_dict(), "tokenizer": type(tokenizer).__name__,
              "model": type(model).__name__, "input_ids": ids, "probabilities": values}
    if spec.get("pipeline"):
        result["pipeline"] = pipeline_answers(config, tokenizer, model, spec["texts"], spec.get("stride"))
    return result


def main(spec_file, out_file):
    with open(spec_file, encoding="utf-8") as f:
        spec = json.load(f)
    results = {model["name"]: answer(model) for model in spec["models"]}
    with open(out_file, "w", encoding="utf-8") as f:
        json.dump({"transformers": transformers.__version__, "tensorflow": tf.__version__, "models": results}, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
