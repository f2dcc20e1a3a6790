"""Builds a tiny BERT export for tests that run outside the TF 1.15 venv.

    .venv/bin/python tests/helpers/build_tiny_export.py OUT_DIR [--ner] [--onnx] [--gelu_exact]

Fine-tunes the tiny random BERT for a few steps and exports it (`--ner`: a
token classifier on the tiny NER data; `--onnx`: with `--export_onnx`;
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


def main(root, ner=False, onnx=False, gelu_exact=False):
    import featurizer
    from bert_runner.run import run
    from bert_runner.token_classification import TokenClassification

    os.makedirs(root, exist_ok=True)
    vocab_file = tiny_bert.write_vocab(os.path.join(root, "vocab.txt"))
    config = tiny_bert.write_config(os.path.join(root, "bert_config.json"), len(featurizer.load_vocab(vocab_file)),
                                    **({"hidden_act": "gelu_exact"} if gelu_exact else {}))
    if ner:
        data_dir = tiny_bert.write_ner_dataset(os.path.join(root, "data"), train=64, dev=8, test=8)
    else:
        data_dir = tiny_bert.write_sentiment_dataset(os.path.join(root, "data"), train=64, dev=8, test=8)
    files = {"vocab_file": vocab_file, "bert_config_file": config, "data_dir": data_dir}
    options = tiny_bert.run_options(files, os.path.join(root, "run"), do_train=True, do_export=True, num_train_epochs=2.0,
                                    export_onnx=onnx, **(NER_OPTIONS if ner else {}))
    summary = run(options, TokenClassification() if ner else None)
    path = summary["export"]["path"]
    reference = write_reference(os.path.join(root, "reference.json"), path, vocab_file, options, ner) if onnx else None
    print(json.dumps({"export_base": os.path.dirname(path), "export_path": path, "vocab_file": vocab_file,
                      "max_seq_length": options.max_seq_length, "onnx_dir": summary["export"].get("onnx"),
                      "reference": reference}))


REFERENCE_TEXTS = ["the movie was good", "awful film , i hate it", "zed lee went to jolo", "a", "good " * 30]


def write_reference(path, export_dir, vocab_file, options, ner):
    """The SavedModel's `output` for a few featurized texts (long ones cut to the model's length)."""
    import numpy as np
    import tensorflow.compat.v1 as tf

    from featurizer import Featurizer, pad_batch
    from tf2_signature_run import run_signature

    featurizer = Featurizer(vocab_file, options.do_lower_case, options.max_seq_length)
    inputs = pad_batch(featurizer.encode_batch(REFERENCE_TEXTS), options.max_seq_length)
    rows, length = len(REFERENCE_TEXTS), options.max_seq_length
    inputs["label_ids"] = [[0] * length for _ in range(rows)] if ner else [0] * rows
    output = run_signature(tf, export_dir, {name: np.asarray(value, np.int32) for name, value in inputs.items()})["output"]
    with open(path, "w") as f:
        json.dump({"inputs": inputs, "output": output.tolist()}, f)
    return path


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root")
    parser.add_argument("--ner", action="store_true", help="a token classifier instead of the sentiment classifier")
    parser.add_argument("--onnx", action="store_true", help="also --export_onnx")
    parser.add_argument("--gelu_exact", action="store_true", help='"hidden_act": "gelu_exact" in bert_config.json')
    args = parser.parse_args()
    main(args.root, ner=args.ner, onnx=args.onnx, gelu_exact=args.gelu_exact)
