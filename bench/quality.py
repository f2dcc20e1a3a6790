"""Model quality on the SMS spam split: fine-tuned all-MiniLM-L6-v2 vs TF-IDF baselines.

    .venv/bin/python -m bench.quality            # full run: 3 epochs, 5-15 min on 2 shared cores
    .venv/bin/python -m bench.quality --quick    # smoke run, ~2 min: 0.25 epoch, figures not meaningful

All models learn from the same train.tsv and are scored on the same dev.tsv
and test.tsv of ../shared/data/sms_spam, plus the deduplicated test subset
(test rows whose exact text is not in train.tsv: the data set repeats
messages, and a repeated message can be recalled rather than classified).
The fine-tune goes through the project's own runner (`bert_runner.run.run`),
so the figures are those of the pipeline users run.

Two baselines, both TF-IDF + logistic regression from scikit-learn:
"TF-IDF" at scikit-learn's defaults (C=1), the anchor of the quality issue
(about 98.0% accuracy, spam F1 0.92), and "TF-IDF cv" with C picked by 5-fold
cross-validation on train.tsv, i.e. the baseline with the same care in tuning
a user would give it. Neither looks at dev or test to choose anything.

Prints a table per split (each model, and BERT minus each baseline) with wall
times, and writes bench/results/quality.json (raw numbers, misclassified test
rows, the loss curve), quality_confusion_matrices.png and
quality_training_loss.png. Skips with a message when ../shared is absent.
"""

import argparse
import csv
import glob
import json
import logging
import os
import platform
import re
import shutil
import sys
import tempfile
import time
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

from bert_runner.metrics import format_confusion, scores  # noqa: E402  (TF-free)
from bert_runner.tasks import GenericTask  # noqa: E402  (TF-free)

DEFAULT_DATA_DIR = os.path.normpath(os.path.join(REPO, "..", "shared", "data", "sms_spam"))
DEFAULT_RESULTS_DIR = os.path.join(HERE, "results")
LABELS = ["ham", "spam"]
POSITIVE = "spam"
# From the quality issue, on the full test split.
TARGETS = {"accuracy": 0.99, "spam_f1": 0.96}
QUICK_EPOCHS = 0.25
# Model keys, in table order; the first is compared with each of the others.
MODELS = (("bert", "BERT"), ("tfidf", "TF-IDF"), ("tfidf_cv", "TF-IDF cv"))
SPLITS = (("dev", "dev"), ("test", "test"), ("test_dedup", "test, deduplicated (text not in train)"))
BASELINE_CS = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0, 1000.0)

log = logging.getLogger("bench.quality")


# ---------------------------------------------------------------- pure helpers


def read_split(data_dir: str, split: str) -> Tuple[List[str], List[str]]:
    """(texts, labels) of one split, read by the runner's own generic-task reader."""
    examples = GenericTask(data_dir, labels=LABELS).get_examples(split)
    return [e.text_a for e in examples], [e.label for e in examples]


def unseen_mask(texts: Sequence[str], seen: Sequence[str]) -> List[bool]:
    """True for each text that does not occur (exactly) in `seen`."""
    seen_set = set(seen)
    return [text not in seen_set for text in texts]


def select(items: Sequence, mask: Sequence[bool]) -> list:
    return [item for item, keep in zip(items, mask) if keep]


def score(true_labels: Sequence[str], predicted: Sequence[str], labels: Sequence[str] = LABELS) -> Dict:
    """The runner's score report (accuracy, per-class P/R/F1, MCC, confusion) for label lists."""
    from sklearn.metrics import confusion_matrix

    return scores(confusion_matrix(true_labels, predicted, labels=list(labels)).tolist(), labels)


def headline(report: Dict, positive: str = POSITIVE) -> Dict[str, float]:
    """The figures the issue asks about, from a `score` report."""
    spam = report["per_class"][positive]
    errors = report["num_examples"] - sum(report["confusion_matrix"][i][i] for i in range(len(report["labels"])))
    return {
        "accuracy": report["accuracy"],
        "spam_precision": spam["precision"],
        "spam_recall": spam["recall"],
        "spam_f1": spam["f1"],
        "mcc": report["mcc"],
        "errors": errors,
    }


