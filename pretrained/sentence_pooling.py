"""The sentence vector a sentence-transformers model was trained to give, read from its own files.

A sentence-transformers directory (all-MiniLM-L6-v2's) is a Hugging Face BERT directory
plus `modules.json`, which lists its modules; the Pooling module's `config.json`
(`1_Pooling/config.json`) says which vector it returns. Mean pooling becomes the
converted config's `pooling: "mean"`, so the classifier fine-tunes on the vector the
encoder was trained for; its BERT pooler never was (its bias is all zeros). A plain
Hugging Face directory has no `modules.json` and keeps the pooled [CLS].
"""

import json
import os
from typing import List, Optional, Tuple

from bert_contract.model_config import MEAN_POOLING
from pretrained.errors import ConversionError
from pretrained.hf_config import read_json

MODULES = "modules.json"
POOLING_MODULE = "sentence_transformers.models.Pooling"
POOLING_CONFIG = "config.json"
MEAN_MODE = "pooling_mode_mean_tokens"


def read_pooling(hf_dir: str) -> Tuple[Optional[str], List[str]]:
    """("mean" or None, notes): None keeps the default, the pooled [CLS]."""
    modules_path = os.path.join(hf_dir, MODULES)
    if not os.path.isfile(modules_path):
        return None, []
    modules = _read_json(modules_path)
    paths = [m.get("path") for m in modules if isinstance(m, dict) and m.get("type") == POOLING_MODULE] \
        if isinstance(modules, list) else None
    if paths is None:
        raise ConversionError("%s: not a sentence-transformers module list (a JSON list of modules)" % modules_path)
    if not paths:
        return None, ["%s lists no Pooling module: the classifier reads the pooled [CLS]" % modules_path]
    config_path = os.path.join(hf_dir, paths[0] or "", POOLING_CONFIG)
    modes = sorted(key for key, on in read_json(config_path).items() if key.startswith("pooling_mode_") and on is True)
    if modes == [MEAN_MODE]:
        return MEAN_POOLING, ["%s: mean pooling, so the classifier reads the mean of the token vectors "
                              "(pooling \"mean\" in bert_config.json; --pooling=cls overrides it)" % config_path]
    return None, ["%s: pooling %s has no counterpart here: the classifier reads the pooled [CLS]"
                  % (config_path, " + ".join(modes) or "(none)")]


def _read_json(path: str):
    """Any JSON value (modules.json is a list, which hf_config.read_json refuses)."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError) as e:
        raise ConversionError("cannot read %s: %s" % (path, e)) from None
