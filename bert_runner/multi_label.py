"""Multi-label classification: any number of labels per text (GoEmotions' 28 emotions, ticket tags).

Selected by `run_classifier.py --task_name=multilabel` (a TSV/CSV with a header
row, the label column holding comma-separated label names, possibly none) or
`--task_name=goemotions` (GoEmotions' own files: text, comma-separated label ids,
comment id, no header; names from `labels.txt` in `--data_dir`).

A record holds the featurizer's ids and a multi-hot `label_ids` vector of
`num_labels` (`label_spec.MULTI_HOT`). The head is the reference classifier's
pooled [CLS] -> dropout -> linear layer (same variable names) with one sigmoid
per label, and binary cross-entropy averaged over labels and rows (as Google's
GoEmotions baseline and `transformers`' `BCEWithLogitsLoss`); the export answers
`[-1, num_labels]` probabilities.

A text gets every label whose probability reaches that label's threshold:
`DEFAULT_THRESHOLD` (0.5) for all, or with `--tune_thresholds` one per label
chosen on dev (`tune_thresholds`), saved as `thresholds.json` beside the
checkpoints and carried in the export's metadata, so every client decides alike.
Evaluation scores the dev predictions in Python: micro and macro F1, per-label
precision/recall/F1, subset accuracy (`multi_label_scores`).
"""

import csv
import json
import logging
import os
import re
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np
import tensorflow.compat.v1 as tf

from bert_contract import DEFAULT_THRESHOLD, INPUT_IDS, LABEL_IDS, MULTI_LABEL_CLASSIFICATION, SEGMENT_IDS
from bert_runner import results, storage
from bert_runner.classification import classifier_logits
from bert_runner.errors import RunnerError
from bert_runner.family import Head, TaskFamily
from bert_runner.label_spec import MULTI_HOT
from bert_runner.labels import read_labels_file, saved_labels
from bert_runner.records import IS_REAL_EXAMPLE
from bert_runner.tasks import GenericTask, Task, read_table

log = logging.getLogger("bert_runner")

GENERIC_TASK = "multilabel"
GOEMOTIONS_TASK = "goemotions"
THRESHOLDS_FILE = "thresholds.json"
# Candidate thresholds for --tune_thresholds: 0.05 apart, coarse so that a rare label's few dev
# rows choose less noise, and 0.01 apart below 0.05, where a rare label's positives score (the
# sigmoid of a label seen in 0.2% of train, as GoEmotions' grief, rarely reaches 0.05).
LOW_THRESHOLDS = (0.01, 0.02, 0.03, 0.04)
STEP_THRESHOLDS = tuple(round(0.05 * i, 2) for i in range(1, 20))  # the whole grid before the low end
THRESHOLD_GRID = LOW_THRESHOLDS + STEP_THRESHOLDS
THRESHOLD_GRID_TEXT = "0.01..0.04 step 0.01, 0.05..0.95 step 0.05"
_WARMUP_FALLBACK = "this is a warm-up request"


class MultiLabelExample(NamedTuple):
    guid: str
    text_a: str
    text_b: Optional[str]
    labels: Optional[Tuple[str, ...]]  # None: unlabelled (test data)
    source: str = ""  # "file:line"


def split_names(field: str) -> Tuple[str, ...]:
    """"a, b" -> ("a", "b"); "" -> () (a text with no label)."""
    names = [name.strip() for name in field.split(",")]
    return tuple(dict.fromkeys(name for name in names if name))


class MultiLabelTsvTask(GenericTask):
    """`--task_name=multilabel`: the generic task's TSV/CSV, the label column a comma-separated set of names."""

    name = GENERIC_TASK

    def _read(self, split, path):
        return [
            MultiLabelExample(e.guid, e.text_a, e.text_b, None if e.label is None else split_names(e.label), e.source)
            for e in super()._read(split, path)
        ]

    def get_labels(self):
        """Given by the user, else every name in the training labels, sorted."""
        if self._labels is None:
            self._labels = sorted({name for e in self.get_examples("train") for name in e.labels})
        return self._labels


