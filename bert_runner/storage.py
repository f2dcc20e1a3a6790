"""Every file the trainer and exporter touch, through `tf.io.gfile`, so `gs://` and `s3://` paths work.

Local paths keep their atomic renames. Object stores (`gs://`, `s3://`, ...)
have none: there a single file is written whole by its upload (a reader never
sees half of it), and `rename` is a copy then a delete, so whole directories
cannot be published atomically (see `export/saved_model.py` for what the
exporter does instead). TensorFlow is imported on first use, so modules that
only read data (tasks, used by TF-free tools) stay importable without it.
"""

import os
import re
from typing import List

from bert_contract import stream_sha256

_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://", re.IGNORECASE)


def _gfile():
    import tensorflow.compat.v1 as tf

    return tf.io.gfile


def is_remote(path: str) -> bool:
    """True for URLs such as `gs://bucket/x` or `s3://bucket/x` (no atomic rename there)."""
    return bool(_SCHEME.match(path or ""))


def is_absolute(path: str) -> bool:
    return is_remote(path) or os.path.isabs(path)


def exists(path: str) -> bool:
    return _gfile().exists(path)


def isdir(path: str) -> bool:
    return _gfile().isdir(path)


def isfile(path: str) -> bool:
    return exists(path) and not isdir(path)


def listdir(path: str) -> List[str]:
    # Object stores list "directories" with a trailing slash.
    return [name.rstrip("/") for name in _gfile().listdir(path)]


def makedirs(path: str) -> None:
    _gfile().makedirs(path)


def remove(path: str) -> None:
    _gfile().remove(path)


def rmtree(path: str) -> None:
    _gfile().rmtree(path)


def mtime(path: str) -> float:
    """Modification time in seconds; 0 where the store keeps none (object-store "directories")."""
    return _gfile().stat(path).mtime_nsec / 1e9


def read_bytes(path: str) -> bytes:
    """The file's content; OSError (as `open` raises) when it cannot be read."""
    import tensorflow.compat.v1 as tf

    try:
        with _gfile().GFile(path, "rb") as f:
            return f.read()
    except tf.errors.OpError as e:
        raise OSError(e.message)


def rename(source: str, target: str) -> None:
    """Atomic on local file systems; a copy then a delete on object stores."""
    _gfile().rename(source, target, overwrite=True)


def staging_path(path: str) -> str:
    """Where to write a file that `publish` then moves to `path`.

    Locally a temporary name beside it (renamed atomically); on an object store
    `path` itself, since an object appears only when its upload is complete.
    """
    return path if is_remote(path) else "%s.tmp-%d" % (path, os.getpid())


def publish(staged: str, path: str) -> None:
    if staged != path:
        rename(staged, path)


def write_atomic(path: str, data: bytes) -> None:
    """Writes `path` so that no reader ever sees part of it."""
    staged = staging_path(path)
    with _gfile().GFile(staged, "wb") as f:
        f.write(data)
    publish(staged, path)


def write_text(path: str, text: str) -> None:
    write_atomic(path, text.encode("utf-8"))


def copy(source: str, target: str) -> None:
    _gfile().copy(source, target, overwrite=True)


def file_sha256(path: str) -> str:
    """The same digest as `bert_contract.file_sha256`, for any file system."""
    with _gfile().GFile(path, "rb") as f:
        return stream_sha256(f)
