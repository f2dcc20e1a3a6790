"""The reference command line with every path in an object store (`s3://`), end to end.

TensorFlow 1.15's own S3 file system talks to a local S3 emulator (moto's
server on a loopback port it picks and reports); the test starts and stops
it. The run reads data, vocab, config and the initial checkpoint from the
bucket and writes checkpoints, the feature cache, results and the export
there; the bucket is then read back with an independent client (boto3).
"""

import json
import os
import re
import subprocess
import sys

import boto3
import pytest

import tiny_bert
from s3_emulator import CREDENTIALS, moto_server  # tests/helpers

pytestmark = pytest.mark.needs_tf

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUCKET = "bert-runs"


@pytest.fixture(scope="module")
def s3_endpoint():
    """host:port of a moto S3 server on 127.0.0.1, up until the module's tests are done."""
    with moto_server() as endpoint:
        yield endpoint


@pytest.fixture(scope="module")
def bucket(s3_endpoint, tiny_model_files, tmp_path_factory):
    """The tiny model's files and data uploaded to s3://BUCKET/model and s3://BUCKET/data."""
    client = boto3.client("s3", endpoint_url="http://" + s3_endpoint, region_name="us-east-1", **_boto_credentials())
    client.create_bucket(Bucket=BUCKET)
    checkpoint = tiny_bert.write_random_checkpoint(
        str(tmp_path_factory.mktemp("pretrained")), tiny_model_files["bert_config_file"]
    )
    uploads = {
        "model/vocab.txt": tiny_model_files["vocab_file"],
        "model/bert_config.json": tiny_model_files["bert_config_file"],
    }
    for split in ("train", "dev", "test"):
        uploads["data/%s.tsv" % split] = os.path.join(tiny_model_files["data_dir"], split + ".tsv")
    directory = os.path.dirname(checkpoint)
    for name in os.listdir(directory):
        if name.startswith("bert_model.ckpt"):
            uploads["model/" + name] = os.path.join(directory, name)
    for key, path in uploads.items():
        client.upload_file(path, BUCKET, key)
    return client


def _boto_credentials():
    return {"aws_access_key_id": CREDENTIALS["AWS_ACCESS_KEY_ID"], "aws_secret_access_key": CREDENTIALS["AWS_SECRET_ACCESS_KEY"]}


def run_classifier(endpoint, *actions):
    url = "s3://%s" % BUCKET
    flags = dict(
        task_name="generic",
        data_dir=url + "/data",
        vocab_file=url + "/model/vocab.txt",
        bert_config_file=url + "/model/bert_config.json",
        init_checkpoint=url + "/model/bert_model.ckpt",
        output_dir=url + "/run",
        export_dir=url + "/export",
        max_seq_length=24,
        train_batch_size=8,
        num_train_epochs=1,
        learning_rate=1e-3,
        seed=5,
        # One epoch of the tiny model predicts one label for every dev row (a collapse,
        # bert_runner/collapse.py); this test is about paths, so export it anyway.
        export_collapsed_model="true",
    )
    env = dict(os.environ, S3_ENDPOINT=endpoint, S3_USE_HTTPS="0", S3_VERIFY_SSL="0", TF_CPP_MIN_LOG_LEVEL="3", **CREDENTIALS)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [REPO, env.get("PYTHONPATH")]))
    command = [sys.executable, os.path.join(REPO, "run_classifier.py")]
    command += ["--%s=%s" % item for item in flags.items()] + ["--" + action for action in actions]
    return subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)


def keys(client, prefix):
    """The files under a prefix (without the empty "dir/" objects that makedirs leaves)."""
    return sorted(key for key in _objects(client, prefix) if not key.endswith("/"))


def read(client, key):
    return client.get_object(Bucket=BUCKET, Key=key)["Body"].read()


def test_train_evaluate_predict_export_with_every_path_in_s3(s3_endpoint, bucket, tiny_model_files, tmp_path):
    result = run_classifier(s3_endpoint, "do_train", "do_eval", "do_predict", "do_export")
    assert result.returncode == 0, result.stdout[-4000:]

    run = keys(bucket, "run/")
    assert "run/label_list.txt" in run and read(bucket, "run/label_list.txt").split() == [b"neg", b"pos"]
    assert "run/model.ckpt-32.index" in run  # 256 examples / 8 per batch, one epoch
    report = json.loads(read(bucket, "run/eval_results.json"))
    assert report["num_examples"] == 16 and report["global_step"] == 32
    assert any(line.startswith("eval_accuracy = ") for line in read(bucket, "run/eval_results.txt").decode().splitlines())
    assert len(read(bucket, "run/test_results.tsv").decode().splitlines()) == 16
    features = [k for k in run if k.startswith("run/features/")]
    for split in ("train", "dev", "test"):
        assert any(re.match(r"run/features/%s-[0-9a-f]{16}\.tf_record$" % split, k) for k in features), features
        assert any(re.match(r"run/features/%s-[0-9a-f]{16}\.tf_record\.json$" % split, k) for k in features), features
    assert not [k for k in run if ".tmp-" in k]

    exported = keys(bucket, "export/")
    versions = {k.split("/")[1] for k in exported}
    assert len(versions) == 1 and versions.pop().isdigit(), exported
    version = exported[0].split("/")[1]
    for name in ("saved_model.pb", "variables/variables.index", "assets.extra/tf_serving_warmup_requests"):
        assert "export/%s/%s" % (version, name) in exported, exported

    # The export, copied back, serves and names the vocab it was trained with (same digest as the file's).
    import tensorflow.compat.v1 as tf
    from bert_contract import METADATA_OUTPUT, METADATA_SIGNATURE, ModelInfo, file_sha256

    local = tmp_path / version
    for key in exported:
        target = local / key.split("/", 2)[2]
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(read(bucket, key))
    with tf.Graph().as_default() as graph, tf.Session() as session:
        signature = tf.saved_model.loader.load(session, ["serve"], str(local)).signature_def[METADATA_SIGNATURE]
        feed = {graph.get_tensor_by_name(spec.name): [[0] * 24] if name != "label_ids" else [0] for name, spec in signature.inputs.items()}
        row = session.run(graph.get_tensor_by_name(signature.outputs[METADATA_OUTPUT].name), feed)[0]
    info = ModelInfo.from_json(row.decode("utf-8"))
    assert info.vocab_sha256 == file_sha256(tiny_model_files["vocab_file"])
    assert info.labels == ["neg", "pos"]


def test_a_second_run_reuses_the_feature_cache_in_s3(s3_endpoint, bucket):
    before = {k: o["ETag"] for k, o in _objects(bucket, "run/features/").items()}
    assert before, "the first test's run left no features"
    result = run_classifier(s3_endpoint, "do_eval")
    assert result.returncode == 0, result.stdout[-4000:]
    assert "reusing cached features s3://%s/run/features/dev-" % BUCKET in result.stdout
    assert {k: o["ETag"] for k, o in _objects(bucket, "run/features/").items()} == before


def _objects(client, prefix):
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return {item["Key"]: item for page in pages for item in page.get("Contents", [])}
