"""Writing a versioned SavedModel from an estimator checkpoint.

On a local file system the estimator builds the export in
`<export_dir>/temp-<timestamp>` and renames it to `<export_dir>/<timestamp>`
when complete, so a server polling the directory never sees a half-written
numeric version.

Object stores (`gs://`, `s3://`) have no rename: TensorFlow would copy the
`temp-*` directory object by object, so the numeric version would appear
before it is complete. There the export is built in a local temporary
directory and uploaded with `saved_model.pb` last: a server that looks while
the upload runs finds no `saved_model.pb`, fails that load and retries it
(TF Serving's `--max_num_load_retries`), and never loads a model whose
variables are still being copied. The version directory is still visible
before the upload ends; point servers at an object-store export only with
that retry in mind, or export locally and sync.
"""

import logging
import os
import shutil
import tempfile
import time
from typing import List, Optional, Sequence

from bert_contract import WARMUP_FILE
from bert_runner import storage
from export.serving_input import serving_input_fn_builder
from export.warmup import warmup_requests, write_warmup_file
from featurizer import Featurizer

log = logging.getLogger("bert_runner")
# A `temp-*` export directory untouched this long was left by an interrupted export.
STALE_TEMP_SECONDS = 3600
# Uploaded last: its presence means every other file of the version is there.
SAVED_MODEL_FILES = ("saved_model.pb", "saved_model.pbtxt")


def remove_stale_temp_dirs(export_dir: str, older_than: float = STALE_TEMP_SECONDS) -> None:
    """Deletes what interrupted exports left; servers ignore these non-numeric dirs anyway."""
    now = time.time()
    for name in storage.listdir(export_dir):
        path = os.path.join(export_dir, name)
        if not (name.startswith("temp-") and storage.isdir(path)):
            continue
        modified = storage.mtime(path)
        # Object stores keep no time for a "directory": leave it rather than guess.
        if modified and now - modified > older_than:
            log.warning("removing %s, left by an interrupted export", path)
            storage.rmtree(path)


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
    storage.makedirs(export_dir)
    remove_stale_temp_dirs(export_dir)
    serving_input_fn = serving_input_fn_builder(
        featurizer.max_seq_length, dynamic_seq_length, featurizer.vocab["[SEP]"], label_ids_per_token
    )
    scratch = tempfile.mkdtemp(prefix="export-")
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
        remote = storage.is_remote(export_dir)
        path = estimator.export_saved_model(
            os.path.join(scratch, "versions") if remote else export_dir,
            serving_input_fn,
            assets_extra={WARMUP_FILE: warmup_file},
            checkpoint_path=checkpoint_path,
        )
        path = path.decode("utf-8") if isinstance(path, bytes) else path
        if remote:
            path = _upload_version(path, os.path.join(export_dir, os.path.basename(path)))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    log.info("exported SavedModel version %s", path)
    return path


def _upload_version(local_dir: str, target: str) -> str:
    """Copies a finished local version to an object store, `saved_model.pb` last."""
    files = []  # type: List[str]
    for directory, _, names in os.walk(local_dir):
        files.extend(os.path.relpath(os.path.join(directory, name), local_dir) for name in names)
    files.sort(key=lambda name: (name in SAVED_MODEL_FILES, name))
    for name in files:
        destination = os.path.join(target, name)
        storage.makedirs(os.path.dirname(destination))
        storage.copy(os.path.join(local_dir, name), destination)
    return target
