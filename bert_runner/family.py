"""What a task family (sequence classification, token classification, ...) defines.

A run goes: read examples -> check them -> features -> TFRecords -> estimator
(BERT encoder + the family's head) -> eval/predict outputs -> SavedModel. Only
the steps that depend on *what is predicted* belong to a family; everything
else is shared and a new family reuses it unchanged: checking the model files
and flags (`plan.py`), the label list saved with the run (`labels.py`),
record writing and caching and the `tf.data` pipeline (`records.py`,
`inputs.py`), estimator and distribution (`estimator.py`, `distribute.py`),
optimizer and hooks, the estimator actions (`steps.py`), the export machinery
with its warm-up requests and metadata signature (`export/`).

A family implements `TaskFamily`:

reading
    `make_task(options)` returns a `tasks.Task` (examples per split, the
    ordered label list, the data file of a split). `check_examples(examples,
    labels)` raises `RunnerError` naming file and line for a label that is not
    in the list (run before any work). `warmup_texts(examples)` picks texts
    for the export's warm-up requests. `cache_options(options)` names the
    family's settings that change its records (part of the cache key).
labels
    `label` (a `label_spec.LabelSpec`) declares what `label_ids` holds per
    example: `PER_EXAMPLE` (a class id), `PER_TOKEN` (a tag id per WordPiece)
    or `MULTI_HOT` (0/1 per label), and its dtype. The record schema, the
    export's `label_ids` placeholder, its warm-up requests and the smallest
    label list follow from it; nothing else tests the task kind.
features
    `record_schema` (derived: `records.RecordSchema.for_label(label,
    extra_sequences)`) lists a record's features: the featurizer's ids,
    `label_ids`, and `extra_sequences`, the family's own per-token features
    (e.g. a tagger's label weights); the shared code adds `input_mask` and
    `is_real_example`. `encode(featurizer, examples, labels)` returns one
    `{feature: [value, ...]}` dict per record (a family may write several
    records per example, e.g. windows).
model
    `head(encoder, features, num_labels, is_training)` builds the layers on
    top of the `bert.modeling.BertModel` and the loss; it returns a `Head`:
    the mean loss, the tensors its metrics need, the predictions the
    estimator yields, and `output`, the export's `serving_default` output.
    A family that also returns `loss_weight` (what the loss is a mean over)
    and sets `splits_into_micro_batches` trains on length-sorted micro-batches
    with the unsplit batch's loss (`micro_batches.py`).
metrics
    `eval_metrics(num_labels, **head.metric_inputs)` returns tf.metrics-style
    `(value, update_op)` pairs, the reference's `eval_accuracy`/`eval_loss`
    names where they apply. It is called inside the TPU host call on TPU.
outputs
    `write_eval(plan, result)` and `write_predictions(plan, predictions,
    record_file)` write the family's files into `--output_dir` and return the
    summary `run()` hands back. A family whose scores need whole predictions
    (entity F1 over a sentence's windows) sets `eval_uses_predictions`; its
    `write_eval(plan, result, predictions)` also gets the dev predictions.
    `collapse_reason(report)` says, from that report, whether the model
    collapsed (one class for everything) and how; `collapse.py` warns and
    guards the export for every family.
selection
    `task_names` are the `--task_name` values of `run_classifier.py` that
    select the family and `command` the command that trains it (`families.py`).
contract
    `kind` is one of `bert_contract.TASK_KINDS`; it goes into the export's
    metadata so a client knows how to decode `output`. `metadata(options)`
    returns the family's further `ModelInfo` fields (e.g. a tagger's scheme).
"""

from typing import Dict, Iterable, List, NamedTuple, Optional, Sequence

from bert_runner.label_spec import PER_EXAMPLE, LabelSpec
from bert_runner.records import RecordSchema


class Head(NamedTuple):
    """What a family's head adds to the graph."""

    loss: object  # scalar: the mean training loss
    metric_inputs: Dict[str, object]  # keyword tensors for `eval_metrics`
    predictions: Dict[str, object]  # what `estimator.predict` yields per example
    output: object  # `serving_default`'s output tensor
    # What `loss` is a mean over (rows, or label-weighted tokens), as a float scalar; lets
    # training split a batch into micro-batches and still get the batch's loss exactly.
    loss_weight: object = None


class TaskFamily:
    """The task-specific steps of a run; see the module docstring."""

    kind = ""
    task_names = ()  # type: Sequence[str]
    command = ""
    label = PER_EXAMPLE  # type: LabelSpec
    extra_sequences = ()  # type: Sequence[str]
    eval_uses_predictions = False
    # True when `head` sets `Head.loss_weight`: training may then run each batch as
    # length-sorted micro-batches (`micro_batches.py`, `--train_micro_batches`).
    splits_into_micro_batches = False
    # `--adam_bias_correction` when the flag is not given: off is the reference's optimizer.
    adam_bias_correction = False
    # True when `head` reads the sentence vector (`Encoder.get_sentence_output`): `--pooling` applies.
    reads_sentence_vector = True

    @property
    def record_schema(self) -> RecordSchema:
        return RecordSchema.for_label(self.label, self.extra_sequences)

    # reading
    def make_task(self, options):
        raise NotImplementedError

    def check_examples(self, examples: Sequence, labels: Sequence[str]) -> None:
        raise NotImplementedError

    def warmup_texts(self, examples: Sequence) -> List[str]:
        raise NotImplementedError

    def cache_options(self, options) -> Dict:
        raise NotImplementedError

    # features
    def encode(self, featurizer, examples: Sequence, labels: Sequence[str]) -> List[Dict[str, List[int]]]:
        raise NotImplementedError

    # model and metrics
    def head(self, encoder, features: Dict, num_labels: int, is_training: bool) -> Head:
        raise NotImplementedError

    def eval_metrics(self, num_labels: int, **metric_inputs) -> Dict:
        raise NotImplementedError

    # outputs
    def write_eval(self, plan, result: Dict) -> Dict:
        raise NotImplementedError

    def write_predictions(self, plan, predictions: Iterable[Dict], record_file) -> Dict:
        raise NotImplementedError

    def collapse_reason(self, report: Dict) -> Optional[str]:
        """Why the `write_eval` report shows a collapsed model (e.g. "every dev word is tagged O"), else None.

        The base class cannot tell and says None: a family that can, should.
        """
        return None

    # contract
    def metadata(self, options) -> Dict:
        return {}
