"""Version lifecycle over a real server: switch under load, broken versions, policies, labels, reloads."""

import os
import threading
import time

import grpc
import numpy as np
import pytest
import requests
from tensorflow_serving.apis import model_management_pb2, model_service_pb2_grpc

import toy_savedmodel as toy_models
from conftest import Rest, write
from model_servers import running_server

pytestmark = pytest.mark.needs_tf

ROW = toy_models.bert_rows(1)[0]
POLL_SECONDS = 1
FAST_POLL = ["--file_system_poll_wait_seconds=%d" % POLL_SECONDS, "--max_num_load_retries=1",
             "--load_retry_interval_micros=100000"]


def served_bias(rest, path="/v1/models/m:predict"):
    """Which toy version answered: its bias, read back from the softmax."""
    status, body = rest.post(path, {"instances": [ROW]})
    assert status == 200, body
    p0, p1 = body["predictions"][0]
    total = sum(ROW["input_ids"])
    return round(float(np.log(p1 / p0)) + 0.001 * total, 3)


def wait_for(predicate, timeout=30.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)


def states(rest, model="m"):
    status, body = rest.get("/v1/models/%s" % model)
    if status != 200:
        return {}
    return {int(s["version"]): s for s in body["model_version_status"]}


def test_new_version_replaces_old_without_failed_requests(impl, fresh_base):
    base, add = fresh_base
    add(1)
    with running_server(["--model_name=m", "--model_base_path=" + base] + FAST_POLL, binary=impl) as server:
        rest = Rest(server.rest_url)
        assert served_bias(rest) == 0.1
        failures, seen, stop = [], set(), threading.Event()

        def client():
            session = requests.Session()
            while not stop.is_set():
                response = session.post(server.rest_url + "/v1/models/m:predict", json={"instances": [ROW]})
                if response.status_code != 200:
                    failures.append(response.text)
                else:
                    p0, p1 = response.json()["predictions"][0]
                    seen.add(round(float(np.log(p1 / p0)) + 0.001 * sum(ROW["input_ids"]), 3))

        threads = [threading.Thread(target=client) for _ in range(3)]
        for thread in threads:
            thread.start()
        try:
            add(2)
            wait_for(lambda: states(rest).get(1, {}).get("state") == "END", what="version 1 unloaded")
            wait_for(lambda: 0.2 in seen, what="a client answered by version 2")
        finally:
            stop.set()
            for thread in threads:
                thread.join()
        assert failures == []
        assert seen == {0.1, 0.2}
        assert served_bias(rest) == 0.2
        assert states(rest)[2]["state"] == "AVAILABLE"


def test_broken_version_is_reported_and_old_keeps_serving(impl, fresh_base):
    base, add = fresh_base
    add(1)
    with running_server(["--model_name=m", "--model_base_path=" + base] + FAST_POLL, binary=impl) as server:
        rest = Rest(server.rest_url)
        broken = os.path.join(base, "temp-2")
        os.makedirs(broken)
        write(os.path.join(broken, "saved_model.pb"), "not a saved model")
        os.rename(broken, os.path.join(base, "2"))
        entry = wait_for(lambda: states(rest).get(2, {}).get("state") == "END" and states(rest)[2],
                         what="version 2 to fail")
        assert entry["status"]["error_code"] != "OK" and entry["status"]["error_message"]
        if impl is None:  # --max_num_load_retries=1; TFS's LoaderHarness/Retry lines, no "serving a request"
            log = server.log()
            assert "Loading servable: {name: m version: 2} failed: " in log and "(attempt 2 of 2)" in log
            assert "Retrying of Loading servable: {name: m version: 2} retry: 1" in log
            assert "Retrying of Loading servable: {name: m version: 2} exhausted max_num_retries: 1" in log
            assert "while serving a request" not in log
        assert states(rest)[1]["state"] == "AVAILABLE"
        assert served_bias(rest) == 0.1
        # Fixing the directory (remove + re-add) loads it.
        os.rename(os.path.join(base, "2"), os.path.join(base, "broken"))
        if impl is None:  # the poll saw it go
            wait_for(lambda: "Failed servable version {name: m version: 2} is gone" in server.log(),
                     what="the poll to see version 2 removed")
        else:  # tensorflow_model_server says nothing observable about it: two poll periods
            time.sleep(2 * POLL_SECONDS)
        add(2)
        wait_for(lambda: states(rest).get(2, {}).get("state") == "AVAILABLE", what="version 2 to load")
        wait_for(lambda: served_bias(rest) == 0.2, what="version 2 to serve")


def test_broken_version_reads_loading_ok_while_retried(fresh_base, local_only):
    """As TFS's LoaderHarness: LOADING with status OK between attempts, END with the error after the last."""
    base, add = fresh_base
    add(1)
    retry = ["--file_system_poll_wait_seconds=1", "--max_num_load_retries=1", "--load_retry_interval_micros=4000000"]
    with running_server(["--model_name=m", "--model_base_path=" + base] + retry) as server:
        rest = Rest(server.rest_url)
        broken = os.path.join(base, "temp-2")
        os.makedirs(broken)
        write(os.path.join(broken, "saved_model.pb"), "not a saved model")
        os.rename(broken, os.path.join(base, "2"))
        wait_for(lambda: "Loading servable: {name: m version: 2} failed: " in server.log(), what="attempt 1")
        entry = states(rest)[2]
        assert "Retrying of" not in server.log()  # still in the retry interval
        assert entry["state"] == "LOADING" and entry["status"]["error_code"] == "OK", entry
        entry = wait_for(lambda: states(rest).get(2, {}).get("state") == "END" and states(rest)[2],
                         what="version 2 to fail")
        assert entry["status"]["error_code"] != "OK" and entry["status"]["error_message"], entry


