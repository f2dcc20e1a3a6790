"""Training batch composition on SMS spam, without training: padding and label mix per batching scheme.

    .venv/bin/python -m bench.length_batches            # ~1 min quiet: every scheme, 5 epochs each
    .venv/bin/python -m bench.length_batches --train_examples 800 --seed 3   # the quick bench's rows

Runs the real training input pipeline (`bert_runner.records.length_aware_batches`) over the
featurized train split for several chunk sizes K (batches per length-sorted chunk; K=1 is a
plain shuffle padded to each batch's longest), and, for comparison, the length buckets
(`tf.data.experimental.bucket_by_sequence_length`, 8 tokens wide up to 64) that training used
before. For each: the mean padded length of a batch (what a step costs), the spread of the
spam share of single batches and of windows of 8 consecutive steps around the data's share,
and the spam share of the first `--steps` steps (a short fine-tune sees only those).
Writes bench/results/length_batches.json. Skips with a message when ../shared is absent.
"""

import argparse
import json
import os
import statistics
import sys
from typing import Dict, List, Sequence

from bench.finetune import REPO, stratified_subset
from bench.quality import DEFAULT_DATA_DIR, DEFAULT_RESULTS_DIR, POSITIVE, _shown, read_split, sms_split_present

CHUNK_SIZES = (1, 2, 4, 8, 16, 32, 64)
OLD_BUCKETS = [8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112]  # the boundaries training used before, at length 128
WINDOW = 8


def batch_stream(lengths: Sequence[int], labels: Sequence[int], scheme, batch_size: int, epochs: int, seed: int):
    """The batches (example indices) a scheme makes over `epochs` epochs: K (int) or "buckets"."""
    import numpy as np
    import tensorflow.compat.v1 as tf

    from bert_runner import records

    shapes = {"input_ids": [None], "example_id": []}

    def build():
        ids = tf.data.Dataset.range(len(lengths))
        lengths_t = tf.constant(list(lengths), tf.int64)
        dataset = ids.shuffle(len(lengths), seed=seed).map(
            lambda i: {"input_ids": tf.ones([lengths_t[i]], tf.int32), "example_id": i})
        if scheme == "buckets":
            return dataset.repeat(epochs).apply(tf.data.experimental.bucket_by_sequence_length(
                lambda f: tf.shape(f["input_ids"])[0], OLD_BUCKETS, [batch_size] * (len(OLD_BUCKETS) + 1),
                padded_shapes=shapes, drop_remainder=True))
        return records.length_aware_batches(dataset, batch_size, shapes, scheme, drop_remainder=True,
                                            seed=seed).repeat(epochs)

    batches = []
    with tf.Graph().as_default():
        element = tf.data.make_one_shot_iterator(build()).get_next()
        with tf.Session() as session:
            while True:
                try:
                    batch = session.run(element)
                except tf.errors.OutOfRangeError:
                    break
                batches.append((batch["input_ids"].shape[1], np.asarray(batch["example_id"]).tolist()))
    return batches


def composition(batches, labels: Sequence[int], batch_size: int, steps: int) -> Dict:
    share = sum(labels) / float(len(labels))
    batch_shares = [sum(labels[i] for i in ids) / float(len(ids)) for _, ids in batches]
    windows = [statistics.mean(batch_shares[i : i + WINDOW]) for i in range(0, len(batches) - WINDOW + 1, WINDOW)]
    first = [i for _, ids in batches[:steps] for i in ids]
    return {
        "mean_padded_length": statistics.mean(width for width, _ in batches),
        "batch_share_sd": statistics.pstdev(batch_shares, share),
        "batches_without_positive": sum(1 for s in batch_shares if s == 0) / float(len(batches)),
        "window_share_sd": statistics.pstdev(windows, share) if windows else None,
        "window_share_max_gap": max(abs(w - share) for w in windows) if windows else None,
        "first_steps_share": sum(labels[i] for i in first) / float(len(first)),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data_dir", default=DEFAULT_DATA_DIR, help="(default: %(default)s)")
    parser.add_argument("--results_dir", default=DEFAULT_RESULTS_DIR, help="(default: %(default)s)")
    parser.add_argument("--train_examples", type=int, help="stratified subset of train, as bench/finetune.py's quick run")
    parser.add_argument("--seed", type=int, default=1, help="subset and shuffling (default: %(default)s)")
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--max_seq_length", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--steps", type=int, default=25, help="a short fine-tune's steps (default: %(default)s)")
    parser.add_argument("--vocab_file", default=os.path.join(REPO, "cache", "pretrained", "all-MiniLM-L6-v2", "vocab.txt"))
    args = parser.parse_args(argv)
    if not sms_split_present(args.data_dir, parser):
        return 0
    from featurizer import Featurizer

    texts, names = read_split(args.data_dir, "train")
    if args.train_examples and args.train_examples < len(texts):
        rows = stratified_subset(names, args.train_examples, args.seed)
        texts, names = [texts[i] for i in rows], [names[i] for i in rows]
    featurizer = Featurizer(args.vocab_file, True, args.max_seq_length)
    lengths = [len(e.input_ids) for e in featurizer.encode_batch(texts, [None] * len(texts))]
    labels = [int(name == POSITIVE) for name in names]
    schemes = list(CHUNK_SIZES) + ["buckets"]  # type: List
    results = {}
    print("%d rows, %.1f%% spam, mean length %.1f tokens (spam %.1f, ham %.1f); batch %d, %d epochs"
          % (len(labels), 100.0 * statistics.mean(labels), statistics.mean(lengths),
             statistics.mean(l for l, y in zip(lengths, labels) if y), statistics.mean(l for l, y in zip(lengths, labels) if not y),
             args.batch_size, args.epochs))
    print("| scheme | mean padded length | spam share sd, one batch | batches without spam | spam share sd, "
          "%d steps | largest gap, %d steps | spam share, first %d steps |" % (WINDOW, WINDOW, args.steps))
    print("|---|---:|---:|---:|---:|---:|---:|")
    for scheme in schemes:
        figures = composition(batch_stream(lengths, labels, scheme, args.batch_size, args.epochs, args.seed),
                              labels, args.batch_size, args.steps)
        name = "length buckets (before)" if scheme == "buckets" else "chunks of K=%d" % scheme
        results[str(scheme)] = figures
        print("| %s | %.1f | %.3f | %.2f | %.3f | %.3f | %.3f |" % (
            name, figures["mean_padded_length"], figures["batch_share_sd"], figures["batches_without_positive"],
            figures["window_share_sd"], figures["window_share_max_gap"], figures["first_steps_share"]))
    print("fixed padding: %d; data's spam share %.3f" % (args.max_seq_length, statistics.mean(labels)))
    os.makedirs(args.results_dir, exist_ok=True)
    path = os.path.join(args.results_dir, "length_batches.json")
    with open(path, "w") as f:
        json.dump({"settings": vars(args), "rows": len(labels), "spam_share": statistics.mean(labels),
                   "schemes": results}, f, indent=2)
        f.write("\n")
    print("wrote %s" % _shown(path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
