"""Texts/sec of the featurizer (pure Python and `tokenizers` fast path) vs the reference.

The reference is `bert.tokenization.FullTokenizer` plus the steps of
`run_classifier.convert_single_example`; it needs TensorFlow, so run this with
the Python 3.7 venv:

    .venv/bin/python -m bench.featurizer [--vocab VOCAB] [--data ../shared/data/sms_spam/train.tsv]

The default vocab is all-MiniLM-L6-v2's (uncased, 30,522 tokens), fetched and
converted once by `python -m pretrained fetch`.

Every method turns the same texts into padded input_ids/input_mask/segment_ids
in batches like the client sends, and all results are checked to be identical
before any figure is printed. "cold" is a fresh tokenizer per pass (empty
memo caches), "warm" a second pass over the same texts. Prints a table and
writes bench/results/featurizer.json.
"""

import argparse
import csv
import gc
import json
import os
import platform
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

from featurizer import Featurizer, pad_batch

DEFAULT_DATA = os.path.normpath(os.path.join(REPO, "..", "shared", "data", "sms_spam", "train.tsv"))


def read_texts(path):
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader)
        column = header.index("text")
        return [row[column] for row in reader]


def batches(texts, size):
    return [texts[i : i + size] for i in range(0, len(texts), size)]


def featurizer_pass(make, texts, batch_size, max_seq_length):
    featurizer = make()
    rows = []
    for batch in batches(texts, batch_size):
        rows.append(pad_batch(featurizer.encode_batch(batch), max_seq_length))
    return featurizer, rows


def reference_tokenization():
    """bert.tokenization (which imports TensorFlow), with the absl flags it reads per token parsed."""
    from absl import flags

    if not flags.FLAGS.is_parsed():
        flags.FLAGS([sys.argv[0]], known_only=True)
    from bert import tokenization

    return tokenization


def reference_tokenizer(vocab_file, do_lower_case):
    return reference_tokenization().FullTokenizer(vocab_file=vocab_file, do_lower_case=do_lower_case)


def reference_features(tokenizer, text, max_seq_length):
    # convert_single_example for a single text (bert.run_classifier cannot be
    # imported next to other absl flags, so its steps are repeated here).
    tokens_a = tokenizer.tokenize(text)[: max_seq_length - 2]
    tokens = ["[CLS]"] + tokens_a + ["[SEP]"]
    input_ids = tokenizer.convert_tokens_to_ids(tokens)
    input_mask = [1] * len(input_ids)
    segment_ids = [0] * len(input_ids)
    padding = [0] * (max_seq_length - len(input_ids))
    return input_ids + padding, input_mask + padding, segment_ids + padding


