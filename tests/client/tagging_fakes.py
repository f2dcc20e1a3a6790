"""A fake token classifier for `MockTransport`: the REST shapes of a served NER export.

Each WordPiece's tag comes from a fixed table (piece id -> tag, else O), so a
test knows the entities a text must give; the answer is `[rows, L, num_tags]`
like the real export's, and `label_ids` must be sent as `[rows, L]`.
"""

from client_fakes import FakeServing, bert_signature, tensor
from serving_client import Response

TAGS = ["O", "B-per", "I-per", "B-loc", "I-loc"]


class FakeTagger(FakeServing):
    def __init__(self, vocab_file, piece_tags, seq_length=12, doc_stride=4, confidence=0.8, **kwargs):
        overrides = dict(kwargs.pop("info_overrides", {}) or {})
        overrides.setdefault("task_kind", "token_classification")
        overrides.setdefault("tag_scheme", "IOB2")
        overrides.setdefault("doc_stride", doc_stride)
        super().__init__(vocab_file, model="ner", labels=TAGS, seq_length=seq_length, info_overrides=overrides, **kwargs)
        self.piece_tags = dict(piece_tags)
        self.confidence = confidence

    def signatures(self):
        signatures = super().signatures()
        length = self.seq_length
        signature = bert_signature(length, {"output": tensor("DT_FLOAT", -1, length, len(self.labels))})
        signature["inputs"]["label_ids"] = tensor("DT_INT32", -1, length)
        signatures["serving_default"] = signature
        return signatures

    def _predict(self, request):
        label_ids = request.json.get("inputs", {}).get("label_ids")
        if request.json.get("signature_name", "serving_default") == "serving_default" and label_ids is not None:
            widths = {len(row) if isinstance(row, list) else -1 for row in label_ids}
            if widths != {len(request.json["inputs"]["input_ids"][0])}:
                return Response(400, json={"error": "label_ids must be [rows, L], got widths %s" % sorted(widths)})
        return super()._predict(request)

    def one_hot(self, tag):
        rest = (1.0 - self.confidence) / (len(self.labels) - 1)
        return [self.confidence if t == tag else rest for t in self.labels]

    def outputs(self, inputs):
        return [[self.one_hot(self.piece_tags.get(i, "O")) for i in row] for row in inputs["input_ids"]]
