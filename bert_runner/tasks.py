"""Tasks: where a data set's examples and labels come from.

The reference tasks (cola, mnli, mrpc, xnli) read the same files and columns as
Google's `run_classifier.py`. The `generic` task reads a user's own TSV/CSV by
column name, so custom data needs no code. Every reader reports problems as
`file:line: ...` so the user can find and fix the row.
"""

import csv
import io
import os
from typing import Dict, List, NamedTuple, Optional, Sequence

from bert_contract import NotUtf8Error, decode_utf8
from bert_runner import storage
from bert_runner.errors import RunnerError

SPLITS = ("train", "dev", "test")


class InputExample(NamedTuple):
    guid: str
    text_a: str
    text_b: Optional[str]
    label: Optional[str]
    # "file:line" of the row, for error messages.
    source: str = ""


def read_table(path: str, delimiter: str = "\t", quoting: int = csv.QUOTE_NONE) -> List[Sequence]:
    """Rows of a delimited UTF-8 file as (line number, fields) pairs.

    Quoting is off for TSV by default, as in the reference (texts may contain
    unbalanced quotes); CSV files use standard quoting.
    """
    try:
        text = decode_utf8(storage.read_bytes(path), path)
    except OSError as e:
        raise RunnerError("cannot read data file %s: %s" % (path, e.strerror or e))
    except NotUtf8Error as e:
        raise RunnerError(str(e))
    if text.startswith("\ufeff"):
        text = text[1:]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, quoting=quoting)
    rows = []
    try:
        for row in reader:
            rows.append((reader.line_num, row))
    except csv.Error as e:
        raise RunnerError("%s:%d: %s" % (path, reader.line_num, e))
    return rows


def _field(path: str, line: int, row: Sequence[str], index: int, what: str) -> str:
    """row[index], or an error naming the file, line and the missing column."""
    needed = index + 1 if index >= 0 else -index
    if len(row) < needed:
        position = "column %d" % (index + 1) if index >= 0 else "the last column"
        raise RunnerError(
            "%s:%d: expected at least %d columns (%s is %s), got %d"
            % (path, line, needed, what, position, len(row))
        )
    return row[index]


class Task:
    """A data set: examples per split and the ordered label list."""

    name = ""
    # Whether examples carry a second text (sentence pairs); the export's metadata says so,
    # and servers refuse a second text for a model trained without. None: not known.
    text_pairs = None  # type: Optional[bool]

    def __init__(self, data_dir: str):
        self.data_dir = data_dir or ""

    def get_labels(self) -> List[str]:
        raise NotImplementedError

    def get_examples(self, split: str) -> List[InputExample]:
        path = self.split_path(split)
        examples = self._read(split, path)
        if not examples:
            raise RunnerError("%s: no %s examples in the file" % (path, split))
        return examples

    def split_path(self, split: str) -> str:
        raise NotImplementedError

    def _read(self, split: str, path: str) -> List[InputExample]:
        raise NotImplementedError


class _ColumnTask(Task):
    """A reference GLUE-style task: fixed file names and column positions."""

    files = {}  # type: Dict[str, str]
    header = {"train": True, "dev": True, "test": True}
    text_a_index = 0
    text_b_index = None  # type: Optional[int]
    label_index = 0
    test_label = "0"

    @property
    def text_pairs(self) -> Optional[bool]:  # type: ignore[override]
        return self.text_b_index is not None

    def split_path(self, split):
        if split not in self.files:
            raise RunnerError("task %s has no %s split" % (self.name, split))
        return os.path.join(self.data_dir, self.files[split])

    def _read(self, split, path):
        examples = []
        for i, (line, row) in enumerate(read_table(path, quoting=csv.QUOTE_NONE)):
            if i == 0 and self.header[split]:
                continue
            example = self._example(split, path, line, row, i)
            if example is not None:
                examples.append(example)
        return examples

    def _example(self, split, path, line, row, index):
        text_a = _field(path, line, row, self._text_a_index(split), "text")
        text_b = None
        if self.text_b_index is not None:
            text_b = _field(path, line, row, self.text_b_index, "second text")
        if split == "test":
            label = self.test_label
        else:
            label = _field(path, line, row, self.label_index, "label")
        return InputExample("%s-%s" % (split, self._guid(row, index)), text_a, text_b, label, "%s:%d" % (path, line))

    def _text_a_index(self, split):
        return self.text_a_index

    def _guid(self, row, index):
        return str(index)


class ColaTask(_ColumnTask):
    name = "cola"
    files = {"train": "train.tsv", "dev": "dev.tsv", "test": "test.tsv"}
    # Only CoLA's test file has a header; its text is column 1 there, 3 elsewhere.
    header = {"train": False, "dev": False, "test": True}
    text_a_index = 3
    label_index = 1

    def get_labels(self):
        return ["0", "1"]

    def _text_a_index(self, split):
        return 1 if split == "test" else 3


class MrpcTask(_ColumnTask):
    name = "mrpc"
    files = {"train": "train.tsv", "dev": "dev.tsv", "test": "test.tsv"}
    text_a_index = 3
    text_b_index = 4
    label_index = 0

    def get_labels(self):
        return ["0", "1"]


