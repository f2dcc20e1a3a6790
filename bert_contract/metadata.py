"""`ModelInfo`: what a client must know about an export, carried inside it.

The export stores it as JSON in its `metadata` signature, so a client talking to
a stock `tensorflow_model_server` can name the classes and refuse to send ids
made with another vocab or casing. Fields are only ever added, with defaults
that describe exports written before them, so old exports keep loading.
"""

import json
from typing import List, NamedTuple, Optional

from bert_contract.names import SEQUENCE_CLASSIFICATION, TASK_KINDS

# Bumped when featurization changes in a way that changes ids.
FEATURIZER_VERSION = 1
# Bumped when a field is added to ModelInfo; readers accept every older version.
# 3: tag_scheme and doc_stride (token classifiers). 4: thresholds (multi-label classifiers).
# 5: text_pairs (whether the model was trained on sentence pairs).
METADATA_SCHEMA_VERSION = 5
# A multi-label classifier exported without tuned thresholds decides every label at this value.
DEFAULT_THRESHOLD = 0.5


class MetadataError(ValueError):
    """Model metadata that is malformed, or that does not fit the client's settings."""


class ModelInfo(NamedTuple):
    labels: List[str]
    vocab_sha256: str
    do_lower_case: bool
    max_seq_length: int
    task_name: str = ""
    # True when the export's sequence dimension is -1 (pad to the batch's longest).
    dynamic_seq_length: bool = False
    featurizer_version: int = FEATURIZER_VERSION
    # One of names.TASK_KINDS: what `output` holds and how a client decodes it.
    task_kind: str = SEQUENCE_CLASSIFICATION
    schema_version: int = METADATA_SCHEMA_VERSION
    # Token classifiers: `labels` are the tags in this scheme ("IOB2"), in id order;
    # "" for a sequence classifier.
    tag_scheme: str = ""
    # Token classifiers: a text longer than max_seq_length - 2 tokens is cut into
    # windows starting this many tokens apart, as in training; 0 for a sequence classifier.
    doc_stride: int = 0
    # Multi-label classifiers: one decision threshold per label, in `labels` order (all
    # DEFAULT_THRESHOLD unless tuned on dev); [] for the other kinds.
    thresholds: List[float] = []
    # True: trained on sentence pairs (text, second text); False: on single texts, so a second
    # text is refused; None: not recorded (exports before schema 5), anything is taken.
    text_pairs: Optional[bool] = None

    def to_json(self) -> str:
        return json.dumps(self._asdict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "ModelInfo":
        try:
            data = json.loads(text)
            info = cls(
                labels=[str(label) for label in data["labels"]],
                vocab_sha256=str(data["vocab_sha256"]),
                do_lower_case=bool(data["do_lower_case"]),
                max_seq_length=int(data["max_seq_length"]),
                task_name=str(data.get("task_name", "")),
                dynamic_seq_length=bool(data.get("dynamic_seq_length", False)),
                featurizer_version=int(data.get("featurizer_version", FEATURIZER_VERSION)),
                task_kind=str(data.get("task_kind", SEQUENCE_CLASSIFICATION)),
                schema_version=int(data.get("schema_version", 1)),
                tag_scheme=str(data.get("tag_scheme", "")),
                doc_stride=int(data.get("doc_stride", 0)),
                thresholds=[float(t) for t in data.get("thresholds", [])],
                text_pairs=None if data.get("text_pairs") is None else bool(data["text_pairs"]),
            )
        except (ValueError, KeyError, TypeError) as e:
            raise MetadataError("model metadata is not valid: %s" % e)
        if info.task_kind not in TASK_KINDS:
            raise MetadataError(
                "model metadata names task kind %r; this client knows %s" % (info.task_kind, ", ".join(TASK_KINDS))
            )
        if info.thresholds and len(info.thresholds) != len(info.labels):
            raise MetadataError(
                "model metadata has %d thresholds for %d labels" % (len(info.thresholds), len(info.labels))
            )
        return info

    def check_featurizer(self, vocab_sha256: str, do_lower_case: bool, max_seq_length: Optional[int] = None) -> None:
        """Raises MetadataError when local settings would produce other ids than training did."""
        problems = []
        if vocab_sha256 != self.vocab_sha256:
            problems.append(
                "vocab sha256 %s... differs from the model's %s..." % (vocab_sha256[:12], self.vocab_sha256[:12])
            )
        if bool(do_lower_case) != self.do_lower_case:
            problems.append(
                "do_lower_case=%s but the model was trained with do_lower_case=%s"
                % (do_lower_case, self.do_lower_case)
            )
        if max_seq_length is not None and max_seq_length > self.max_seq_length:
            problems.append("max_seq_length=%d exceeds the model's %d" % (max_seq_length, self.max_seq_length))
        if self.featurizer_version != FEATURIZER_VERSION:
            problems.append(
                "the model was exported with featurizer version %d, this is version %d"
                % (self.featurizer_version, FEATURIZER_VERSION)
            )
        if problems:
            raise MetadataError("featurizer does not match the model: " + "; ".join(problems))