ROW_NAMES = (
    ("accuracy", "accuracy"),
    ("spam_precision", "spam precision"),
    ("spam_recall", "spam recall"),
    ("spam_f1", "spam F1"),
    ("mcc", "MCC"),
    ("errors", "errors"),
)


def difference(model: Dict[str, float], baseline: Dict[str, float]) -> Dict[str, float]:
    """model - baseline for every headline figure."""
    return {key: model[key] - baseline[key] for key in model}


def format_table(title: str, columns: Sequence[Tuple[str, Dict[str, float]]]) -> str:
    """Headline figures of each model; after each model but the first, "diff" = first - that one."""
    header = ["%-16s" % "", "%10s" % columns[0][0]]
    for name, _ in columns[1:]:
        header += ["%10s" % name, "%10s" % "diff"]
    lines = [title, " ".join(header)]
    reference = columns[0][1]
    for key, label in ROW_NAMES:
        value, signed = ("%10d", "%+10d") if key == "errors" else ("%10.4f", "%+10.4f")
        cells = ["%-16s" % label, value % reference[key]]
        for _, figures in columns[1:]:
            cells += [value % figures[key], signed % (reference[key] - figures[key])]
        lines.append(" ".join(cells))
    return "\n".join(lines)


def side_by_side(blocks: Sequence[str], gap: int = 6) -> str:
    """Text blocks next to each other (for the confusion matrices)."""
    split = [block.split("\n") for block in blocks]
    rows = max(len(lines) for lines in split)
    widths = [max(len(line) for line in lines) + gap for lines in split]
    out = []
    for i in range(rows):
        cells = [(lines[i] if i < len(lines) else "").ljust(width) for lines, width in zip(split, widths)]
        out.append("".join(cells).rstrip())
    return "\n".join(out)


PROGRESS_LINE = re.compile(r"^step (\d+)/\d+\b.*?\bloss (\S+)")


def parse_progress_loss(message: str) -> Optional[Tuple[int, float]]:
    """(step, loss) from one of the runner's training progress lines, else None."""
    match = PROGRESS_LINE.match(message)
    if not match:
        return None
    try:
        return int(match.group(1)), float(match.group(2))
    except ValueError:
        return None


def targets_met(test: Dict[str, float]) -> Dict[str, bool]:
    return {key: test[key] >= minimum for key, minimum in TARGETS.items()}


# ---------------------------------------------------------------- the models


class Predictions(NamedTuple):
    """One model's labels and spam probabilities for the rows of a split."""

    labels: List[str]
    spam_probability: List[float]