def reference_pass(vocab_file, texts, batch_size, max_seq_length):
    tokenizer = reference_tokenizer(vocab_file, True)
    rows = []
    for batch in batches(texts, batch_size):
        features = [reference_features(tokenizer, text, max_seq_length) for text in batch]
        rows.append({
            "input_ids": [f[0] for f in features],
            "input_mask": [f[1] for f in features],
            "segment_ids": [f[2] for f in features],
        })
    return tokenizer, rows


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def measure(name, cold_pass, warm_pass, texts, repeats):
    """Best-of-`repeats` seconds for a cold pass and for a warm second pass."""
    cold, warm, rows = [], [], None
    for _ in range(repeats):
        state = rows = None  # no pass runs with the previous pass's results still alive
        seconds, (state, rows) = timed(cold_pass)
        cold.append(seconds)
        if warm_pass is not None:
            warm.append(timed(lambda: warm_pass(state))[0])
    result = {"method": name, "texts": len(texts), "cold_seconds": min(cold), "cold_texts_per_sec": len(texts) / min(cold)}
    if warm:
        result.update(warm_seconds=min(warm), warm_texts_per_sec=len(texts) / min(warm))
    return result, rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vocab", help="uncased WordPiece vocab (default: all-MiniLM-L6-v2's, from `python -m pretrained fetch`)")
    parser.add_argument("--data", default=DEFAULT_DATA, help="TSV with a 'text' column (default: SMS train)")
    parser.add_argument("--max-seq-length", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=32, help="texts per encode_batch call, as the client sends")
    parser.add_argument("--repeats", type=int, default=3, help="passes per method; the best is reported")
    parser.add_argument("--output", default=os.path.join(HERE, "results", "featurizer.json"))
    args = parser.parse_args(argv)
    if not os.path.isfile(args.data):
        print("skipped: %s is not there (../shared is absent)" % args.data)
        return 0
    if not args.vocab:
        from pretrained.fetch import fetch

        args.vocab = fetch()["vocab_file"]

    texts = read_texts(args.data)
    # The reference imports TensorFlow; freeze its ~10^5 module objects out of the
    # collector's way so that neither method's timing pays for walking them.
    reference_tokenization()
    gc.freeze()
    length, size = args.max_seq_length, args.batch_size

    def featurizer_method(use_fast):
        make = lambda: Featurizer(args.vocab, True, length, use_fast=use_fast)  # noqa: E731
        cold = lambda: featurizer_pass(make, texts, size, length)  # noqa: E731
        warm = lambda f: [pad_batch(f.encode_batch(b), length) for b in batches(texts, size)]  # noqa: E731
        return cold, warm

    results = []
    reference, reference_rows = measure(
        "bert.tokenization.FullTokenizer (reference)",
        lambda: reference_pass(args.vocab, texts, size, length),
        lambda tokenizer: [[reference_features(tokenizer, t, length) for t in b] for b in batches(texts, size)],
        texts,
        args.repeats,
    )
    results.append(reference)
    # The reference's rows stay alive for the comparison: freeze them too, so the
    # collector does not walk them while the featurizer is timed (it did not walk
    # the featurizer's rows while the reference was timed).
    gc.collect()
    gc.freeze()
    for name, use_fast in (("featurizer, pure Python (client default)", False), ("featurizer, use_fast=True (tokenizers)", True)):
        cold, warm = featurizer_method(use_fast)
        result, rows = measure(name, cold, warm, texts, args.repeats)
        if rows != reference_rows:
            raise SystemExit("%s: features differ from the reference; figures not reported" % name)
        rows = None
        results.append(result)
    for result in results:
        result["cold_speedup_vs_reference"] = result["cold_texts_per_sec"] / reference["cold_texts_per_sec"]
        result["warm_speedup_vs_reference"] = result["warm_texts_per_sec"] / reference["warm_texts_per_sec"]

    print("%d texts from %s, vocab %s, max_seq_length %d, batches of %d, best of %d"
          % (len(texts), args.data, args.vocab, length, size, args.repeats))
    print("%-44s %12s %12s %8s %8s" % ("method", "cold text/s", "warm text/s", "x cold", "x warm"))
    for r in results:
        print("%-44s %12.0f %12.0f %8.2f %8.2f" % (
            r["method"], r["cold_texts_per_sec"], r["warm_texts_per_sec"],
            r["cold_speedup_vs_reference"], r["warm_speedup_vs_reference"]))

    try:
        import tokenizers
        tokenizers_version = tokenizers.__version__
    except ImportError:
        tokenizers_version = None
    report = {
        "command": " ".join([os.path.relpath(sys.executable, REPO) if sys.executable.startswith(REPO) else sys.executable] + sys.argv),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "tokenizers": tokenizers_version,
        "data": os.path.abspath(args.data),
        "vocab": os.path.abspath(args.vocab),
        "max_seq_length": length,
        "batch_size": size,
        "repeats": args.repeats,
        "results": results,
    }
    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    with open(args.output, "w") as f:
        json.dump(report, f, indent=2)
    print("wrote %s" % os.path.relpath(args.output))


if __name__ == "__main__":
    main()
