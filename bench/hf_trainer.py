"""Hugging Face's Trainer fine-tuning a sequence classifier: the PyTorch peer of bench/finetune.py.

Runs under .venv-torch (bench/torch_venv.py builds it); bench/finetune.py's `trainer` variant
starts it as its own process, as it starts the other runners:

    .venv-torch/bin/python bench/hf_trainer.py --hf_dir cache/pretrained/all-MiniLM-L6-v2/hf \\
        --data_dir ../shared/data/sms_spam [--train_file SUBSET.tsv] --output_dir OUT --max_steps 25

What a PyTorch user would write: AutoTokenizer and AutoModelForSequenceClassification from the
same all-MiniLM-L6-v2 files the bench converts (the classification head is new, and BERT's
classifier reads the pooled [CLS]), texts truncated to --max_seq_length, DataCollatorWithPadding
(each batch padded to its longest), and Trainer's defaults otherwise (AdamW, linear warm-up and
decay, shuffled batches) with the bench's batch size, learning rate, warm-up share, weight decay
0.01 (as Google's optimizer), steps and --threads intra-op threads. It writes what the bench
reads from every runner: a progress line per step in run_classifier.py's format, TRAIN_DONE when
Trainer.train returns, eval_results.txt (dev accuracy and loss) and test_results.tsv (class
probabilities per test row, columns in label_list.txt's order).

The helpers above main() need only the standard library (the bench's tests import them on
Python 3.7); main() imports torch and transformers.
"""

import argparse
import csv
import math
import os
import sys
import time

# Printed when Trainer.train returns: the end of the training phase for bench/finetune.py.
TRAIN_DONE = "training done"


def progress_line(step, total_steps, recent, overall):
    """A step's progress line in run_classifier.py's format (bert_runner/hooks.py), which the bench parses."""
    return "step %d/%d (%.0f%%)  %.1f examples/sec (%.1f overall)" % (
        step, total_steps, 100.0 * step / max(total_steps, 1), recent, overall)


def read_tsv(path, labels):
    """(texts, label ids) of a `label<TAB>text` file with a header row, as run_classifier's generic task reads it."""
    texts, ids = [], []
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        for line, row in enumerate(reader, start=2):
            if row.get("label") not in labels or row.get("text") is None:
                raise ValueError("%s line %d: expected a label of %s and a text, got %r"
                                 % (path, line, ",".join(labels), row))
            texts.append(row["text"])
            ids.append(labels.index(row["label"]))
    return texts, ids


def softmax(row):
    top = max(row)
    exps = [math.exp(value - top) for value in row]
    return [value / sum(exps) for value in exps]