class GoEmotionsTask(Task):
    """`--task_name=goemotions`: GoEmotions' `train.tsv`/`dev.tsv` (text, label ids, id) and `labels.txt`."""

    name = GOEMOTIONS_TASK
    columns = ("text", "label ids", "comment id")
    text_pairs = False

    def __init__(self, data_dir: str, labels: Optional[List[str]] = None, files: Optional[Dict[str, str]] = None):
        super().__init__(data_dir)
        self._files = dict(files or {})
        self._labels = list(labels) if labels else None

    def split_path(self, split):
        name = self._files.get(split) or split + ".tsv"
        return name if storage.is_absolute(name) else os.path.join(self.data_dir, name)

    def get_labels(self):
        if self._labels is None:
            self._labels = read_labels_file(os.path.join(self.data_dir, "labels.txt"), "labels.txt in --data_dir")
        return self._labels

    def _read(self, split, path):
        labels = self.get_labels()
        examples = []
        for line, row in read_table(path, quoting=csv.QUOTE_NONE):
            if not row:
                continue
            if len(row) != len(self.columns):
                raise RunnerError(
                    "%s:%d: expected %d tab-separated columns (%s), got %d"
                    % (path, line, len(self.columns), ", ".join(self.columns), len(row))
                )
            names = []
            for field in split_names(row[1]):
                if not re.match(r"^[0-9]+$", field) or int(field) >= len(labels):
                    raise RunnerError(
                        "%s:%d: label id %r is not an index into labels.txt (0-%d)" % (path, line, field, len(labels) - 1)
                    )
                names.append(labels[int(field)])
            examples.append(MultiLabelExample(row[2], row[0], None, tuple(names), "%s:%d" % (path, line)))
        return examples


def multi_hot(examples: Sequence[MultiLabelExample], label_list: Sequence[str]) -> List[List[int]]:
    """One 0/1 row per example; a name not in the list is an error naming its file and line."""
    index = {label: i for i, label in enumerate(label_list)}
    rows = []
    for example in examples:
        row = [0] * len(label_list)
        for name in example.labels or ():  # unlabelled test rows: zeros
            if name not in index:
                raise RunnerError(
                    "%s: label %r is not in the label list [%s]"
                    % (example.source or example.guid, name, ", ".join(label_list))
                )
            row[index[name]] = 1
        rows.append(row)
    return rows


# ---------------------------------------------------------------- decisions and scores (numpy)


def _ratio(numerator, denominator):
    return np.divide(numerator, denominator, out=np.zeros(np.shape(numerator)), where=np.asarray(denominator) > 0)


def _f1(tp, fp, fn):
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    return precision, recall, _ratio(2 * precision * recall, precision + recall)


def decide(probabilities, thresholds) -> np.ndarray:
    """Label decisions: a probability reaching its label's threshold (>=) is a yes."""
    return np.asarray(probabilities) >= np.asarray(thresholds)[None, :]


def multi_label_scores(gold, predicted, labels: Sequence[str]) -> Dict:
    """Micro/macro precision, recall, F1; per-label P/R/F1/support; subset accuracy (every label right).

    A label with neither gold nor predicted positives scores F1 0 (scikit-learn's default).
    """
    gold, predicted = np.asarray(gold, bool), np.asarray(predicted, bool)
    tp = (gold & predicted).sum(axis=0).astype(float)
    fp = (~gold & predicted).sum(axis=0).astype(float)
    fn = (gold & ~predicted).sum(axis=0).astype(float)
    precision, recall, f1 = _f1(tp, fp, fn)
    micro_p, micro_r, micro_f1 = (float(v) for v in _f1(tp.sum(), fp.sum(), fn.sum()))
    return {
        "num_examples": int(gold.shape[0]),
        "micro": {"precision": micro_p, "recall": micro_r, "f1": micro_f1},
        "macro": {"precision": float(precision.mean()), "recall": float(recall.mean()), "f1": float(f1.mean())},
        "macro_f1": float(f1.mean()),
        "micro_f1": micro_f1,
        "subset_accuracy": float((gold == predicted).all(axis=1).mean()) if len(gold) else 0.0,
        "per_label": {
            label: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]),
                    "support": int(gold[:, i].sum()), "predicted": int(predicted[:, i].sum())}
            for i, label in enumerate(labels)
        },
        "labels": list(labels),
    }


