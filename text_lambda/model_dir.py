"""The onnx backend's MODEL_DIR: a local `<version>/onnx/` directory, or `s3://bucket/prefix` holding one.

Serverless functions keep models in object stores. An `s3://` MODEL_DIR is
downloaded once per container into the function's temporary storage (`/tmp`
on Lambda), into a staging directory renamed into place when complete, and
every copy is checked before use against the digests the export wrote beside
the model (`sha256sums.txt`; the vocab also against `model_info.json`). Each
misfit is one clear line (`ConfigurationError`): not an ONNX directory (and,
for an export's version directory, the `<version>/onnx` to use instead),
files missing, too big for the free temporary storage, or digests that differ.
boto3 reads the usual AWS settings (credentials, `AWS_REGION`, `AWS_ENDPOINT_URL_S3`).
"""

import hashlib
import logging
import os
import shutil
import tempfile
from typing import Dict, List, Tuple

from bert_contract import ONNX_DIGESTS_FILE, ONNX_DIR, ONNX_INFO_FILE, ONNX_MODEL_FILE, ONNX_VOCAB_FILE, file_sha256
from text_api.errors import ConfigurationError

log = logging.getLogger("text_lambda")

REQUIRED = (ONNX_MODEL_FILE, ONNX_VOCAB_FILE, ONNX_INFO_FILE)
SAVED_MODEL = "saved_model.pb"
_COPIES = {}  # type: Dict[str, str]  # s3 URL -> its checked local copy, for the container's life


def local_model_dir(model_dir: str) -> str:
    """A checked local directory holding the ONNX model of `model_dir`."""
    if model_dir.startswith("s3://"):
        url = model_dir.rstrip("/")
        if url not in _COPIES:
            _COPIES[url] = _download(url)
        return _COPIES[url]
    _check_names(model_dir, os.listdir(model_dir) if os.path.isdir(model_dir) else None,
                 os.path.exists(os.path.join(model_dir, ONNX_DIR, ONNX_INFO_FILE)))
    verify(model_dir, model_dir)
    return model_dir


def _check_names(where: str, names, has_onnx_below: bool) -> None:
    """ConfigurationError unless `names` (None: no such directory) are an ONNX model directory's."""
    if names is None:
        raise ConfigurationError("MODEL_DIR=%s: no such directory" % where)
    if ONNX_INFO_FILE not in names:
        if has_onnx_below:
            raise ConfigurationError("MODEL_DIR=%s is an export's version directory; set MODEL_DIR=%s/%s"
                                     % (where, where.rstrip("/"), ONNX_DIR))
        if SAVED_MODEL in names:
            raise ConfigurationError("MODEL_DIR=%s is a SavedModel without an ONNX model: convert it with "
                                     "`python -m export.onnx <version dir>` and set MODEL_DIR to its %s/" % (where, ONNX_DIR))
        raise ConfigurationError("MODEL_DIR=%s holds no %s: give an export's <version>/%s/ (written by --export_onnx)"
                                 % (where, ONNX_INFO_FILE, ONNX_DIR))
    missing = [name for name in REQUIRED if name not in names]
    if missing:
        raise ConfigurationError("MODEL_DIR=%s lacks %s (written by --export_onnx)" % (where, ", ".join(missing)))


def verify(local: str, source: str) -> None:
    """Checks the files against `sha256sums.txt`; ConfigurationError naming the file that differs."""
    path = os.path.join(local, ONNX_DIGESTS_FILE)
    if not os.path.exists(path):
        log.warning("%s has no %s (converted before it was written): %s is not checked", source, ONNX_DIGESTS_FILE,
                    ONNX_MODEL_FILE)
        return
    for digest, name in _digests(path, source):
        actual = file_sha256(os.path.join(local, name))
        if actual != digest:
            raise ConfigurationError("MODEL_DIR=%s: %s has sha256 %s... but %s says %s...; the copy is damaged or "
                                     "mixes two exports" % (source, name, actual[:12], ONNX_DIGESTS_FILE, digest[:12]))


def _digests(path: str, source: str) -> List[Tuple[str, str]]:
    pairs = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            fields = line.split()
            if len(fields) != 2 or fields[1] not in REQUIRED or len(fields[0]) != 64:
                raise ConfigurationError("MODEL_DIR=%s: %s line %d is not `<sha256>  <file>`" % (source, ONNX_DIGESTS_FILE, number))
            pairs.append((fields[0], fields[1]))
    return pairs


def _download(url: str) -> str:
    """The objects under `url` copied to local temporary storage, checked; their directory."""
    import boto3  # the onnx backend's, and only for object stores
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, _, prefix = url[len("s3://"):].partition("/")
    base = prefix + "/" if prefix else ""
    try:
        s3 = boto3.client("s3")
        sizes = {}  # type: Dict[str, int]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=base):
            for item in page.get("Contents", []):
                sizes[item["Key"][len(base):]] = item["Size"]
        _check_names(url, set(sizes), "%s/%s" % (ONNX_DIR, ONNX_INFO_FILE) in sizes)
        names = [name for name in (ONNX_MODEL_FILE, ONNX_VOCAB_FILE, ONNX_DIGESTS_FILE, ONNX_INFO_FILE) if name in sizes]
        scratch = tempfile.gettempdir()
        needed, free = sum(sizes[name] for name in names), shutil.disk_usage(scratch).free
        if needed > free:
            raise ConfigurationError("MODEL_DIR=%s needs %.0f MB but %s has %.0f MB free; give the function more "
                                     "ephemeral storage" % (url, needed / 1e6, scratch, free / 1e6))
        target = os.path.join(scratch, "onnx-model-" + hashlib.sha256(url.encode("utf-8")).hexdigest()[:16])
        staging = tempfile.mkdtemp(prefix="onnx-download-", dir=scratch)
        try:
            for name in names:  # model_info.json last, as the export writes it
                s3.download_file(bucket, base + name, os.path.join(staging, name))
            verify(staging, url)
            shutil.rmtree(target, ignore_errors=True)
            os.rename(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    except (BotoCoreError, ClientError) as e:
        raise ConfigurationError("MODEL_DIR=%s cannot be read: %s" % (url, str(e).splitlines()[0]))
    log.info("MODEL_DIR=%s copied to %s (%d files, checked)", url, target, len(names))
    return target
