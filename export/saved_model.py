"""Writing a versioned SavedModel from an estimator checkpoint.

On a local file system the export is built in a private directory
`<export_dir>/temp-export-<host>-<pid>-*` (its name, and a `writer.json` in it,
name the host and process writing it) and renamed to `<export_dir>/<timestamp>` when complete, so a
server polling the directory never sees a half-written numeric version. The
next export removes at once what a killed writer on this host left behind;
other `temp-*` directories (other hosts, older releases) after an hour.

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

import errno
import json
import logging
import os
import re
import shutil
import socket
import tempfile
import time
from typing import List, Optional, Sequence, Tuple

from bert_contract import WARMUP_FILE
from bert_runner import storage
from bert_runner.label_spec import PER_EXAMPLE, LabelSpec
from export.serving_input import serving_input_fn_builder
from export.warmup import warmup_requests, write_warmup_file
from featurizer import Featurizer

log = logging.getLogger("bert_runner")
# A `temp-*` export directory untouched this long was left by an interrupted export.
STALE_TEMP_SECONDS = 3600
# Uploaded last: its presence means every other file of the version is there.
SAVED_MODEL_FILES = ("saved_model.pb", "saved_model.pbtxt")


# In each local export's private directory: who writes it (so a later export knows it is abandoned).
WRITER_FILE = "writer.json"


def remove_stale_temp_dirs(export_dir: str, older_than: float = STALE_TEMP_SECONDS) -> None:
    """Deletes what interrupted exports left; servers ignore these non-numeric dirs anyway."""
    now = time.time()
    for name in storage.listdir(export_dir):
        path = os.path.join(export_dir, name)
        if not (name.startswith("temp-") and storage.isdir(path)):
            continue
        modified = storage.mtime(path)
        # Object stores keep no time for a "directory": leave it rather than guess.
        if _writer_is_gone(path) or (modified and now - modified > older_than):
            log.warning("removing %s, left by an interrupted export", path)
            storage.rmtree(path)


# `temp-export-<host>-<pid>-<mkdtemp's suffix, which has no "-">`: the writer is known from
# the moment the directory exists, even when it is killed before writing writer.json.
_NAMED_WRITER = re.compile(r"^temp-export-(?P<host>.+)-(?P<pid>\d+)-[^-]+$")


def _writer(path: str) -> Optional[Tuple[str, int]]:
    """(host, pid) of the process writing `path`: from its writer.json, else from its name."""
    try:
        with open(os.path.join(path, WRITER_FILE)) as f:
            writer = json.load(f)
        return writer["host"], int(writer["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        named = _NAMED_WRITER.match(os.path.basename(path))
        return (named.group("host"), int(named.group("pid"))) if named else None


def _writer_is_gone(path: str) -> bool:
    """True when `path`'s writer is a process of this host that no longer runs."""
    writer = _writer(path)
    if writer is None:
        return False  # not ours: the age rule decides
    host, pid = writer
    if host != socket.gethostname():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    return False


def _private_export_dir(export_dir: str) -> str:
    """A directory beside the versions (same file system: the final rename is atomic) for one export."""
    path = tempfile.mkdtemp(prefix="temp-export-%s-%d-" % (socket.gethostname(), os.getpid()), dir=export_dir)
    with open(os.path.join(path, WRITER_FILE), "w") as f:
        json.dump({"host": socket.gethostname(), "pid": os.getpid()}, f)
    return path


def _publish_local_version(built: str, export_dir: str) -> str:
    """Renames a finished version into `export_dir`, under the next free number if its own is taken."""
    number = int(os.path.basename(built))
    while True:
        target = os.path.join(export_dir, str(number))
        if not os.path.exists(target):
            try:
                os.rename(built, target)
                return target
            except OSError as e:  # another export took the number meanwhile
                if e.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                    raise
        number += 1


def export_saved_model(
    estimator,
    export_dir: str,
    featurizer: Featurizer,
    dynamic_seq_length: bool = False,
    checkpoint_path: Optional[str] = None,
    warmup_texts: Sequence[str] = (),
    label_spec: LabelSpec = PER_EXAMPLE,
    num_labels: int = 0,
) -> str:
    """Exports the latest (or given) checkpoint; returns the new version directory.

    `label_spec` and `num_labels` shape the `label_ids` input and the warm-up requests' zeros.
    """
    storage.makedirs(export_dir)
    remove_stale_temp_dirs(export_dir)
    serving_input_fn = serving_input_fn_builder(
        featurizer.max_seq_length, dynamic_seq_length, featurizer.vocab["[SEP]"], label_spec, num_labels
    )
    remote = storage.is_remote(export_dir)
    scratch = tempfile.mkdtemp(prefix="export-")
    private = os.path.join(scratch, "versions") if remote else _private_export_dir(export_dir)
    try:
        warmup_file = write_warmup_file(
            os.path.join(scratch, WARMUP_FILE),
            warmup_requests(
                featurizer,
                list(warmup_texts),
                dynamic_seq_length=dynamic_seq_length,
                label_spec=label_spec,
                num_labels=num_labels,
            ),
        )
        path = estimator.export_saved_model(
            private, serving_input_fn, assets_extra={WARMUP_FILE: warmup_file}, checkpoint_path=checkpoint_path
        )
        path = path.decode("utf-8") if isinstance(path, bytes) else path
        if remote:
            path = _upload_version(path, os.path.join(export_dir, os.path.basename(path)))
        else:
            path = _publish_local_version(path, export_dir)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        if not remote:
            shutil.rmtree(private, ignore_errors=True)
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
