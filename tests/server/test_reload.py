"""HandleReloadConfigRequest ends on time and never holds up other reloads or requests.

A config with a new model whose base path has nothing to load (missing,
empty, a file) is refused at once and not applied; a new model whose
load hangs (a warm-up that never ends) makes its reload end at the caller's
deadline while other reloads and predictions go on, and the hung warm-up
fails the load at --model_warmup_timeout_seconds.
"""

import os
import threading

import grpc
import numpy as np
import pytest
from google.protobuf import text_format
from tensorflow_serving.apis import model_management_pb2, model_service_pb2_grpc

import toy_savedmodel as toy_models
from conftest import Rest, write
from model_servers import running_server
from test_versions import states, wait_for

pytestmark = pytest.mark.needs_tf

ROW = toy_models.bert_rows(1)[0]
MODEL = 'config { name: "%s" base_path: "%s" model_platform: "tensorflow" }'


def slow_warmup_log():
    """A warm-up record running the toy's `slow` signature for far longer than any test."""
    import tensorflow.compat.v1 as tf
    from tensorflow_serving.apis import predict_pb2, prediction_log_pb2
    request = predict_pb2.PredictRequest()
    request.model_spec.signature_name = "slow"
    request.inputs["n"].CopyFrom(tf.make_tensor_proto(np.array([2 ** 31 - 1], dtype=np.int32)))
    return prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))


def reload_request(models):
    request = model_management_pb2.ReloadConfigRequest()
    text_format.Parse("model_config_list { %s }" % " ".join(MODEL % model for model in models), request.config)
    return request


def rpc_code(call):
    try:
        call()
    except grpc.RpcError as error:
        return error.code(), error.details()
    return grpc.StatusCode.OK, ""


@pytest.fixture
def reload_server(toy_export, tmp_path):
    config = write(tmp_path / "models.config", "model_config_list { %s }" % (MODEL % ("toy", toy_export)))
    with running_server(["--model_config_file=" + config, "--model_warmup_timeout_seconds=15",
                         "--max_num_load_retries=0"]) as server:
        with grpc.insecure_channel(server.grpc_target) as channel:
            yield server, model_service_pb2_grpc.ModelServiceStub(channel)


def test_new_model_without_versions_is_refused_whole(reload_server, toy_export, tmp_path):
    """NOT_FOUND at once, and nothing applied: an error leaves the served models as they were."""
    server, stub = reload_server
    rest = Rest(server.rest_url)
    empty = tmp_path / "empty"
    empty.mkdir()
    a_file = write(tmp_path / "file", "not a model")
    cases = [("ghost", str(tmp_path / "missing"), "does not exist"),
             ("hollow", str(empty), "has no version directories"),
             ("flat", a_file, "is not a directory")]
    for name, path, reason in cases:
        for _ in range(3):  # the same answer every time: the first did not apply the config either
            code, details = rpc_code(lambda: stub.HandleReloadConfigRequest(
                reload_request([("toy2", toy_export), (name, path)]), timeout=60))
            assert code == grpc.StatusCode.NOT_FOUND and reason in details and name in details, details
            assert "the config was not applied" in details, details
        status, body = rest.get("/v1/models/%s" % name)
        assert status == 404 and body["error"] == "Could not find any versions of model %s" % name, body
        assert rest.get("/v1/models/toy2")[0] == 404  # the good half of the config was not applied either
    # A version appearing under the missing path later is not loaded: the config was never applied.
    toy_models.build(str(tmp_path / "missing"), 1)
    assert rest.post("/v1/models/toy:predict", {"instances": [ROW]})[0] == 200
    assert rest.get("/v1/models/ghost")[0] == 404
    code, details = rpc_code(lambda: stub.HandleReloadConfigRequest(
        reload_request([("toy", toy_export), ("ghost", str(tmp_path / "missing"))]), timeout=60))
    assert code == grpc.StatusCode.OK, details
    assert rest.post("/v1/models/ghost:predict", {"instances": [ROW]})[0] == 200
    assert "ReloadConfig failed: 1 new model(s) have no version to load" in server.log()


def test_hung_load_ends_at_the_deadline_and_blocks_nothing(reload_server, toy_export, tmp_path):
    server, stub = reload_server
    rest = Rest(server.rest_url)
    hung = tmp_path / "hung"
    toy_models.build(str(hung), 1, warmup_logs=[slow_warmup_log()])
    outcome = {}

    def hung_reload():
        outcome["hung"] = rpc_code(lambda: stub.HandleReloadConfigRequest(
            reload_request([("toy", toy_export), ("hung", str(hung))]), timeout=8))

    thread = threading.Thread(target=hung_reload)
    thread.start()
    try:
        wait_for(lambda: states(rest, "hung").get(1, {}).get("state") == "LOADING", what="the hung warm-up")
        # While that reload waits, another reload and predictions are served.
        code, details = rpc_code(lambda: stub.HandleReloadConfigRequest(
            reload_request([("toy", toy_export), ("hung", str(hung)), ("toy2", toy_export)]), timeout=60))
        assert code == grpc.StatusCode.OK, details
        assert thread.is_alive(), outcome
        assert rest.post("/v1/models/toy2:predict", {"instances": [ROW]})[0] == 200
        assert rest.get("/v1/models/toy")[0] == 200
    finally:
        thread.join()
    code, details = outcome["hung"]
    assert code == grpc.StatusCode.DEADLINE_EXCEEDED and "hung (version 1 LOADING)" in details, details
    # The warm-up timeout ends the hung load; its status says why.
    state = wait_for(lambda: states(rest, "hung").get(1, {}).get("state") == "END" and states(rest, "hung")[1],
                     timeout=60, what="the warm-up to time out")
    assert "--model_warmup_timeout_seconds" in state["status"]["error_message"], state


def test_config_file_poll_goes_on_while_a_load_hangs(toy_export, tmp_path):
    """A model whose load hangs does not stop the config file poll: a later edit is applied."""
    hung = tmp_path / "hung"
    toy_models.build(str(hung), 1, warmup_logs=[slow_warmup_log()])
    config = tmp_path / "models.config"
    write(config, "model_config_list { %s }" % (MODEL % ("toy", toy_export)))

    def edit(models):
        write(str(config) + ".tmp", "model_config_list { %s }" % " ".join(MODEL % model for model in models))
        os.replace(str(config) + ".tmp", str(config))

    with running_server(["--model_config_file=" + str(config), "--model_config_file_poll_wait_seconds=1",
                         "--model_warmup_timeout_seconds=15", "--max_num_load_retries=0"]) as server:
        rest = Rest(server.rest_url)
        edit([("toy", toy_export), ("hung", str(hung))])
        wait_for(lambda: states(rest, "hung").get(1, {}).get("state") == "LOADING", what="the hung warm-up")
        edit([("toy", toy_export), ("hung", str(hung)), ("toy2", toy_export)])
        wait_for(lambda: states(rest, "toy2").get(1, {}).get("state") == "AVAILABLE", what="toy2 to load")
        assert states(rest, "hung")[1]["state"] == "LOADING"
        assert rest.post("/v1/models/toy2:predict", {"instances": [ROW]})[0] == 200