def baseline_pipeline(c: float = 1.0):
    """TF-IDF + logistic regression, scikit-learn defaults but for C."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    return make_pipeline(TfidfVectorizer(), LogisticRegression(C=c, max_iter=1000))


def fit_tuned_baseline(texts: List[str], labels: List[str]):
    """The baseline with C picked by 5-fold cross-validation on train for spam F1 (refit on all of train)."""
    from sklearn.metrics import f1_score, make_scorer
    from sklearn.model_selection import GridSearchCV

    search = GridSearchCV(
        baseline_pipeline(),
        {"logisticregression__C": list(BASELINE_CS)},
        scoring=make_scorer(f1_score, pos_label=POSITIVE),
        cv=5,
    )
    return search.fit(texts, labels)


def baseline_predictions(model, texts: List[str]) -> Predictions:
    spam_column = list(model.classes_).index(POSITIVE)
    return Predictions(list(model.predict(texts)), [float(p[spam_column]) for p in model.predict_proba(texts)])


def read_runner_predictions(path: str) -> Predictions:
    """test_predictions.tsv of the runner: `prediction<TAB>ham<TAB>spam` per test row."""
    with open(path, encoding="utf-8", newline="") as f:
        reader = csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader)
        spam_column = header.index(POSITIVE)
        rows = list(reader)
    return Predictions([row[0] for row in rows], [float(row[spam_column]) for row in rows])


def run_options(args, model_dir: str, pretrained: Dict, **actions):
    from bert_runner.options import RunOptions

    return RunOptions(
        task_name="generic",
        data_dir=args.data_dir,
        labels=list(LABELS),
        output_dir=model_dir,
        bert_config_file=pretrained["bert_config_file"],
        vocab_file=pretrained["vocab_file"],
        init_checkpoint=pretrained["init_checkpoint"],
        do_lower_case=bool(pretrained.get("do_lower_case", True)),
        max_seq_length=args.max_seq_length,
        dynamic_padding=True,
        train_batch_size=args.batch_size,
        eval_batch_size=args.eval_batch_size,
        predict_batch_size=args.eval_batch_size,
        learning_rate=args.learning_rate,
        num_train_epochs=args.epochs,
        warmup_proportion=args.warmup,
        seed=args.seed,
        log_every_steps=args.log_every_steps,
        keep_checkpoint_max=1,
        **actions
    )


class LossRecorder(logging.Handler):
    """Collects (step, loss) from the runner's progress lines while training runs.

    The runner may log the last step twice (the second line at 0 examples/sec);
    the first line of a step is kept.
    """

    def __init__(self):
        super().__init__(level=logging.INFO)
        self.points = []  # type: List[Tuple[int, float]]

    def emit(self, record):
        point = parse_progress_loss(record.getMessage())
        if point and not (self.points and self.points[-1][0] == point[0]):
            self.points.append(point)


# The estimator's scalar is named "loss", but the model's `loss` variable scope already
# holds that name in the graph, so TensorFlow writes it as "loss_1".
LOSS_TAG = re.compile(r"^loss(_\d+)?$")


def event_file_losses(model_dir: str) -> List[Tuple[int, float]]:
    """(step, loss) from the estimator's training summaries (every save_summary_steps=100)."""
    import tensorflow.compat.v1 as tf

    points = {}
    for path in sorted(glob.glob(os.path.join(model_dir, "events.out.tfevents.*"))):
        for event in tf.train.summary_iterator(path):
            for value in event.summary.value:
                if LOSS_TAG.match(value.tag):
                    points[int(event.step)] = float(value.simple_value)
    return sorted(points.items())


# ---------------------------------------------------------------- plots


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def write_confusion_png(path: str, panels: Sequence[Tuple[str, Dict]], columns: int = 3) -> None:
    """A grid of confusion matrices (`score` reports), filled row by row."""
    import numpy as np
    from sklearn.metrics import ConfusionMatrixDisplay

    plt = _pyplot()
    rows = (len(panels) + columns - 1) // columns
    figure, axes = plt.subplots(rows, columns, figsize=(4.0 * columns, 3.8 * rows), squeeze=False)
    for ax, (title, report) in zip(axes.flat, panels):
        display = ConfusionMatrixDisplay(np.array(report["confusion_matrix"]), display_labels=report["labels"])
        display.plot(ax=ax, cmap="Blues", colorbar=False, values_format="d")
        ax.set_title(title, fontsize=9)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def write_loss_png(path: str, logged, summaries, steps_per_epoch: float, title: str) -> None:
    """Training loss per step from both sources, epoch boundaries dotted."""
    plt = _pyplot()
    figure, ax = plt.subplots(figsize=(7.5, 4.2))
    if logged:
        ax.plot([s for s, _ in logged], [v for _, v in logged], "-", lw=1, color="tab:blue",
                label="batch loss, runner progress log")
    if summaries:
        ax.plot([s for s, _ in summaries], [v for _, v in summaries], "o", color="tab:red",
                label="batch loss, estimator summary")
    last = max([s for s, _ in list(logged) + list(summaries)] or [0])
    epoch = 1
    while steps_per_epoch > 0 and epoch * steps_per_epoch < last:
        ax.axvline(epoch * steps_per_epoch, color="grey", ls=":", lw=1)
        epoch += 1
    ax.set_xlabel("training step (dotted: epoch boundaries)")
    ax.set_ylabel("cross-entropy loss")
    ax.set_yscale("log")
    ax.set_title(title, fontsize=10)
    ax.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


# ---------------------------------------------------------------- the run


def misclassified(texts, labels, predictions: Predictions, unseen) -> List[Dict]:
    return [
        {"row": i, "label": label, "predicted": predicted, "spam_probability": round(p, 6),
         "text_in_train": not new, "text": text}
        for i, (text, label, predicted, p, new) in enumerate(
            zip(texts, labels, predictions.labels, predictions.spam_probability, unseen))
        if predicted != label
    ]


