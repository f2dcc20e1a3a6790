"""Signature and tensor names of an export, and the task kinds it can serve.

`serving_default` takes the training features by name (int32, `[-1, L]`, with
`L = -1` for a dynamic-length export) plus `label_ids`, which the reference
`model_fn` reads in every mode (clients send zeros); it answers `output`:
probabilities `[-1, num_labels]` for a sequence classifier (softmax) and for a
multi-label classifier (one sigmoid per label), `[-1, L, num_tags]` for a token
classifier. `metadata` answers one JSON `ModelInfo` per row, and
`vocab` the exact bytes of the export's vocab.txt per row (its sha256 is the
metadata's `vocab_sha256`), so a client needs only the server address and the
model name. The `_bytes` suffix makes TF Serving's REST API send it as base64.
"""

DEFAULT_SIGNATURE = "serving_default"
METADATA_SIGNATURE = "metadata"
VOCAB_SIGNATURE = "vocab"

INPUT_IDS = "input_ids"
INPUT_MASK = "input_mask"
SEGMENT_IDS = "segment_ids"
LABEL_IDS = "label_ids"
# What the featurizer fills, in the order the reference writes them.
FEATURE_INPUTS = (INPUT_IDS, INPUT_MASK, SEGMENT_IDS)
# Every placeholder of `serving_default`.
SERVING_INPUTS = (LABEL_IDS,) + FEATURE_INPUTS
INPUT_DTYPE = "int32"

SERVING_OUTPUT = "output"
METADATA_OUTPUT = "metadata_json"
VOCAB_OUTPUT = "vocab_bytes"

SEQUENCE_CLASSIFICATION = "sequence_classification"
TOKEN_CLASSIFICATION = "token_classification"
# One sigmoid per label; a text gets every label whose probability reaches its threshold
# (`ModelInfo.thresholds`). `label_ids` is multi-hot `[-1, num_labels]`.
MULTI_LABEL_CLASSIFICATION = "multi_label_classification"
TASK_KINDS = (SEQUENCE_CLASSIFICATION, TOKEN_CLASSIFICATION, MULTI_LABEL_CLASSIFICATION)

# `--export_onnx`: `<version>/onnx/` beside the SavedModel holds the converted `serving_default`
# (same input and output names) with what the TF-free ONNX runtime side needs instead of the
# `metadata` and `vocab` signatures: the `ModelInfo` JSON (written last) and the vocab's bytes,
# and the sha256 of the model and the vocab (`sha256sum` format), which a copy is checked against.
ONNX_DIR = "onnx"
ONNX_MODEL_FILE = "model.onnx"
ONNX_INFO_FILE = "model_info.json"
ONNX_VOCAB_FILE = "vocab.txt"
ONNX_DIGESTS_FILE = "sha256sums.txt"