def tune_thresholds(probabilities, gold, grid: Sequence[float] = THRESHOLD_GRID,
                    default: float = DEFAULT_THRESHOLD) -> List[float]:
    """Per label, the grid threshold with the best F1 on these rows.

    Ties go to the threshold nearest `default` (then the lower one); a label whose best
    F1 is 0 (no positive row here, or none found at any threshold) keeps `default`.
    """
    probabilities, gold = np.asarray(probabilities), np.asarray(gold, bool)
    f1 = np.stack([_f1(*_counts(gold, probabilities >= t))[2] for t in grid])  # [grid, labels]
    chosen = []
    for label in range(gold.shape[1]):
        best = f1[:, label].max()
        if best <= 0:
            chosen.append(float(default))
            continue
        ties = [t for t, value in zip(grid, f1[:, label]) if value >= best - 1e-12]
        chosen.append(float(min(ties, key=lambda t: (abs(t - default), t))))
    return chosen


def _counts(gold, predicted):
    tp = (gold & predicted).sum(axis=0).astype(float)
    return tp, (~gold & predicted).sum(axis=0).astype(float), (gold & ~predicted).sum(axis=0).astype(float)


def format_report(report: Dict, thresholds: Sequence[float]) -> str:
    """A per-label table (P, R, F1, support, threshold) with the micro and macro lines."""
    labels = report["labels"]
    width = max([len(label) for label in labels] + [12])
    lines = ["%s  %9s %9s %9s %9s %9s" % ("label".ljust(width), "precision", "recall", "f1", "support", "threshold")]
    for label, threshold in zip(labels, thresholds):
        s = report["per_label"][label]
        lines.append("%s  %9.4f %9.4f %9.4f %9d %9.2f"
                     % (label.ljust(width), s["precision"], s["recall"], s["f1"], s["support"], threshold))
    for name in ("micro", "macro"):
        s = report[name]
        lines.append("%s  %9.4f %9.4f %9.4f" % ((name + " avg").ljust(width), s["precision"], s["recall"], s["f1"]))
    lines.append("%s  %9.4f" % ("subset acc".ljust(width), report["subset_accuracy"]))
    return "\n".join(lines)


def _checkpoint_step(path: Optional[str]) -> Optional[int]:
    match = re.search(r"-([0-9]+)$", path or "")
    return int(match.group(1)) if match else None


# ---------------------------------------------------------------- the family


