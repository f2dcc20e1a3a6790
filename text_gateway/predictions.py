"""Client predictions -> the gateway's JSON records, one builder per task kind.

The model's task kind comes from its metadata (`ModelInfo.task_kind`):
sequence classifiers answer `label`/`score`/`scores`, token classifiers their
entity spans (`start`, `end`, `label`, `text`, `score`, decoded by
`serving_client`). A task kind without a builder here is reported by the
model's status instead of being served wrongly.
"""

from typing import Any, Callable, Dict, List, Sequence

from bert_contract import SEQUENCE_CLASSIFICATION, TOKEN_CLASSIFICATION
from featurizer import Featurizer

from text_gateway.errors import BadRequest
from text_gateway.payload import Example, Parameters


def input_flags(task_kind: str, featurizer: Featurizer, examples: Sequence[Example], parameters: Parameters) -> List[bool]:
    """Per example, whether the model's length cuts it; refuses input the task cannot take."""
    if task_kind != TOKEN_CLASSIFICATION:
        return truncation_flags(featurizer, examples, parameters)
    for i, (_, pair) in enumerate(examples):
        if pair is not None:
            raise BadRequest("instances[%d] has a text_pair; a token classification model takes single texts" % i)
    return [False] * len(examples)  # long texts are read in the model's windows, never cut


def truncation_flags(featurizer: Featurizer, examples: Sequence[Example], parameters: Parameters) -> List[bool]:
    """Which examples the model's length cuts; BadRequest when `truncation` is false and one would be."""
    ids_a = featurizer.token_ids([a for a, _ in examples])
    present = [i for i, (_, b) in enumerate(examples) if b]
    lengths_b = dict(zip(present, map(len, featurizer.token_ids([examples[i][1] for i in present]))))
    limit = featurizer.max_seq_length
    flags = []
    for i, ids in enumerate(ids_a):
        # [CLS] a [SEP], or [CLS] a [SEP] b [SEP]; an empty second text counts as none (the reference's rule).
        length = len(ids) + lengths_b[i] + 3 if lengths_b.get(i) else len(ids) + 2
        flags.append(length > limit)
        if length > limit and not parameters.truncation:
            raise BadRequest(
                "instances[%d] has %d tokens, more than the model's %d, and parameters.truncation is false"
                % (i, length, limit)
            )
    return flags


def classification_record(prediction: Any, truncated: bool, parameters: Parameters) -> Dict[str, Any]:
    """`label`, `score`, `scores` (best first; `top_k`/`threshold` applied) and `truncated`.

    With a threshold, labels scoring below it are left out of `scores`, and
    `label` is None when even the best one does.
    """
    ranked = sorted(prediction.probabilities.items(), key=lambda item: -item[1])
    label = prediction.label
    if parameters.threshold is not None:
        ranked = [item for item in ranked if item[1] >= parameters.threshold]
        if prediction.score < parameters.threshold:
            label = None
    if parameters.top_k is not None:
        ranked = ranked[: parameters.top_k]
    return {"label": label, "score": prediction.score, "scores": dict(ranked), "truncated": truncated}


RecordBuilder = Callable[[Any, bool, Parameters], Dict[str, Any]]

RECORD_BUILDERS = {SEQUENCE_CLASSIFICATION: classification_record}  # type: Dict[str, RecordBuilder]


def entity_record(tagged: Any, truncated: bool, parameters: Parameters) -> Dict[str, Any]:
    """`entities` in text order (`threshold` drops spans scoring below it) and `truncated` (always false)."""
    spans = [span for span in tagged.entities if parameters.threshold is None or span.score >= parameters.threshold]
    return {"entities": [span.to_dict() for span in spans], "truncated": truncated}


RECORD_BUILDERS[TOKEN_CLASSIFICATION] = entity_record
