"""The client follows a rollout: the model's current version, as long as it featurizes alike.

A real local model server serves copies of one tiny export; while a client
runs, a new version replaces the one it checked. Unless a version was asked
for, the client reads the new version's metadata and goes on (REST and gRPC);
a new version whose metadata says other featurization is refused.
"""

import os
import shutil
import time

import pytest

from serving_client import ModelMismatchError, ServerError, ServingClient

pytestmark = pytest.mark.needs_tf


MODEL = "tiny"
TEXTS = ["the movie was good", "awful film , i hate it", "lovely day", "the food is bad"]


def add_version(base, number, export_path, edit=None):
    """Copy the export to base/<number> atomically (via temp-<number>), after edit(temp dir)."""
    temp = os.path.join(base, "temp-%d" % number)
    shutil.copytree(export_path, temp)
    if edit is not None:
        edit(temp)
    os.rename(temp, os.path.join(base, str(number)))


def other_vocab_digest(version_dir):
    """Change the vocab sha256 the export's `metadata` signature reports (same length, so the proto stays valid)."""
    path = os.path.join(version_dir, "saved_model.pb")
    data = open(path, "rb").read()
    key = b'"vocab_sha256": "'
    start = data.index(key) + len(key)
    digest = data[start:start + 64]
    flipped = bytes([b"0"[0] if digest[0] != b"0"[0] else b"1"[0]]) + digest[1:]
    with open(path, "wb") as f:
        f.write(data.replace(digest, flipped))


def served_versions(rest_url):
    import requests
    body = requests.get("%s/v1/models/%s" % (rest_url, MODEL), timeout=30).json()
    return {int(s["version"]): s["state"] for s in body["model_version_status"]}


def roll_out(server, base, number, export_path, edit=None):
    """Add version `number` and wait until it is the only AVAILABLE one (the old one unloaded)."""
    add_version(base, number, export_path, edit)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        states = served_versions(server.rest_url)
        if states.get(number) == "AVAILABLE" and all(s == "END" for v, s in states.items() if v != number):
            return
        time.sleep(0.1)  # poll interval
    raise AssertionError("version %d did not replace the others: %s" % (number, served_versions(server.rest_url)))


@pytest.mark.parametrize("transport", ["rest", "grpc"])
def test_client_follows_a_rollout_and_refuses_other_featurization(trained_tiny_model, tmp_path, transport):
    export_path = trained_tiny_model["export_path"]
    vocab = trained_tiny_model["vocab_file"]
    base = str(tmp_path / "models")
    os.makedirs(base)
    add_version(base, 1, export_path)
    args = ["--model_name=%s" % MODEL, "--model_base_path=%s" % base, "--file_system_poll_wait_seconds=1"]
    from model_servers import running_server

    with running_server(args, timeout=180.0) as server:
        url = server.rest_url if transport == "rest" else "grpc://" + server.grpc_target
        with ServingClient(url, MODEL, vocab, batch_size=2) as client, \
                ServingClient(url, MODEL, vocab, batch_size=2, version=1) as pinned:
            before = client.predict_batch(TEXTS)
            assert pinned.predict_batch(TEXTS) == before and client.model_version == 1
            roll_out(server, base, 2, export_path)
            # The checked version is gone: the client moves to version 2 (same export, same answers).
            assert client.predict_batch(TEXTS) == before
            assert client.model_version == 2
            with pytest.raises(ServerError) as info:  # asked for version 1: stays there
                pinned.predict_batch(TEXTS)
            assert info.value.status_code == 404
            roll_out(server, base, 3, export_path, edit=other_vocab_digest)
            with pytest.raises(ModelMismatchError) as mismatch:
                client.predict_batch(TEXTS)
            assert "vocab sha256" in str(mismatch.value)
