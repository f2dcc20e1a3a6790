"""The label list of a run: resolved once, saved with the run, checked against its checkpoint.

`label_list.txt` in `--output_dir` keeps the id order the model was trained
with, so a later `--do_predict` or `--do_export` run names the same classes.
"""

import os
from typing import List, Optional

import tensorflow.compat.v1 as tf

from bert_runner import storage
from bert_runner.errors import RunnerError

LABELS_FILE = "label_list.txt"


def resolve_labels(task, output_dir: str) -> List[str]:
    """The task's label list, checked against the one a checkpoint in output_dir was trained with."""
    labels = task.get_labels()
    if len(labels) < 2:
        raise RunnerError("the label list has %d label(s) %s; a classifier needs at least 2" % (len(labels), labels))
    if len(set(labels)) != len(labels):
        raise RunnerError("the label list %s has duplicates" % labels)
    saved = saved_labels(output_dir)
    if saved and saved != labels and tf.train.latest_checkpoint(output_dir):
        raise RunnerError(
            "labels %s differ from %s, saved when the model in --output_dir=%s was trained"
            % (labels, saved, output_dir)
        )
    return labels


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
