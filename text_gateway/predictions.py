"""Client predictions -> the gateway's JSON records, one builder per task kind.

The model's task kind comes from its metadata (`ModelInfo.task_kind`). A task
kind without a builder here is reported by the model's status instead of
being served wrongly; token classification (entity spans `start`, `end`,
`label`, `text`, `score`) plugs in as another entry once `serving_client`
decodes it.
"""

from typing import Any, Callable, Dict

from bert_contract import SEQUENCE_CLASSIFICATION

from text_gateway.payload import Parameters


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