def write_outputs(output_dir, labels, dev_logits, dev_labels, test_logits):
    """label_list.txt, eval_results.txt (accuracy and mean cross-entropy on dev) and test_results.tsv."""
    os.makedirs(output_dir, exist_ok=True)
    with open(os.path.join(output_dir, "label_list.txt"), "w", encoding="utf-8") as f:
        f.write("".join(label + "\n" for label in labels))
    dev = [softmax(row) for row in dev_logits]
    accuracy = sum(max(range(len(p)), key=p.__getitem__) == label for p, label in zip(dev, dev_labels)) / len(dev)
    loss = -sum(math.log(max(p[label], 1e-30)) for p, label in zip(dev, dev_labels)) / len(dev)
    with open(os.path.join(output_dir, "eval_results.txt"), "w", encoding="utf-8") as f:
        f.write("eval_accuracy = %.6f\neval_loss = %.6f\n" % (accuracy, loss))
    with open(os.path.join(output_dir, "test_results.tsv"), "w", encoding="utf-8") as f:
        for row in test_logits:
            f.write("\t".join("%.8f" % p for p in softmax(row)) + "\n")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hf_dir", required=True, help="config.json, model.safetensors, vocab.txt, tokenizer files")
    parser.add_argument("--data_dir", required=True, help="train.tsv, dev.tsv, test.tsv as label<TAB>text")
    parser.add_argument("--train_file", help="train on this file instead of DATA_DIR/train.tsv")
    parser.add_argument("--labels", default="ham,spam", help="label names in id order (default: %(default)s)")
    parser.add_argument("--output_dir", required=True)
    parser.add_argument("--max_seq_length", type=int, default=128)
    parser.add_argument("--train_batch_size", type=int, default=32)
    parser.add_argument("--eval_batch_size", type=int, default=32)
    parser.add_argument("--learning_rate", type=float, default=5e-5)
    parser.add_argument("--max_steps", type=int, required=True,
                        help="training steps (the bench's: int(rows / batch size * epochs), as both runners)")
    parser.add_argument("--warmup_proportion", type=float, default=0.1)
    parser.add_argument("--weight_decay", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="torch intra-op threads")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    os.environ["HF_HUB_OFFLINE"] = os.environ["TRANSFORMERS_OFFLINE"] = "1"  # local files only
    import torch
    import transformers

    torch.set_num_threads(args.threads)
    transformers.logging.set_verbosity_warning()
    labels = args.labels.split(",")
    tokenizer = transformers.AutoTokenizer.from_pretrained(args.hf_dir)

    def dataset(path):
        texts, ids = read_tsv(path, labels)
        encoded = tokenizer(texts, truncation=True, max_length=args.max_seq_length)
        rows = [{key: values[i] for key, values in encoded.items()} for i in range(len(texts))]
        for row, label in zip(rows, ids):
            row["labels"] = label
        return rows, ids

    train, _ = dataset(args.train_file or os.path.join(args.data_dir, "train.tsv"))
    dev, dev_labels = dataset(os.path.join(args.data_dir, "dev.tsv"))
    test, _ = dataset(os.path.join(args.data_dir, "test.tsv"))
    model = transformers.AutoModelForSequenceClassification.from_pretrained(
        args.hf_dir, num_labels=len(labels), id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)})
    settings = transformers.TrainingArguments(
        output_dir=os.path.join(args.output_dir, "trainer"), per_device_train_batch_size=args.train_batch_size,
        per_device_eval_batch_size=args.eval_batch_size, learning_rate=args.learning_rate, max_steps=args.max_steps,
        warmup_ratio=args.warmup_proportion, weight_decay=args.weight_decay, seed=args.seed, use_cpu=True,
        save_strategy="no", logging_strategy="no", report_to=[], disable_tqdm=True, dataloader_num_workers=0)
    trainer = transformers.Trainer(model=model, args=settings, train_dataset=train,
                                   data_collator=transformers.DataCollatorWithPadding(tokenizer),
                                   callbacks=[progress_callback(args.train_batch_size)])
    print("training: %d examples, batch size %d, %d steps, torch %s, transformers %s, %d threads"
          % (len(train), args.train_batch_size, args.max_steps, torch.__version__, transformers.__version__,
             torch.get_num_threads()), flush=True)
    trainer.train()
    print(TRAIN_DONE, flush=True)
    dev_logits = trainer.predict(dev).predictions
    test_logits = trainer.predict(test).predictions
    write_outputs(args.output_dir, labels, dev_logits.tolist(), dev_labels, test_logits.tolist())
    print("wrote %s" % os.path.join(args.output_dir, "test_results.tsv"), flush=True)
    return 0


def progress_callback(batch_size):
    """A TrainerCallback that prints progress_line after every optimizer step."""
    from transformers import TrainerCallback

    class Progress(TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):
            self.start = self.last = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            now = time.perf_counter()
            print(progress_line(state.global_step, state.max_steps, batch_size / max(now - self.last, 1e-9),
                                state.global_step * batch_size / max(now - self.start, 1e-9)), flush=True)
            self.last = now

    return Progress()


if __name__ == "__main__":
    sys.exit(main())
