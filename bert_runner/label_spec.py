"""What a task family's `label_ids` hold per example: the one declaration the shared code reads.

A family sets `TaskFamily.label = PER_EXAMPLE | PER_TOKEN | MULTI_HOT` (or its own
`LabelSpec`). From it follow, with no test of the task kind anywhere else:

- the record schema (`records.RecordSchema`): one value per example (a scalar
  feature), one per token (a sequence padded per batch and cut with the
  micro-batches), or one per label (a vector of `num_labels`, never cut);
- the export's `label_ids` placeholder, `[-1]`, `[-1, L]` or `[-1, num_labels]`
  (`export/serving_input.py`), and the zeros its warm-up requests send
  (`export/warmup.py`), which are what clients send too;
- how few labels make a model (`labels.resolve_labels`): a softmax over one
  label says nothing, a yes/no per label is a model from the first one.

TensorFlow-free, like the contract it feeds.
"""

from typing import List, NamedTuple, Optional, Tuple

# Symbolic dimensions after the batch.
TOKENS = "tokens"  # the sequence length (L, or -1 for a dynamic-length export)
LABELS = "labels"  # the number of labels in the run's label list

SCALARS, SEQUENCES, VECTORS = "scalars", "sequences", "vectors"
# Where a label of each shape goes in a record (`records.RecordSchema`'s groups).
_RECORD_GROUP = {(): SCALARS, (TOKENS,): SEQUENCES, (LABELS,): VECTORS}


class LabelSpec(NamedTuple):
    """`label_ids` of one example: its dimensions (`()`, `(TOKENS,)`, `(LABELS,)`) and dtype."""

    dims: Tuple[str, ...]
    dtype: str = "int32"  # "int32" (ids, or 0/1 per label) or "float32" (e.g. soft targets)
    # A label list shorter than this makes no model (see the module docstring).
    min_labels: int = 2
    # What the label list names, for messages.
    describes: str = "a classifier"

    @property
    def record_group(self) -> str:
        """The `RecordSchema` group `label_ids` belongs to."""
        return _RECORD_GROUP[self.dims]

    def shape(self, seq_length: Optional[int], num_labels: int) -> List[Optional[int]]:
        """The placeholder's shape: batch first (None), then the declared dimensions."""
        sizes = {TOKENS: seq_length, LABELS: num_labels}
        return [None] + [sizes[dim] for dim in self.dims]

    def zeros(self, batch: int, seq_length: int, num_labels: int) -> list:
        """What a client sends: `label_ids` of zeros for `batch` rows padded to `seq_length`."""
        sizes = {TOKENS: seq_length, LABELS: num_labels}
        zero = 0.0 if self.dtype.startswith("float") else 0
        row = zero
        for dim in reversed(self.dims):
            row = [row] * sizes[dim]
        return [row] * batch


PER_EXAMPLE = LabelSpec(())  # one class id per text: the softmax classifier
PER_TOKEN = LabelSpec((TOKENS,), describes="a token classifier")  # one tag id per WordPiece
MULTI_HOT = LabelSpec((LABELS,), min_labels=1, describes="a multi-label classifier")  # 0/1 per label
