"""Remove what a killed checkpoint save left in the output directory, before training resumes.

TF's Saver writes a sharded V2 checkpoint into `model.ckpt-N_temp_<uuid>/part-*`,
merges it into `model.ckpt-N.index`/`.data-*` (through `*.tempstate<n>` files
renamed into place) and deletes the directory; `checkpoint` is rewritten
through `checkpoint.tmp<uuid>`. A process killed in between leaves those
behind, and no later save touches them. Nothing reads them, so the chief
removes them when training starts, but only while it holds the output
directory's training lock (`.training.lock`, an flock held until training
ends): a second trainer writing into the same directory on this host keeps
its files. On object stores (no flock) only leftovers older than an hour go.
"""

import contextlib
import errno
import fcntl
import logging
import os
import re
import time

from bert_runner import storage

log = logging.getLogger("bert_runner")

LOCK_FILE = ".training.lock"
REMOTE_STALE_SECONDS = 3600
_LEFTOVER = re.compile(
    r"^(?:.+\.ckpt-\d+_temp_[0-9a-f]{32}"  # the shards' directory
    r"|.+\.ckpt-\d+\.(?:index|data-\d+-of-\d+)\.tempstate\d+"  # a merged file not yet renamed
    r"|checkpoint\.tmp[0-9a-f]{32})$"  # the checkpoint state file not yet renamed
)


def is_leftover(name: str) -> bool:
    return bool(_LEFTOVER.match(name))


@contextlib.contextmanager
def training_lock(output_dir: str):
    """Yields True while this process holds the output dir's training lock (None on object stores,
    False when another live process on this host holds it)."""
    if storage.is_remote(output_dir):
        yield None
        return
    storage.makedirs(output_dir)
    fd = os.open(os.path.join(output_dir, LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as e:
            if e.errno not in (errno.EWOULDBLOCK, errno.EACCES):
                raise
            yield False
            return
        yield True
    finally:
        os.close(fd)  # closing releases the flock


def remove_leftovers(output_dir: str, locked) -> list:
    """Deletes abandoned checkpoint temp files/dirs (see the module doc); returns their names."""
    if locked is False or not storage.isdir(output_dir):
        if locked is False:
            log.warning("another process holds %s: leaving its checkpoint temp files alone",
                        os.path.join(output_dir, LOCK_FILE))
        return []
    removed = []
    now = time.time()
    for name in storage.listdir(output_dir):
        if not is_leftover(name):
            continue
        path = os.path.join(output_dir, name)
        if locked is None:  # object store: no lock, so only the old ones
            modified = storage.mtime(path)
            if not modified or now - modified < REMOTE_STALE_SECONDS:
                continue
        log.warning("removing %s, left by an interrupted checkpoint save", path)
        if storage.isdir(path):
            storage.rmtree(path)
        else:
            storage.remove(path)
        removed.append(name)
    return removed