class Timer:
    """Wall time of each part, in the order they ran."""

    def __init__(self):
        self.seconds = {}  # type: Dict[str, float]

    def __call__(self, name, fn, *args, **kwargs):
        log.info("== %s", name)
        start = time.perf_counter()
        result = fn(*args, **kwargs)
        self.seconds[name] = time.perf_counter() - start
        log.info("== %s: %.1f s", name, self.seconds[name])
        return result


def _run(args, timer: Timer, model_dir: str) -> Dict:
    from bert_runner.run import run
    from pretrained.fetch import fetch

    (train_texts, train_labels), (dev_texts, dev_labels), (test_texts, test_labels) = (
        read_split(args.data_dir, split) for split in ("train", "dev", "test"))
    unseen = unseen_mask(test_texts, train_texts)
    log.info("train %d, dev %d, test %d rows (%d test rows not in train)",
             len(train_texts), len(dev_texts), len(test_texts), sum(unseen))

    tfidf = timer("TF-IDF: fit (C=1)", lambda: baseline_pipeline().fit(train_texts, train_labels))
    search = timer("TF-IDF cv: fit (5-fold CV over C on train, then refit)", fit_tuned_baseline, train_texts, train_labels)
    predictions = timer("TF-IDF, TF-IDF cv: predict dev + test", lambda: {
        name: {"dev": baseline_predictions(model, dev_texts), "test": baseline_predictions(model, test_texts)}
        for name, model in (("tfidf", tfidf), ("tfidf_cv", search))})

    pretrained = timer("BERT: pretrained checkpoint (python -m pretrained fetch)", fetch)
    recorder = LossRecorder()
    logging.getLogger("bert_runner").addHandler(recorder)
    try:
        train = timer("BERT: fine-tune (featurize + train)", run, run_options(args, model_dir, pretrained, do_train=True))["train"]
    finally:
        logging.getLogger("bert_runner").removeHandler(recorder)
    bert_dev = timer("BERT: evaluate dev", run, run_options(args, model_dir, pretrained, do_eval=True))["eval"]
    predicted = timer("BERT: predict test", run, run_options(args, model_dir, pretrained, do_predict=True))["predict"]
    # The runner checked that there is one prediction per test row.
    predictions["bert"] = {"test": read_runner_predictions(predicted["predictions_file"])}

    reports = {}
    for name, _ in MODELS:
        test = predictions[name]["test"].labels
        reports[name] = {
            "dev": bert_dev if name == "bert" else score(dev_labels, predictions[name]["dev"].labels),
            "test": score(test_labels, test),
            "test_dedup": score(select(test_labels, unseen), select(test, unseen)),
        }
    figures = {split: {name: headline(reports[name][split]) for name, _ in MODELS} for split, _ in SPLITS}
    bert = {
        "pretrained": pretrained.get("origin"),
        "init_checkpoint": pretrained["init_checkpoint"],
        "num_train_epochs": args.epochs,
        "train_steps": train["steps"],
        "learning_rate": args.learning_rate,
        "train_batch_size": args.batch_size,
        "eval_batch_size": args.eval_batch_size,
        "max_seq_length": args.max_seq_length,
        "dynamic_padding": True,
        "warmup_proportion": args.warmup,
        "seed": args.seed,
        "quick": args.quick,
    }
    best_c = search.best_params_["logisticregression__C"]
    return {
        "settings": {
            "data_dir": os.path.abspath(args.data_dir),
            "rows": {"train": len(train_texts), "dev": len(dev_texts), "test": len(test_texts), "test_dedup": sum(unseen)},
            "bert": bert,
            "tfidf": "TfidfVectorizer() + LogisticRegression(C=1, max_iter=1000)",
            "tfidf_cv": "TfidfVectorizer() + LogisticRegression(C=%g, max_iter=1000)" % best_c,
            "tfidf_cv_search": {"C": list(BASELINE_CS), "cv": 5, "scoring": "spam F1",
                                "mean_cv_f1": [float(v) for v in search.cv_results_["mean_test_score"]], "best_C": best_c},
        },
        "reports": reports,
        "headline": figures,
        "difference": {split: {name: difference(figures[split]["bert"], figures[split][name]) for name, _ in MODELS[1:]}
                       for split, _ in SPLITS},
        "targets": {"minimum": TARGETS, "met_on_test": {name: targets_met(figures["test"][name]) for name, _ in MODELS}},
        "training": {
            "examples_per_sec": train["examples_per_sec"],
            "steps_per_epoch": len(train_texts) / float(args.batch_size),
            "loss_logged": recorder.points,
            "loss_summaries": event_file_losses(model_dir),
        },
        "misclassified_test": {name: misclassified(test_texts, test_labels, predictions[name]["test"], unseen)
                               for name, _ in MODELS},
        "wall_seconds": dict(timer.seconds),
    }


