"""What a client must know about an exported model, carried inside the SavedModel.

The export stores this as JSON in its `metadata` signature (see export/), so a
client talking to a stock `tensorflow_model_server` can name the classes and
refuse to send ids made with a different vocab or casing.
"""

import json
from typing import List, NamedTuple, Optional

from featurizer.errors import FeaturizerError

# Bumped when featurization changes in a way that changes ids.
FEATURIZER_VERSION = 1


class ModelInfo(NamedTuple):
    labels: List[str]
    vocab_sha256: str
    do_lower_case: bool
    max_seq_length: int
    task_name: str = ""
    # True when the export's sequence dimension is -1 (pad to the batch's longest).
    dynamic_seq_length: bool = False
    featurizer_version: int = FEATURIZER_VERSION

    def to_json(self) -> str:
        return json.dumps(self._asdict(), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> "ModelInfo":
        try:
            data = json.loads(text)
            return cls(
                labels=[str(label) for label in data["labels"]],
                vocab_sha256=str(data["vocab_sha256"]),
                do_lower_case=bool(data["do_lower_case"]),
                max_seq_length=int(data["max_seq_length"]),
                task_name=str(data.get("task_name", "")),
                dynamic_seq_length=bool(data.get("dynamic_seq_length", False)),
                featurizer_version=int(data.get("featurizer_version", FEATURIZER_VERSION)),
            )
        except (ValueError, KeyError, TypeError) as e:
            raise FeaturizerError("model metadata is not valid: %s" % e)

    def check_featurizer(self, vocab_sha256: str, do_lower_case: bool, max_seq_length: Optional[int] = None) -> None:
        """Raises FeaturizerError when local settings would produce other ids than training did."""
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
            problems.append(
                "max_seq_length=%d exceeds the model's %d" % (max_seq_length, self.max_seq_length)
            )
        if self.featurizer_version != FEATURIZER_VERSION:
            problems.append(
                "the model was exported with featurizer version %d, this is version %d"
                % (self.featurizer_version, FEATURIZER_VERSION)
            )
        if problems:
            raise FeaturizerError("featurizer does not match the model: " + "; ".join(problems))
