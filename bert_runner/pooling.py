"""Which sentence vector a run's sentence-level head reads, chosen once and kept with the run.

`--pooling` when given, else what the run directory's checkpoints were trained with
(its `pooling.txt`; "cls" for checkpoints written before the file existed, and for
imported heads), else the `bert_config.json` field `pooling` (written by `pretrained/`
from a sentence-transformers model's own pooling), else "cls", the reference's pooled
[CLS]. The choice is saved beside the checkpoints, so evaluating, predicting and
exporting them later builds the head they were trained with even when the flag is not
repeated, or the config has changed; a flag that contradicts the checkpoints is refused.
"""

import os
from typing import Optional

import tensorflow.compat.v1 as tf

from bert_contract.model_config import CLS_POOLING, POOLINGS
from bert_runner import storage
from bert_runner.encoder import pooling as config_pooling
from bert_runner.errors import RunnerError

POOLING_FILE = "pooling.txt"


def resolve(flag: Optional[str], output_dir: str, bert_config) -> str:
    """The run's pooling (see the module docstring); RunnerError naming the flag or file when they disagree.

    `bert_config` was checked by `checks.load_bert_config`, its `pooling` field included.
    """
    if flag is not None and flag not in POOLINGS:
        raise RunnerError("--pooling=%s: must be one of %s" % (flag, ", ".join(POOLINGS)))
    saved = run_pooling(output_dir)
    if flag is not None and saved is not None and flag != saved:
        raise RunnerError("--pooling=%s: the checkpoints in --output_dir=%s were trained with --pooling=%s (%s); "
                          "use that, or another --output_dir" % (flag, output_dir, saved, _evidence(output_dir)))
    return flag or saved or config_pooling(bert_config)


def run_pooling(output_dir: Optional[str]) -> Optional[str]:
    """The pooling the run directory's checkpoints were trained with; None when it holds none yet."""
    if not tf.train.latest_checkpoint(output_dir or "."):
        return None
    path = os.path.join(output_dir or "", POOLING_FILE)
    if not storage.isfile(path):
        return CLS_POOLING  # written before pooling.txt existed, or an imported head: the pooled [CLS]
    saved = storage.read_bytes(path).decode("utf-8", "replace").strip()
    if saved not in POOLINGS:
        raise RunnerError("%s: %r is not a pooling (one of %s)" % (path, saved, ", ".join(POOLINGS)))
    return saved


def _evidence(output_dir: str) -> str:
    if storage.isfile(os.path.join(output_dir, POOLING_FILE)):
        return POOLING_FILE
    return "they have no %s: written before it, they read the pooled [CLS]" % POOLING_FILE


def save_pooling(output_dir: str, pooling: str) -> None:
    storage.write_text(os.path.join(output_dir, POOLING_FILE), pooling + "\n")