def test_removed_version_unloads_and_policy_all(impl, fresh_base, tmp_path):
    base, add = fresh_base
    add(1)
    add(2)
    config = write(tmp_path / "models.config", """
        model_config_list {
          config { name: 'm' base_path: '%s' model_platform: "tensorflow"
                   model_version_policy { all {} } }
        }""" % base)
    with running_server(["--model_config_file=" + config] + FAST_POLL, binary=impl) as server:
        rest = Rest(server.rest_url)
        wait_for(lambda: [s["state"] for v, s in sorted(states(rest).items())] == ["AVAILABLE", "AVAILABLE"],
                 what="both versions")
        assert served_bias(rest, "/v1/models/m/versions/1:predict") == 0.1
        assert served_bias(rest) == 0.2  # latest
        os.rename(os.path.join(base, "2"), os.path.join(base, "old-2"))
        wait_for(lambda: states(rest)[2]["state"] == "END", what="version 2 to unload")
        assert served_bias(rest) == 0.1
        status, body = rest.post("/v1/models/m/versions/2:predict", {"instances": [ROW]})
        assert status == 404 and "Specific(m, 2)" in body["error"]


LABELS_CONFIG = """
model_config_list {
  config {
    name: "m"
    base_path: "%s"
    model_platform: "tensorflow"
    model_version_policy { specific { versions: 1 versions: 2 } }
    version_labels { key: "stable" value: 1 }
    version_labels { key: "canary" value: 2 }
  }
}
"""


def test_labels_and_grpc_reload(impl, fresh_base, tmp_path):
    base, add = fresh_base
    add(1)
    add(2)
    add(3)
    config = write(tmp_path / "models.config", LABELS_CONFIG % base)
    with running_server(["--model_config_file=" + config, "--allow_version_labels_for_unavailable_models"]
                        + FAST_POLL, binary=impl) as server:
        rest = Rest(server.rest_url)
        assert served_bias(rest, "/v1/models/m/labels/stable:predict") == 0.1
        assert served_bias(rest, "/v1/models/m/labels/canary:predict") == 0.2
        assert 3 not in states(rest)  # not in the specific policy
        status, body = rest.get("/v1/models/m/labels/canary")
        assert status == 200 and body["model_version_status"][0]["version"] == "2"
        status, body = rest.get("/v1/models/m/labels/canary/metadata")
        assert status == 200 and body["model_spec"]["version"] == "2"

        stub = model_service_pb2_grpc.ModelServiceStub(grpc.insecure_channel(server.grpc_target))

        def reload(stable, canary, extra=""):
            from google.protobuf import text_format
            request = model_management_pb2.ReloadConfigRequest()
            text_format.Parse((LABELS_CONFIG % base).replace("versions: 1 versions: 2", "versions: 2 versions: 3")
                              .replace('"stable" value: 1', '"stable" value: %d' % stable)
                              .replace('"canary" value: 2', '"canary" value: %d %s' % (canary, extra)),
                              request.config)
            return stub.HandleReloadConfigRequest(request, timeout=60)

        # Labels may only name AVAILABLE versions: move to {2, 3} first, then label 3.
        reload(stable=2, canary=2)
        wait_for(lambda: states(rest).get(3, {}).get("state") == "AVAILABLE", what="version 3 to load")
        reload(stable=2, canary=3)
        assert served_bias(rest, "/v1/models/m/labels/stable:predict") == 0.2
        assert served_bias(rest, "/v1/models/m/labels/canary:predict") == 0.3
        wait_for(lambda: states(rest)[1]["state"] == "END", what="version 1 to unload")

        # A label on a version that is not available is refused (the old labels stay), except,
        # with --allow_version_labels_for_unavailable_models, a label the model did not have yet.
        reload(stable=2, canary=3, extra='} version_labels { key: "beta" value: 9')
        status, body = rest.post("/v1/models/m/labels/beta:predict", {"instances": [ROW]})
        assert status == 404 and "Specific(m, 9)" in body["error"]
        with pytest.raises(grpc.RpcError) as info:
            reload(stable=7, canary=3)
        assert info.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert served_bias(rest, "/v1/models/m/labels/stable:predict") == 0.2


def test_config_file_poll_adds_a_model(impl, fresh_base, tmp_path):
    base, add = fresh_base
    add(1)
    config_path = tmp_path / "models.config"
    one = "model_config_list { config { name: 'a' base_path: '%s' model_platform: 'tensorflow' } }" % base
    write(config_path, one)
    with running_server(["--model_config_file=%s" % config_path, "--model_config_file_poll_wait_seconds=1"]
                        + FAST_POLL, binary=impl) as server:
        rest = Rest(server.rest_url)
        assert rest.get("/v1/models/b")[0] == 404
        write(str(config_path) + ".tmp", one.replace("}", "} config { name: 'b' base_path: '%s' "
                                                          "model_platform: 'tensorflow' }" % base, 1))
        os.rename(str(config_path) + ".tmp", str(config_path))
        # The model's status answers 200 while it is still LOADING; wait until it can serve.
        wait_for(lambda: states(rest, "b").get(1, {}).get("state") == "AVAILABLE", what="model b")
        assert served_bias(rest, "/v1/models/b:predict") == 0.1
        write(config_path, "model_config_list { config { bad")  # a broken edit keeps the running models
        if impl is None:
            wait_for(lambda: "Keeping the current models" in server.log(), what="the broken config to be read")
        else:
            time.sleep(2 * POLL_SECONDS)
        assert served_bias(rest, "/v1/models/a:predict") == 0.1
