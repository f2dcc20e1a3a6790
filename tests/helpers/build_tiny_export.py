"""Builds a tiny BERT export for tests that run outside the TF 1.15 venv.

    .venv/bin/python tests/helpers/build_tiny_export.py OUT_DIR [--ner | --multi_label] [--onnx] [--gelu_exact]

Fine-tunes the tiny random BERT for a few steps and exports it (`--ner`: a
token classifier on the tiny NER data; `--multi_label`: a multi-label classifier
on the tiny label-set data, thresholds tuned on dev, with the test split's
texts and the runner's own label sets for them as "test_texts" and
"test_label_sets"; `--onnx`: with `--export_onnx`;
`--gelu_exact`: the encoder's `hidden_act` is the exact GELU instead of Google's tanh form); prints
one JSON line: {"export_base": ..., "export_path": ..., "vocab_file": ...,
"max_seq_length": ..., "onnx_dir": ... or null, "reference": ... or null}. With `--onnx`,
`reference` is a JSON file of featurized texts (`inputs`) and the SavedModel's
`output` for them, run by TensorFlow, for ONNX parity tests on a Python without it.
"""

import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))

import tiny_bert  # noqa: E402


# Two epochs of 64 sentences: the reference's update (no Adam bias correction, whose smaller first
# steps leave this tagger finding no entity yet) makes a tagger that finds some, which the
# ONNX-vs-SavedModel span tests need.
NER_OPTIONS = {"task_name": "ner", "doc_stride": 4, "adam_bias_correction": False}


# The tiny label-set data (food/happy/sad keywords): enough steps to learn them, thresholds tuned on dev.
MULTI_LABEL_OPTIONS = {"task_name": "multilabel", "num_train_epochs": 10.0, "learning_rate": 5e-4,
                       "train_batch_size": 16, "do_eval": True, "tune_thresholds": True, "do_predict": True}


def main(root, ner=False, onnx=False, gelu_exact=False, multi_label=False):
    import featurizer
    from bert_runner.run import run
    from bert_runner.token_classification import TokenClassification

    os.makedirs(root, exist_ok=True)
    vocab_file = tiny_bert.write_vocab(os.path.join(root, "vocab.txt"))
    config = tiny_bert.write_config(os.path.join(root, "bert_config.json"), len(featurizer.load_vocab(vocab_file)),
                                    **({"hidden_act": "gelu_exact"} if gelu_exact else {}))
    if ner:
        data_dir = tiny_bert.write_ner_dataset(os.path.join(root, "data"), train=64, dev=8, test=8)
    elif multi_label:
        data_dir = tiny_bert.write_multi_label_dataset(os.path.join(root, "data"))
    else:
        data_dir = tiny_bert.write_sentiment_dataset(os.path.join(root, "data"), train=64, dev=8, test=8)
    files = {"vocab_file": vocab_file, "bert_config_file": config, "data_dir": data_dir}
    settings = dict(do_train=True, do_export=True, num_train_epochs=2.0, export_onnx=onnx)
    settings.update(NER_OPTIONS if ner else MULTI_LABEL_OPTIONS if multi_label else {})
    options = tiny_bert.run_options(files, os.path.join(root, "run"), **settings)
    summary = run(options, TokenClassification() if ner else None)
    path = summary["export"]["path"]
    label_row = [0] * options.max_seq_length if ner else [0] * len(tiny_bert.MULTI_LABELS) if multi_label else 0
    reference = write_reference(os.path.join(root, "reference.json"), path, vocab_file, options, label_row) if onnx else None
    result = {"export_base": os.path.dirname(path), "export_path": path, "vocab_file": vocab_file,
              "max_seq_length": options.max_seq_length, "onnx_dir": summary["export"].get("onnx"), "reference": reference}
    if multi_label:
        with open(os.path.join(options.output_dir, "test_predictions.tsv"), encoding="utf-8") as f:
            decided = [line.split("\t")[0] for line in f.read().splitlines()[1:]]
        result["test_texts"] = [text for _, text in tiny_bert.multi_label_rows(16, seed=23)]
        result["test_label_sets"] = [sorted(filter(None, labels.split(","))) for labels in decided]
    print(json.dumps(result))


REFERENCE_TEXTS = ["the movie was good", "awful film , i hate it", "zed lee went to jolo", "a", "good " * 30]


def write_reference(path, export_dir, vocab_file, options, label_row):
    """The SavedModel's `output` for a few featurized texts (long ones cut to the model's length)."""
    import numpy as np
    import tensorflow.compat.v1 as tf

    from featurizer import Featurizer, pad_batch
    from tf2_signature_run import run_signature

    featurizer = Featurizer(vocab_file, options.do_lower_case, options.max_seq_length)
    inputs = pad_batch(featurizer.encode_batch(REFERENCE_TEXTS), options.max_seq_length)
    inputs["label_ids"] = [label_row] * len(REFERENCE_TEXTS)
    output = run_signature(tf, export_dir, {name: np.asarray(value, np.int32) for name, value in inputs.items()})["output"]
    with open(path, "w") as f:
        json.dump({"inputs": inputs, "output": output.tolist()}, f)
    return path


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root")
    parser.add_argument("--ner", action="store_true", help="a token classifier instead of the sentiment classifier")
    parser.add_argument("--multi_label", action="store_true", help="a multi-label classifier instead")
    parser.add_argument("--onnx", action="store_true", help="also --export_onnx")
    parser.add_argument("--gelu_exact", action="store_true", help='"hidden_act": "gelu_exact" in bert_config.json')
    args = parser.parse_args()
    main(args.root, ner=args.ner, onnx=args.onnx, gelu_exact=args.gelu_exact, multi_label=args.multi_label)
