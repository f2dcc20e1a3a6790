"""The server as a process: flags, startup errors, timeouts and graceful SIGTERM."""

import os
import signal
import subprocess
import sys
import threading
import time

import pytest
import requests

import toy_savedmodel as toy_models
from conftest import Rest, write
from model_server.launch import free_port
from model_servers import running_server, start_server, wait_for_log

pytestmark = pytest.mark.needs_tf

ROW = toy_models.bert_rows(1)[0]


def run_server(args, timeout=60):
    """Run `python -m model_server args` to completion; (exit code, stderr)."""
    result = subprocess.run([sys.executable, "-m", "model_server"] + args, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, universal_newlines=True, timeout=timeout)
    return result.returncode, result.stdout + result.stderr


def test_version_flag_and_bad_flag_values():
    code, out = run_server(["--version"])
    assert code == 0 and "TensorFlow ModelServer" in out
    code, out = run_server(["--port=abc"])
    assert code != 0 and "--port" in out and "usage:" in out


@pytest.mark.parametrize("args,message", [
    (["--model_name=m", "--model_base_path=relative/path"],
     "Expected model m to have an absolute path or URI; got base_path()=relative/path"),
    (["--model_base_path=/abs", "--batching_parameters_file=/tmp/x"], "without --enable_batching"),
    ([], "--model_base_path and --model_config_file are empty"),
    (["--model_base_path=/abs", "--grpc_max_receive_message_bytes=0"],
     "--grpc_max_receive_message_bytes must be positive; got 0"),
    (["--model_base_path=/abs", "--port_file=/no/such/dir/ports.json"],
     "--port_file=/no/such/dir/ports.json: no directory /no/such/dir"),
], ids=["relative-base-path", "batching-file-without-flag", "no-model", "grpc-limit", "port-file-dir"])
def test_startup_errors_are_one_line(args, message):
    code, out = run_server(["--port=auto"] + args)
    assert code != 0
    assert message in out
    assert "Traceback" not in out
    assert len(out.strip().splitlines()) == 1


CONFIGS = {
    "syntax": ("model_config_list { config { name: 'm' base_path: '/x' ", "ModelServerConfig"),
    "duplicate": ("model_config_list { config { name: 'm' base_path: '/x' } config { name: 'm' base_path: '/y' } }",
                  "Illegal to list model m multiple times"),
}


@pytest.mark.parametrize("kind", sorted(CONFIGS))
def test_config_file_errors(tmp_path, kind):
    text, message = CONFIGS[kind]
    path = write(tmp_path / "models.config", text)
    code, out = run_server(["--port=auto", "--model_config_file=" + path])
    assert code != 0 and message in out and "Traceback" not in out
    if kind == "syntax":
        assert "Error parsing text-format tensorflow.serving.ModelServerConfig" in out


def test_batching_file_errors(tmp_path):
    path = write(tmp_path / "batching.config", "max_batch_size { value: 8 }\nallowed_batch_sizes: 4\n")
    code, out = run_server(["--port=auto", "--model_base_path=/abs", "--enable_batching",
                            "--batching_parameters_file=" + path])
    assert code != 0 and "allowed_batch_sizes must end with max_batch_size" in out
    write(path, "max_batch_size: 8\n")
    code, out = run_server(["--port=auto", "--model_base_path=/abs", "--enable_batching",
                            "--batching_parameters_file=" + path])
    assert code != 0 and "Error parsing text-format tensorflow.serving.BatchingParameters" in out


