"""The task families the runner knows: which one a `--task_name` selects, which command trains a kind.

The one table of task kinds on the runner side. Each family declares its `kind`,
the `task_names` that `run_classifier.py --task_name=...` selects it by, and the
`command` that trains it (named when an `--output_dir` holds another kind).
A new family is added here and nowhere else.
"""

from typing import List

from bert_runner.classification import SequenceClassification
from bert_runner.errors import RunnerError
from bert_runner.family import TaskFamily
from bert_runner.multi_label import MultiLabelClassification
from bert_runner.token_classification import TokenClassification

FAMILIES = (SequenceClassification, MultiLabelClassification, TokenClassification)


def task_names() -> List[str]:
    return sorted(name for family in FAMILIES for name in family.task_names)


def family_for_task(task_name: str) -> TaskFamily:
    """The family that reads `--task_name` (the classifier when none is given: it asks for one)."""
    name = (task_name or "").lower()
    for family in FAMILIES:
        if name in family.task_names:
            return family()
    if name:
        raise RunnerError("--task_name=%s is not a known task (choose from %s)" % (task_name, ", ".join(task_names())))
    return SequenceClassification()


def command_for(kind: str) -> str:
    """The command that trains models of `kind`."""
    for family in FAMILIES:
        if family.kind == kind:
            return family.command
    return "its own command"
