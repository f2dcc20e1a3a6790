"""The onnx backend with MODEL_DIR=s3://bucket/prefix, against a local S3 emulator (moto's server).

The tiny export's `<version>/onnx/` is uploaded as an export would be; the
handler downloads it once per container, checks it against the digests the
export wrote, and answers as with the local directory. What does not fit is
one line: a version prefix (names its `onnx/`), a damaged copy, no room.
"""

import json
import os
import shutil

import pytest

pytest.importorskip("onnxruntime", reason="the onnx backend's packages are not installed (make setup-lambda)")
boto3 = pytest.importorskip("boto3", reason="boto3 and moto are not installed (make setup-lambda)")
pytest.importorskip("moto", reason="boto3 and moto are not installed (make setup-lambda)")

from text_lambda import handler as handler_module  # noqa: E402
from text_lambda import model_dir as model_dir_module  # noqa: E402

from s3_emulator import CREDENTIALS, moto_server  # noqa: E402  (tests/helpers)

BUCKET = "models"
TEXTS = ["the movie was good", "awful film , i hate it"]


@pytest.fixture(scope="module")
def s3(tiny_export):
    """A bucket holding the tiny export's version (SavedModel files and its onnx/) under tiny/<version>/."""
    with moto_server() as endpoint:
        client = boto3.client("s3", endpoint_url="http://" + endpoint, region_name="us-east-1",
                              aws_access_key_id="testing", aws_secret_access_key="testing")
        client.create_bucket(Bucket=BUCKET)
        version_dir = tiny_export["export_path"]
        prefix = "tiny/%s" % os.path.basename(version_dir)
        for root, _, files in os.walk(version_dir):
            for name in files:
                path = os.path.join(root, name)
                client.upload_file(path, BUCKET, "%s/%s" % (prefix, os.path.relpath(path, version_dir)))
        yield {"endpoint": endpoint, "client": client, "version": "s3://%s/%s" % (BUCKET, prefix)}


@pytest.fixture
def cold_start(s3, monkeypatch, tmp_path):
    """handler() on a fresh container: this bucket, an empty temporary directory, no copies yet."""
    for name, value in dict(CREDENTIALS, AWS_ENDPOINT_URL_S3="http://" + s3["endpoint"], BACKEND="onnx",
                            MODEL_NAME="tiny").items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(handler_module, "_BACKEND", None)
    monkeypatch.setattr(model_dir_module, "_COPIES", {})
    monkeypatch.setattr(model_dir_module.tempfile, "tempdir", str(tmp_path))

    def start(model_dir):
        monkeypatch.setenv("MODEL_DIR", model_dir)
        monkeypatch.setattr(handler_module, "_BACKEND", None)
        return handler_module.handler({"texts": TEXTS})

    return start


def test_an_s3_model_dir_is_downloaded_once_checked_and_answers_as_the_local_one(cold_start, s3, tiny_export,
                                                                                  monkeypatch, tmp_path):
    from_s3 = cold_start(s3["version"] + "/onnx/")
    assert len(from_s3["predictions"]) == 2, from_s3
    (copy,) = os.listdir(str(tmp_path))
    assert sorted(os.listdir(str(tmp_path / copy))) == ["model.onnx", "model_info.json", "sha256sums.txt", "vocab.txt"]
    local = cold_start(tiny_export["onnx_dir"])
    for ours, theirs in zip(from_s3["predictions"], local["predictions"]):
        assert ours["label"] == theirs["label"] and ours["scores"] == pytest.approx(theirs["scores"], abs=1e-6)
    # Once per container: a second cold start of the handler reuses the checked copy without reading the bucket.
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9")  # nothing listens there
    assert cold_start(s3["version"] + "/onnx")["predictions"] == from_s3["predictions"]
    status = handler_module.handler({"version": "2.0", "rawPath": "/v1/models/tiny",
                                     "requestContext": {"http": {"method": "GET", "path": "/v1/models/tiny"}}})
    assert json.loads(status["body"])["version"] == int(s3["version"].rsplit("/", 1)[1])  # named by the URL


def test_a_version_prefix_names_its_onnx_prefix(cold_start, s3):
    answer = cold_start(s3["version"])
    assert answer == {"status": 500, "error": "configuration error: MODEL_DIR=%s is an export's version directory; "
                                              "set MODEL_DIR=%s/onnx" % (s3["version"], s3["version"])}
    assert "holds no model_info.json" in cold_start("s3://%s/nothing-here" % BUCKET)["error"]
    error = cold_start("s3://no_such bucket/x")["error"]
    assert error.startswith("configuration error: MODEL_DIR=s3://no_such bucket/x cannot be read: ") and "\n" not in error


def test_a_damaged_copy_and_a_full_disk_are_refused(cold_start, s3, tiny_export, monkeypatch, tmp_path):
    key = s3["version"][len("s3://%s/" % BUCKET):] + "/onnx/model.onnx"
    damaged = str(tmp_path / "damaged.onnx")
    shutil.copy(os.path.join(tiny_export["onnx_dir"], "model.onnx"), damaged)
    with open(damaged, "ab") as f:
        f.write(b"\0")
    other = "s3://%s/damaged/onnx" % BUCKET
    for name in ("model_info.json", "vocab.txt", "sha256sums.txt"):
        s3["client"].upload_file(os.path.join(tiny_export["onnx_dir"], name), BUCKET, "damaged/onnx/" + name)
    s3["client"].upload_file(damaged, BUCKET, "damaged/onnx/model.onnx")
    error = cold_start(other)["error"]
    assert error.startswith("configuration error: MODEL_DIR=%s: model.onnx has sha256 " % other)
    assert "but sha256sums.txt says" in error and not [n for n in os.listdir(str(tmp_path)) if n.startswith("onnx-")]

    class Usage:
        free = 1000

    monkeypatch.setattr(model_dir_module.shutil, "disk_usage", lambda path: Usage)
    error = cold_start(s3["version"] + "/onnx")["error"]
    assert "MB but %s has 0 MB free; give the function more ephemeral storage" % tmp_path in error
    assert json.dumps(error).count("\\n") == 0 and key  # one line