# ---------------------------------------------------------------- output


def _print_report(results: Dict) -> None:
    settings = results["settings"]
    bert = settings["bert"]
    print()
    print("BERT:      %s, %g epochs (%d steps), lr %g, batch %d, max_seq_length %d (dynamic padding), warm-up %g, seed %s"
          % (bert["pretrained"], bert["num_train_epochs"], bert["train_steps"], bert["learning_rate"],
             bert["train_batch_size"], bert["max_seq_length"], bert["warmup_proportion"], bert["seed"]))
    print("TF-IDF:    %s (scikit-learn defaults; the issue's anchor)" % settings["tfidf"])
    print("TF-IDF cv: %s (C from %s by 5-fold CV on train, spam F1)"
          % (settings["tfidf_cv"], ", ".join("%g" % c for c in BASELINE_CS)))
    print("diff:      BERT minus the model on its left")
    names = dict(MODELS)
    for split, title in SPLITS:
        bert_report = results["reports"]["bert"][split]
        print()
        print(format_table("== %s: %d rows, %d spam" % (title, bert_report["num_examples"],
                                                         bert_report["per_class"][POSITIVE]["support"]),
                           [(names[name], results["headline"][split][name]) for name, _ in MODELS]))
        print()
        print(side_by_side([
            names[name] + "\n" + format_confusion(results["reports"][name][split]["confusion_matrix"], LABELS)
            for name, _ in MODELS]))
    print()
    print("targets on test: accuracy >= %.2f, spam F1 >= %.2f" % (TARGETS["accuracy"], TARGETS["spam_f1"]))
    for name, met in results["targets"]["met_on_test"].items():
        print("  %-10s %s" % (names[name], "met" if all(met.values()) else
                              "NOT met (%s)" % ", ".join(key for key, ok in met.items() if not ok)))
    print()
    print("wall time:")
    for name, seconds in results["wall_seconds"].items():
        print("  %-58s %8.1f s" % (name, seconds))
    speed = results["training"]["examples_per_sec"]
    if speed:
        print("  BERT training speed: %.1f examples/sec" % speed)


def _write_outputs(args, results: Dict) -> None:
    os.makedirs(args.results_dir, exist_ok=True)
    confusion_png = os.path.join(args.results_dir, "quality_confusion_matrices.png")
    loss_png = os.path.join(args.results_dir, "quality_training_loss.png")
    names = dict(MODELS)
    titles = dict(SPLITS)
    panels = []
    for split in ("test", "test_dedup"):
        for name, _ in MODELS:
            figures = results["headline"][split][name]
            panels.append(("%s, %s\naccuracy %.4f, spam F1 %.4f" % (names[name], titles[split], figures["accuracy"],
                                                                    figures["spam_f1"]),
                           results["reports"][name][split]))
    write_confusion_png(confusion_png, panels, columns=len(MODELS))
    bert = results["settings"]["bert"]
    training = results["training"]
    write_loss_png(loss_png, training["loss_logged"], training["loss_summaries"], training["steps_per_epoch"],
                   "fine-tuning %s: lr %g, batch %d, %g epochs" % (bert["pretrained"], bert["learning_rate"],
                                                                  bert["train_batch_size"], bert["num_train_epochs"]))
    import sklearn
    import tensorflow

    results["files"] = {"confusion_matrices": confusion_png, "training_loss": loss_png}
    results["environment"] = {"python": platform.python_version(), "tensorflow": tensorflow.__version__,
                              "scikit_learn": sklearn.__version__, "cpus": os.cpu_count()}
    results["command"] = " ".join([sys.executable] + sys.argv)
    path = os.path.join(args.results_dir, "quality.json")
    with open(path, "w") as f:
        json.dump(results, f, indent=2)
        f.write("\n")
    print("wrote %s" % ", ".join(_shown(p) for p in (path, confusion_png, loss_png)))