class MultiLabelClassification(TaskFamily):
    kind = MULTI_LABEL_CLASSIFICATION
    label = MULTI_HOT
    task_names = (GENERIC_TASK, GOEMOTIONS_TASK)
    command = "run_classifier.py --task_name=multilabel (or goemotions)"
    eval_uses_predictions = True  # thresholds and F1 need every dev probability
    splits_into_micro_batches = True

    def __init__(self) -> None:
        self.task = None  # type: Optional[Task]
        self.thresholds = None  # type: Optional[List[float]]  # tuned in this run

    # reading
    def make_task(self, options) -> Task:
        self.task = self._make_task(options)
        if getattr(options, "tune_thresholds", False) and not options.do_eval:
            if options.do_train:
                raise RunnerError("--tune_thresholds chooses the thresholds on dev after training: add --do_eval")
            if options.do_export or options.do_predict:
                self._saved_thresholds(options)  # fails now, not after the work, when there are none to use
        return self.task

    def _make_task(self, options) -> Task:
        labels = options.labels
        if options.labels_file and not labels:
            labels = read_labels_file(options.labels_file, "--labels_file")
        labels = labels or saved_labels(options.output_dir)
        files = {"train": options.train_file, "dev": options.dev_file, "test": options.test_file}
        if (options.task_name or "").lower() == GOEMOTIONS_TASK:
            return GoEmotionsTask(options.data_dir, labels, files)
        # The flag's default "label" also finds a "labels" column.
        label_column = ("label", "labels") if options.label_column == "label" else options.label_column
        return MultiLabelTsvTask(options.data_dir, options.text_column, options.text_b_column, label_column,
                                 labels, files)

    def check_examples(self, examples, labels):
        multi_hot(examples, labels)

    def warmup_texts(self, examples):
        return [e.text_a for e in examples[:8]] or [_WARMUP_FALLBACK]

    def cache_options(self, options):
        return {"task": (options.task_name or "").lower(),
                "columns": [options.text_column, options.text_b_column, options.label_column]}

    # features
    def encode(self, featurizer, examples, labels):
        encoded = featurizer.encode_batch([e.text_a for e in examples], [e.text_b for e in examples])
        return [{INPUT_IDS: e.input_ids, SEGMENT_IDS: e.segment_ids, LABEL_IDS: row}
                for e, row in zip(encoded, multi_hot(examples, labels))]

    # model: pooled [CLS] -> dropout -> linear -> one sigmoid per label
    def head(self, encoder, features, num_labels, is_training):
        label_ids = features[LABEL_IDS]
        with tf.name_scope("classifier"):
            logits = classifier_logits(encoder, num_labels, is_training)
            probabilities = tf.sigmoid(logits)
            per_label = tf.nn.sigmoid_cross_entropy_with_logits(labels=tf.cast(label_ids, tf.float32), logits=logits)
            per_example_loss = tf.reduce_mean(per_label, axis=-1)
            loss = tf.reduce_mean(per_example_loss)
        return Head(
            loss=loss,
            metric_inputs={"per_example_loss": per_example_loss, "label_ids": label_ids,
                           "probabilities": probabilities, "weights": features[IS_REAL_EXAMPLE]},
            predictions={"probabilities": probabilities},
            output=probabilities,
            loss_weight=tf.cast(tf.shape(per_example_loss)[0], tf.float32),  # a mean over rows
        )

    def eval_metrics(self, num_labels, per_example_loss, label_ids, probabilities, weights):
        right = tf.reduce_all(tf.equal(probabilities >= DEFAULT_THRESHOLD, label_ids > 0), axis=-1)
        return {
            "eval_loss": tf.metrics.mean(values=per_example_loss, weights=weights),
            "eval_subset_accuracy": tf.metrics.mean(tf.cast(right, tf.float32), weights=weights),
        }

    # outputs
    def write_eval(self, plan, result, predictions=None):
        examples = plan.examples["dev"]
        probabilities = _collect(predictions, len(examples))
        gold = np.array(multi_hot(examples, plan.labels), bool)
        default = [DEFAULT_THRESHOLD] * len(plan.labels)
        at_default = multi_label_scores(gold, decide(probabilities, default), plan.labels)
        if getattr(plan.options, "tune_thresholds", False):
            self.thresholds = tune_thresholds(probabilities, gold)
            self._save_thresholds(plan, int(result["global_step"]))
        thresholds = self.thresholds or default
        report = multi_label_scores(gold, decide(probabilities, thresholds), plan.labels)
        report.update(
            loss=float(result["eval_loss"]),
            global_step=int(result["global_step"]),
            data_file=plan.task.split_path("dev"),
            thresholds=list(thresholds),
            threshold_choice=("per label, best F1 on dev over %s (ties: nearest %s; labels with F1 0: %s)"
                              % (THRESHOLD_GRID_TEXT, DEFAULT_THRESHOLD, DEFAULT_THRESHOLD)
                              if self.thresholds else "global %s" % DEFAULT_THRESHOLD),
            at_default_threshold={key: at_default[key] for key in ("micro", "macro", "macro_f1", "micro_f1",
                                                                   "subset_accuracy")},
        )
        predicted_sets = {tuple(row) for row in decide(probabilities, thresholds).tolist()}
        report.update(distinct_gold_sets=len({tuple(row) for row in gold.tolist()}),
                      distinct_predicted_sets=len(predicted_sets),
                      only_predicted_set=[l for l, yes in zip(plan.labels, next(iter(predicted_sets))) if yes]
                      if len(predicted_sets) == 1 else None)
        scalars = dict(result, macro_f1=report["macro_f1"], micro_f1=report["micro_f1"],
                       subset_accuracy=report["subset_accuracy"])
        table = format_report(report, thresholds)
        text = "".join("%s = %s\n" % (key, scalars[key]) for key in sorted(scalars)) + "\n" + table + "\n"
        output_dir = plan.options.output_dir
        results.write_text(os.path.join(output_dir, "eval_results.txt"), text)
        results.write_json(os.path.join(output_dir, "eval_results.json"), report)
        log.info("eval: macro F1 %.4f  micro F1 %.4f  subset accuracy %.4f  loss %.4f  (%d examples, thresholds: %s)\n%s",
                 report["macro_f1"], report["micro_f1"], report["subset_accuracy"], report["loss"],
                 report["num_examples"], report["threshold_choice"], table)
        return report

    def collapse_reason(self, report):
        """Every dev text given one and the same label set (often none) while the dev set has several."""
        if report["distinct_predicted_sets"] != 1 or report["distinct_gold_sets"] < 2:
            return None
        return "every one of the %d dev texts gets the label set {%s} (the dev set has %d different sets)" % (
            report["num_examples"], ", ".join(report["only_predicted_set"]), report["distinct_gold_sets"])

    def write_predictions(self, plan, predictions, record_file):
        probabilities = _collect(predictions, record_file.num_examples)
        thresholds = self.current_thresholds(plan.options, len(plan.labels))
        decided = decide(probabilities, thresholds)
        raw = ["\t".join(str(p) for p in row) + "\n" for row in probabilities.tolist()]
        labelled = ["\t".join(["labels"] + list(plan.labels)) + "\n"] + [
            "\t".join([",".join(l for l, yes in zip(plan.labels, row_decided) if yes)] + ["%.6f" % p for p in row]) + "\n"
            for row, row_decided in zip(probabilities.tolist(), decided)
        ]
        output_dir = plan.options.output_dir
        raw_path = os.path.join(output_dir, "test_results.tsv")
        labelled_path = os.path.join(output_dir, "test_predictions.tsv")
        results.write_text(raw_path, "".join(raw))
        results.write_text(labelled_path, "".join(labelled))
        log.info("predictions for %d examples: %s and %s", len(raw), raw_path, labelled_path)
        return {"num_examples": len(raw), "results_file": raw_path, "predictions_file": labelled_path}

    # contract: the thresholds every client decides with
    def metadata(self, options):
        return {"thresholds": self.current_thresholds(options, None)}

    def current_thresholds(self, options, num_labels: Optional[int]) -> List[float]:
        """Tuned in this run; else, with --tune_thresholds, the saved ones; else the default for every label."""
        if self.thresholds:
            return list(self.thresholds)
        if getattr(options, "tune_thresholds", False) and not options.do_eval:
            return self._saved_thresholds(options)["thresholds"]
        count = num_labels if num_labels is not None else len(self.task.get_labels())
        return [DEFAULT_THRESHOLD] * count

    def _save_thresholds(self, plan, global_step: int) -> None:
        results.write_json(os.path.join(plan.options.output_dir, THRESHOLDS_FILE), {
            "labels": list(plan.labels), "thresholds": self.thresholds, "global_step": global_step,
            "tuned_on": plan.task.split_path("dev"), "grid": list(THRESHOLD_GRID),
        })

    def _saved_thresholds(self, options) -> Dict:
        """thresholds.json in --output_dir, checked to belong to the checkpoint being exported."""
        path = os.path.join(options.output_dir or "", THRESHOLDS_FILE)
        checkpoint = options.export_checkpoint or tf.train.latest_checkpoint(options.output_dir or ".")
        if not storage.isfile(path):
            raise RunnerError("--tune_thresholds: no %s in --output_dir=%s to export; add --do_eval to tune them on dev"
                              % (THRESHOLDS_FILE, options.output_dir))
        saved = json.loads(storage.read_bytes(path).decode("utf-8"))
        if self.task is not None and saved.get("labels") != self.task.get_labels():
            raise RunnerError("--tune_thresholds: %s holds thresholds for the labels %s, not %s; add --do_eval"
                              % (path, saved.get("labels"), self.task.get_labels()))
        step = _checkpoint_step(checkpoint)
        if step is not None and saved.get("global_step") != step:
            raise RunnerError("--tune_thresholds: %s was tuned at step %s, the exported checkpoint is %s; add --do_eval"
                              % (path, saved.get("global_step"), checkpoint))
        return saved


def _collect(predictions, count: int) -> np.ndarray:
    """The first `count` rows' probabilities (TPU padding rows dropped) as [count, num_labels]."""
    rows = []
    for prediction in predictions:
        if len(rows) >= count:
            break
        rows.append(prediction["probabilities"])
    if len(rows) != count:
        raise RunnerError("predicted %d rows for %d examples" % (len(rows), count))
    return np.array(rows, dtype=np.float64)