def test_auto_ports_are_reported_in_the_log_and_the_port_file(toy_export, tmp_path):
    import json

    import grpc
    from tensorflow_serving.apis import get_model_status_pb2, model_service_pb2_grpc

    port_file, log = tmp_path / "ports.json", tmp_path / "server.log"
    with open(str(log), "w") as out:
        process = subprocess.Popen([sys.executable, "-m", "model_server", "--port=auto", "--rest_api_port=auto",
                                    "--port_file=%s" % port_file, "--model_name=toy", "--model_base_path=" + toy_export],
                                   stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while not port_file.exists():
            assert process.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        ports = json.loads(port_file.read_text())
        assert ports["pid"] == process.pid and ports["grpc_port"] != ports["rest_api_port"]
        text = log.read_text()
        assert "Running gRPC ModelServer at 127.0.0.1:%d ..." % ports["grpc_port"] in text
        assert "Exporting HTTP/REST API at:localhost:%d ..." % ports["rest_api_port"] in text
        assert Rest("http://127.0.0.1:%d" % ports["rest_api_port"]).get("/v1/models/toy")[0] == 200
        with grpc.insecure_channel("127.0.0.1:%d" % ports["grpc_port"]) as channel:
            status = model_service_pb2_grpc.ModelServiceStub(channel).GetModelStatus(
                get_model_status_pb2.GetModelStatusRequest(model_spec={"name": "toy"}), timeout=30)
            assert status.model_version_status[0].state == get_model_status_pb2.ModelVersionStatus.AVAILABLE
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
    assert not port_file.exists()  # no port file outlives its server


def test_unknown_and_ignored_flags_warn_but_serve(toy_export):
    with running_server(["--model_name=toy", "--model_base_path=" + toy_export, "--no_such_flag=1",
                         "--per_process_gpu_memory_fraction=0.5", "--xla_cpu_compilation_enabled"]) as server:
        assert Rest(server.rest_url).post("/v1/models/toy:predict", {"instances": [ROW]})[0] == 200
        log = server.log()
    assert "unknown argument: --no_such_flag=1" in log
    assert "per_process_gpu_memory_fraction" in log


def test_port_conflicts(toy_export, tmp_path):
    import socket
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    try:
        code, out = run_server(["--port=%d" % busy.getsockname()[1], "--model_name=toy",
                                "--model_base_path=" + toy_export])
    finally:
        busy.close()
    assert code != 0 and "cannot bind gRPC" in out.strip().splitlines()[-1]

    # Both flags must name the same number, so `auto` cannot be used: a free port is picked, and
    # if another process takes it before the server binds it (the server says so), another one.
    log = tmp_path / "server.log"
    for attempt in range(3):
        port = free_port()
        with open(str(log), "w") as out:
            process = subprocess.Popen([sys.executable, "-m", "model_server", "--port=%d" % port,
                                        "--rest_api_port=%d" % port, "--model_name=toy",
                                        "--model_base_path=" + toy_export], stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while "--rest_api_port cannot be the same as --port" not in log.read_text():
                if process.poll() is not None and "cannot bind gRPC" in log.read_text():
                    break  # lost the race for the port: try another
                assert process.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
            else:
                assert process.poll() is None  # gRPC serves; REST was not started
                break
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                assert process.wait(30) == 0
    else:
        pytest.fail("three free ports were taken before the server could bind them")


def test_waits_for_a_version_before_opening_ports(tmp_path, version_source):
    import shutil
    base = tmp_path / "m"
    base.mkdir()
    server = start_server(["--model_name=m", "--model_base_path=%s" % base, "--file_system_poll_wait_seconds=1"],
                          wait=False)
    try:
        wait_for_log(server, "No versions of servable m found under base path")  # it polled and waits
        assert server.process.poll() is None
        assert not server.serving() and "Running gRPC ModelServer" not in server.log()  # no port open
        shutil.copytree(os.path.join(version_source, "1"), str(base / "temp-1"))
        os.rename(str(base / "temp-1"), str(base / "1"))
        server.wait_serving(60)
        assert requests.get(server.rest_url + "/v1/models/m", timeout=10).status_code == 200
    finally:
        server.stop()


def test_sigterm_while_waiting_for_versions(tmp_path):
    server = start_server(["--model_name=m", "--model_base_path=%s" % tmp_path], wait=False)
    try:
        wait_for_log(server, "No versions of servable m found under base path")
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(15) == 0
        assert "Running gRPC ModelServer" not in server.log()
    finally:
        server.stop()


def slow_body(n):
    return {"signature_name": "slow", "instances": [{"n": n}]}


def gated_body(started, release):
    return {"signature_name": "gated", "instances": [{"started": started, "release": release}]}


def wait_for_files(paths, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not all(os.path.exists(p) for p in paths):
        assert time.monotonic() < deadline, "runs not started: %s" % [p for p in paths if not os.path.exists(p)]
        time.sleep(0.05)


def test_timeout_and_graceful_sigterm(impl, toy_export, tmp_path):
    server = start_server(["--model_name=toy", "--model_base_path=" + toy_export, "--rest_api_timeout_in_ms=100"],
                          binary=impl)
    try:
        url = server.rest_url + "/v1/models/toy:predict"
        response = requests.post(url, json=slow_body(1000000), timeout=60)
        assert response.status_code == 504 and "error" in response.json()
        assert requests.post(url, json={"instances": [ROW]}, timeout=60).status_code == 200
    finally:
        assert server.stop() == 0

    # A held run keeps one TF inter-op thread busy: give the three held runs one each (and one spare).
    server = start_server(["--model_name=toy", "--model_base_path=" + toy_export,
                           "--tensorflow_inter_op_parallelism=4"], binary=impl)
    try:
        url = server.rest_url + "/v1/models/toy:predict"
        results = []
        release = str(tmp_path / "release")
        started = [str(tmp_path / ("started-%d" % i)) for i in range(3)]

        def send(marker):
            response = requests.post(url, json=gated_body(marker, release), timeout=60)
            results.append((response.status_code, response.json()))

        def send_grpc(marker):
            import grpc
            import tensorflow.compat.v1 as tf
            from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc
            request = predict_pb2.PredictRequest()
            request.model_spec.name = "toy"
            request.model_spec.signature_name = "gated"
            request.inputs["started"].CopyFrom(tf.make_tensor_proto([marker.encode()]))
            request.inputs["release"].CopyFrom(tf.make_tensor_proto([release.encode()]))
            with grpc.insecure_channel(server.grpc_target) as channel:
                response = prediction_service_pb2_grpc.PredictionServiceStub(channel).Predict(request, timeout=60)
            results.append((200, {"predictions": tf.make_ndarray(response.outputs["waited"]).tolist()}))

        threads = [threading.Thread(target=send, args=(started[i],)) for i in range(2)]
        threads.append(threading.Thread(target=send_grpc, args=(started[2],)))
        for thread in threads:
            thread.start()
        wait_for_files(started)  # the three runs (two REST, one gRPC) are in the model, held by the gate
        server.process.send_signal(signal.SIGTERM)
        if impl is None:  # the local server says it drains; then the runs may end
            wait_for_log(server, "Received shutdown signal: finishing in-flight requests")
        assert server.process.poll() is None and not results
        with open(release, "w"):
            pass
        for thread in threads:
            thread.join()
        assert [status for status, _ in results] == [200] * 3, results
        assert all(body["predictions"] == [1] for _, body in results)
        assert server.process.wait(30) == 0
        with pytest.raises(requests.ConnectionError):
            requests.get(server.rest_url + "/v1/models/toy", timeout=2)
    finally:
        server.stop()


def test_running_server_keeps_its_log_only_when_the_block_fails(toy_export):
    with running_server(["--model_name=toy", "--model_base_path=" + toy_export]) as server:
        clean_log = server.log_path
        assert os.path.exists(clean_log)
    assert not os.path.exists(clean_log) and server.process.poll() is not None
    with pytest.raises(ValueError):
        with running_server(["--model_name=toy", "--model_base_path=" + toy_export]) as server:
            raise ValueError("a failing test")
    try:
        assert server.process.poll() is not None
        assert "Exporting HTTP/REST API" in server.log()
    finally:
        os.remove(server.log_path)
