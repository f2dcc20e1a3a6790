"""Writing a versioned SavedModel from an estimator checkpoint.

The estimator builds the export in `<export_dir>/temp-<timestamp>` and renames
it to `<export_dir>/<timestamp>` when complete, so a server polling the
directory never sees a half-written numeric version.
"""

import logging
import os
import shutil
import tempfile
import time
from typing import Optional, Sequence

from bert_contract import WARMUP_FILE
from export.serving_input import serving_input_fn_builder
from export.warmup import warmup_requests, write_warmup_file
from featurizer import Featurizer

log = logging.getLogger("bert_runner")
# A `temp-*` export directory untouched this long was left by an interrupted export.
STALE_TEMP_SECONDS = 3600


def remove_stale_temp_dirs(export_dir: str, older_than: float = STALE_TEMP_SECONDS) -> None:
    """Deletes what interrupted exports left; servers ignore these non-numeric dirs anyway."""
    now = time.time()
    for name in os.listdir(export_dir):
        path = os.path.join(export_dir, name)
        if name.startswith("temp-") and os.path.isdir(path) and now - os.path.getmtime(path) > older_than:
            log.warning("removing %s, left by an interrupted export", path)
            shutil.rmtree(path, ignore_errors=True)


def export_saved_model(
    estimator,
    export_dir: str,
    featurizer: Featurizer,
    dynamic_seq_length: bool = False,
    checkpoint_path: Optional[str] = None,
    warmup_texts: Sequence[str] = (),
    label_ids_per_token: bool = False,
) -> str:
    """Exports the latest (or given) checkpoint; returns the new version directory."""
    os.makedirs(export_dir, exist_ok=True)
    remove_stale_temp_dirs(export_dir)
    serving_input_fn = serving_input_fn_builder(
        featurizer.max_seq_length, dynamic_seq_length, featurizer.vocab["[SEP]"], label_ids_per_token
    )
    scratch = tempfile.mkdtemp(prefix="warmup-")
    try:
        warmup_file = write_warmup_file(
            os.path.join(scratch, WARMUP_FILE),
            warmup_requests(
                featurizer,
                list(warmup_texts),
                dynamic_seq_length=dynamic_seq_length,
                label_ids_per_token=label_ids_per_token,
            ),
        )
        path = estimator.export_saved_model(
            export_dir,
            serving_input_fn,
            assets_extra={WARMUP_FILE: warmup_file},
            checkpoint_path=checkpoint_path,
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    path = path.decode("utf-8") if isinstance(path, bytes) else path
    log.info("exported SavedModel version %s", path)
    return path
