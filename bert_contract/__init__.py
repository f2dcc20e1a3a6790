"""The export contract: what training, export, servers and clients must agree on.

TensorFlow-free and dependency-free, so every side imports it: the trainer
(`bert_runner`), the exporter (`export`), the local server (`model_server`),
the client (`serving_client`) and the featurizer. A name, shape, schema field
or limit that two sides share is defined here once, never as a new literal.
"""

from bert_contract.digest import bytes_sha256, file_sha256, stream_sha256
from bert_contract.metadata import DEFAULT_THRESHOLD, FEATURIZER_VERSION, METADATA_SCHEMA_VERSION, MetadataError, ModelInfo
from bert_contract.names import (
    DEFAULT_SIGNATURE,
    FEATURE_INPUTS,
    INPUT_DTYPE,
    INPUT_IDS,
    INPUT_MASK,
    LABEL_IDS,
    METADATA_OUTPUT,
    METADATA_SIGNATURE,
    MULTI_LABEL_CLASSIFICATION,
    ONNX_DIGESTS_FILE,
    ONNX_DIR,
    ONNX_INFO_FILE,
    ONNX_MODEL_FILE,
    ONNX_VOCAB_FILE,
    SEGMENT_IDS,
    SERVING_INPUTS,
    SERVING_OUTPUT,
    TASK_KINDS,
    TOKEN_CLASSIFICATION,
    SEQUENCE_CLASSIFICATION,
    VOCAB_OUTPUT,
    VOCAB_SIGNATURE,
)
from bert_contract.limits import MAX_WARMUP_RECORDS, WARMUP_FILE
from bert_contract.status import HTTP_STATUS, http_status
from bert_contract.textfile import NotUtf8Error, decode_utf8, read_utf8

__all__ = [
    "DEFAULT_SIGNATURE",
    "DEFAULT_THRESHOLD",
    "FEATURE_INPUTS",
    "FEATURIZER_VERSION",
    "HTTP_STATUS",
    "INPUT_DTYPE",
    "INPUT_IDS",
    "INPUT_MASK",
    "LABEL_IDS",
    "MAX_WARMUP_RECORDS",
    "METADATA_OUTPUT",
    "METADATA_SCHEMA_VERSION",
    "METADATA_SIGNATURE",
    "MetadataError",
    "MULTI_LABEL_CLASSIFICATION",
    "NotUtf8Error",
    "ONNX_DIGESTS_FILE",
    "ONNX_DIR",
    "ONNX_INFO_FILE",
    "ONNX_MODEL_FILE",
    "ONNX_VOCAB_FILE",
    "ModelInfo",
    "SEGMENT_IDS",
    "SEQUENCE_CLASSIFICATION",
    "SERVING_INPUTS",
    "SERVING_OUTPUT",
    "TASK_KINDS",
    "TOKEN_CLASSIFICATION",
    "VOCAB_OUTPUT",
    "VOCAB_SIGNATURE",
    "WARMUP_FILE",
    "bytes_sha256",
    "file_sha256",
    "http_status",
    "decode_utf8",
    "read_utf8",
    "stream_sha256",
]
