"""Pretrained BERT weights for the pipeline: Hugging Face checkpoints -> bert/modeling.py checkpoints.

`pretrained.fetch.fetch()` downloads, verifies and converts the pinned default model
(all-MiniLM-L6-v2) once into a cache; `convert()` converts any local Hugging Face BERT
directory. (`fetch` is not re-exported here: the name would hide the `pretrained.fetch` module.) Importing
this package does not import TensorFlow (only writing a checkpoint does).
"""

from pretrained.convert_hf import convert, read_manifest
from pretrained.errors import ConversionError, FetchError, PretrainedError
from pretrained.fetch import ALL_MINILM_L6_V2, PackageSource, default_cache_dir

__all__ = [
    "ALL_MINILM_L6_V2",
    "ConversionError",
    "FetchError",
    "PackageSource",
    "PretrainedError",
    "convert",
    "default_cache_dir",
    "read_manifest",
]
