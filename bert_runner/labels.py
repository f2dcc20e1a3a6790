"""The label list of a run: resolved once, saved with the run, checked against its checkpoint.

`label_list.txt` in `--output_dir` keeps the id order the model was trained
with, so a later `--do_predict` or `--do_export` run names the same classes.
"""

import os
from typing import Callable, List, Optional

import tensorflow.compat.v1 as tf

from bert_runner import storage
from bert_runner.errors import RunnerError
from bert_runner.label_spec import PER_EXAMPLE, LabelSpec

LABELS_FILE = "label_list.txt"
# What the model in --output_dir predicts (a bert_contract task kind); absent in older runs: a classifier.
KIND_FILE = "task_kind.txt"


def resolve_labels(task, output_dir: str, label_spec: LabelSpec = PER_EXAMPLE) -> List[str]:
    """The task's label list, checked against the one a checkpoint in output_dir was trained with.

    It needs `label_spec.min_labels` labels: 2 to choose between, 1 for yes/no per label.
    """
    labels = task.get_labels()
    if len(labels) < label_spec.min_labels:
        raise RunnerError(
            "the label list has %d label(s) %s; %s needs at least %d"
            % (len(labels), labels, label_spec.describes, label_spec.min_labels)
        )
    if len(set(labels)) != len(labels):
        raise RunnerError("the label list %s has duplicates" % labels)
    saved = saved_labels(output_dir)
    if saved and saved != labels and tf.train.latest_checkpoint(output_dir):
        raise RunnerError(
            "labels %s differ from %s, saved when the model in --output_dir=%s was trained"
            % (labels, saved, output_dir)
        )
    return labels


def check_run_kind(output_dir: str, kind: str, default_kind: str, command_for: Callable[[str], str]) -> None:
    """Refuses to continue, evaluate or export a checkpoint of another task kind (e.g. NER with run_classifier.py).

    `command_for(kind)` names the command that trains the kind found (`families.command_for`).
    """
    saved = saved_run_kind(output_dir, default_kind)
    if saved != kind and tf.train.latest_checkpoint(output_dir or "."):
        raise RunnerError(
            "--output_dir=%s holds a %s model; this command trains a %s model (use %s, or another --output_dir)"
            % (output_dir, saved.replace("_", " "), kind.replace("_", " "), command_for(saved))
        )


def saved_run_kind(output_dir: Optional[str], default_kind: str) -> str:
    """The task kind task_kind.txt in output_dir names; `default_kind` for runs older than the file."""
    path = os.path.join(output_dir or "", KIND_FILE)
    return storage.read_bytes(path).decode("utf-8").strip() if storage.isfile(path) else default_kind


def save_run_kind(output_dir: str, kind: str) -> None:
    storage.write_text(os.path.join(output_dir, KIND_FILE), kind + "\n")


def read_labels_file(path: str, flag: str) -> List[str]:
    try:
        text = storage.read_bytes(path).decode("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise RunnerError("%s=%s: cannot read: %s" % (flag, path, getattr(e, "strerror", None) or e))
    return [line.strip() for line in text.splitlines() if line.strip()]


def saved_labels(output_dir: Optional[str]) -> Optional[List[str]]:
    path = os.path.join(output_dir or "", LABELS_FILE)
    return read_labels_file(path, "labels in --output_dir") if storage.isfile(path) else None


def save_labels(output_dir: str, labels: List[str]) -> None:
    storage.write_text(os.path.join(output_dir, LABELS_FILE), "\n".join(labels) + "\n")
