"""A fake multi-label classifier for `MockTransport`: the REST shapes of a served multi-label export.

`label_ids` must come multi-hot `[rows, num_labels]`; `output` is one sigmoid
per label that depends on the row's token count n, so a test knows each
text's label set: billing n/(n+1), account 0.4, bug 0.95 for n > 4 else 0.1.
"""

from client_fakes import FakeServing, bert_signature, tensor
from serving_client import Response

LABELS = ["billing", "account", "bug"]
# Per label, as the export's metadata carries them (tuned on dev, or 0.5).
THRESHOLDS = [0.5, 0.3, 0.9]


def label_probabilities(mask_row):
    n = sum(mask_row)
    return [n / (n + 1.0), 0.4, 0.95 if n > 4 else 0.1]


class FakeMultiLabel(FakeServing):
    def __init__(self, vocab_file, thresholds=THRESHOLDS, **kwargs):
        overrides = dict(kwargs.pop("info_overrides", {}) or {})
        overrides.setdefault("task_kind", "multi_label_classification")
        overrides.setdefault("thresholds", list(thresholds))
        super().__init__(vocab_file, model="tickets", labels=LABELS, info_overrides=overrides, **kwargs)

    def signatures(self):
        signatures = super().signatures()
        signature = bert_signature(self.seq_length, {"output": tensor("DT_FLOAT", -1, len(self.labels))})
        signature["inputs"]["label_ids"] = tensor("DT_INT32", -1, len(self.labels))
        signatures["serving_default"] = signature
        return signatures

    def _predict(self, request):
        label_ids = request.json.get("inputs", {}).get("label_ids")
        if request.json.get("signature_name", "serving_default") == "serving_default":
            if label_ids is None or any(row != [0] * len(self.labels) for row in label_ids):
                return Response(400, json={"error": "label_ids must be [rows, %d] zeros, got %s" % (len(self.labels), label_ids)})
        return super()._predict(request)

    def outputs(self, inputs):
        return [label_probabilities(mask) for mask in inputs["input_mask"]]
