"""Builds a tiny BERT export for tests that run outside the TF 1.15 venv.

    .venv/bin/python tests/helpers/build_tiny_export.py OUT_DIR

Fine-tunes the tiny random BERT for a few steps and exports it; prints one
JSON line: {"export_base": ..., "export_path": ..., "vocab_file": ..., "max_seq_length": ...}.
"""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))

import tiny_bert  # noqa: E402


def main(root):
    import featurizer
    from bert_runner.run import run

    os.makedirs(root, exist_ok=True)
    vocab_file = tiny_bert.write_vocab(os.path.join(root, "vocab.txt"))
    config = tiny_bert.write_config(os.path.join(root, "bert_config.json"), len(featurizer.load_vocab(vocab_file)))
    data_dir = tiny_bert.write_sentiment_dataset(os.path.join(root, "data"), train=64, dev=8, test=8)
    files = {"vocab_file": vocab_file, "bert_config_file": config, "data_dir": data_dir}
    options = tiny_bert.run_options(files, os.path.join(root, "run"), do_train=True, do_export=True, num_train_epochs=2.0)
    summary = run(options)
    path = summary["export"]["path"]
    print(json.dumps({"export_base": os.path.dirname(path), "export_path": path, "vocab_file": vocab_file,
                      "max_seq_length": options.max_seq_length}))


if __name__ == "__main__":
    main(sys.argv[1])