def _shown(path: str) -> str:
    """A path relative to the current directory when it lies below it."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


# ---------------------------------------------------------------- main


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data_dir", default=DEFAULT_DATA_DIR,
                        help="holds train.tsv, dev.tsv and test.tsv, label<TAB>text (default: %(default)s)")
    parser.add_argument("--results_dir", default=DEFAULT_RESULTS_DIR,
                        help="where quality.json and the PNGs go (default: %(default)s)")
    parser.add_argument("--model_dir", help="keep the fine-tuned model here (must hold no checkpoint); "
                        "default: a temporary directory, deleted at the end")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run of the whole benchmark: %g epoch (unless --num_train_epochs is given); "
                        "its figures say nothing about quality" % QUICK_EPOCHS)
    parser.add_argument("--num_train_epochs", dest="epochs", type=float, help="default: 3, or %g with --quick" % QUICK_EPOCHS)
    parser.add_argument("--learning_rate", type=float, default=1e-4, help="peak Adam learning rate (default: %(default)g)")
    parser.add_argument("--train_batch_size", dest="batch_size", type=int, default=32, help="(default: %(default)s)")
    parser.add_argument("--eval_batch_size", type=int, default=32, help="for dev and test (default: %(default)s)")
    parser.add_argument("--max_seq_length", type=int, default=128,
                        help="batches are padded only to their longest text (default: %(default)s)")
    parser.add_argument("--warmup_proportion", dest="warmup", type=float, default=0.1, help="(default: %(default)s)")
    parser.add_argument("--seed", type=int, default=1, help="weights init and shuffling (default: %(default)s)")
    parser.add_argument("--log_every_steps", type=int, default=10,
                        help="progress lines; also the points of the loss curve (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.epochs is None:
        args.epochs = QUICK_EPOCHS if args.quick else 3.0
    return args, parser


def console_logging(bench_logger: str = "bench.quality") -> None:
    """Progress (the benchmark's, the runner's examples/sec) on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S"))
    for name in (bench_logger, "bert_runner", "pretrained"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.INFO)
        logger.addHandler(handler)
        logger.propagate = False


def sms_split_present(data_dir: str, parser: argparse.ArgumentParser) -> bool:
    """False (after saying so) when the default split is absent; a bad --data_dir is a usage error."""
    if all(os.path.isfile(os.path.join(data_dir, s + ".tsv")) for s in ("train", "dev", "test")):
        return True
    if data_dir == parser.get_default("data_dir"):
        print("skipped: the SMS spam split is not at %s (the ../shared checkout is absent); "
              "pass --data_dir to use another copy" % data_dir)
        return False
    parser.error("--data_dir=%s must hold train.tsv, dev.tsv and test.tsv" % data_dir)


def main(argv=None) -> int:
    args, parser = parse_args(argv)
    if not sms_split_present(args.data_dir, parser):
        return 0
    if args.model_dir and os.path.exists(os.path.join(args.model_dir, "checkpoint")):
        parser.error("--model_dir=%s already holds a checkpoint; the estimator would resume from it "
                     "instead of fine-tuning from the pretrained weights" % args.model_dir)

    console_logging()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow.compat.v1 as tf

    tf.logging.set_verbosity(tf.logging.ERROR)  # TF 1.15 deprecation notices on every graph build

    from bert_runner.errors import RunnerError
    from pretrained.errors import PretrainedError

    timer = Timer()
    started = time.perf_counter()
    model_dir = args.model_dir or tempfile.mkdtemp(prefix="bench-quality-")
    try:
        results = _run(args, timer, model_dir)
    except (RunnerError, PretrainedError) as e:
        print("error: %s" % e, file=sys.stderr)
        return 1
    finally:
        if not args.model_dir:
            shutil.rmtree(model_dir, ignore_errors=True)
    results["wall_seconds"]["total"] = time.perf_counter() - started
    _print_report(results)
    _write_outputs(args, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