class MnliTask(_ColumnTask):
    name = "mnli"
    files = {"train": "train.tsv", "dev": "dev_matched.tsv", "test": "test_matched.tsv"}
    text_a_index = 8
    text_b_index = 9
    label_index = -1
    test_label = "contradiction"

    def get_labels(self):
        return ["contradiction", "entailment", "neutral"]

    def _guid(self, row, index):
        return row[0]


class XnliTask(_ColumnTask):
    """XNLI: trains on the machine-translated MultiNLI, evaluates on XNLI dev (zh)."""

    name = "xnli"
    language = "zh"
    text_pairs = True  # its own columns: premise and hypothesis
    files = {
        "train": os.path.join("multinli", "multinli.train.%s.tsv" % language),
        "dev": "xnli.dev.tsv",
    }

    def get_labels(self):
        return ["contradiction", "entailment", "neutral"]

    def _example(self, split, path, line, row, index):
        source = "%s:%d" % (path, line)
        if split == "train":
            label = _field(path, line, row, 2, "label")
            if label == "contradictory":
                label = "contradiction"
            return InputExample(
                "train-%d" % index,
                _field(path, line, row, 0, "text"),
                _field(path, line, row, 1, "second text"),
                label,
                source,
            )
        if _field(path, line, row, 0, "language") != self.language:
            return None
        return InputExample(
            "dev-%d" % index,
            _field(path, line, row, 6, "text"),
            _field(path, line, row, 7, "second text"),
            _field(path, line, row, 1, "label"),
            source,
        )


class GenericTask(Task):
    """A user's own TSV/CSV with a header row; columns are chosen by name."""

    name = "generic"

    def __init__(
        self,
        data_dir: str,
        text_column: str = "text",
        text_b_column: str = "",
        label_column: str = "label",
        labels: Optional[List[str]] = None,
        files: Optional[Dict[str, str]] = None,
    ):
        super().__init__(data_dir)
        self.text_column = text_column
        self.text_b_column = text_b_column or None
        self.text_pairs = self.text_b_column is not None
        self.label_column = label_column
        self._labels = list(labels) if labels else None
        self._files = dict(files or {})

    def split_path(self, split):
        name = self._files.get(split)
        if name:
            return name if storage.is_absolute(name) else os.path.join(self.data_dir, name)
        for extension in (".tsv", ".csv"):
            path = os.path.join(self.data_dir, split + extension)
            if storage.exists(path):
                return path
        return os.path.join(self.data_dir, split + ".tsv")

    def get_labels(self):
        """The label list: given by the user, else the training labels sorted."""
        if self._labels is None:
            found = {example.label for example in self.get_examples("train")}
            self._labels = sorted(found)
        return self._labels

    def _read(self, split, path):
        csv_file = path.lower().endswith(".csv")
        rows = read_table(
            path,
            delimiter="," if csv_file else "\t",
            quoting=csv.QUOTE_MINIMAL if csv_file else csv.QUOTE_NONE,
        )
        if not rows:
            return []
        header_line, header = rows[0]
        columns = {name.strip(): i for i, name in enumerate(header)}

        def column(name, flag, required=True):
            # A tuple: the first of these names the header has.
            for candidate in name if isinstance(name, tuple) else (name,):
                if candidate in columns:
                    return columns[candidate]
            name = name[0] if isinstance(name, tuple) else name
            if not required:
                return None
            raise RunnerError(
                "%s:%d: no column named %r (the header has %s); set --%s"
                % (path, header_line, name, ", ".join(repr(c) for c in header), flag)
            )

        text_index = column(self.text_column, "text_column")
        text_b_index = column(self.text_b_column, "text_b_column") if self.text_b_column else None
        # Test files may come without labels: then only predictions are possible.
        label_index = column(self.label_column, "label_column", required=(split != "test"))
        examples = []
        for line, row in rows[1:]:
            if not row:
                continue
            if len(row) != len(header):
                raise RunnerError(
                    "%s:%d: expected %d columns like the header, got %d"
                    % (path, line, len(header), len(row))
                )
            label = row[label_index] if label_index is not None else None
            text_b = row[text_b_index] if text_b_index is not None else None
            examples.append(
                InputExample("%s-%d" % (split, len(examples)), row[text_index], text_b, label, "%s:%d" % (path, line))
            )
        return examples


REFERENCE_TASKS = {task.name: task for task in (ColaTask, MnliTask, MrpcTask, XnliTask)}
TASK_NAMES = sorted(list(REFERENCE_TASKS) + [GenericTask.name])


def make_task(task_name: str, data_dir: str, **generic_options) -> Task:
    """The task for `--task_name`; generic options apply to the generic task only."""
    name = (task_name or "").lower()
    if name == GenericTask.name:
        return GenericTask(data_dir, **generic_options)
    if name in REFERENCE_TASKS:
        return REFERENCE_TASKS[name](data_dir)
    raise RunnerError("--task_name=%s is not a known task (choose from %s)" % (task_name, ", ".join(TASK_NAMES)))
