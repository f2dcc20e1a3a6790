"""Distributed fine-tuning: a TF_CONFIG cluster of local processes, and several devices of one machine."""

import json
import os
import subprocess
import sys

import pytest

import tiny_bert

pytestmark = pytest.mark.needs_tf

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def read_json(path):
    with open(path) as f:
        return json.load(f)


def test_mirrored_strategy_on_virtual_cpu_devices_trains_and_exports(tiny_model_files, tmp_path):
    import featurizer
    from bert_runner.run import run

    # One layer: a mirrored graph is large and TF 1.15 optimizes it once per distinct fetch.
    config = tiny_bert.write_config(
        str(tmp_path / "one_layer.json"), len(featurizer.load_vocab(tiny_model_files["vocab_file"])), num_layers=1
    )
    options = tiny_bert.run_options(
        dict(tiny_model_files, bert_config_file=config),
        tmp_path / "out",
        do_train=True,
        do_export=True,
        num_train_epochs=0.5,
        distribution_strategy="mirrored",
        virtual_cpu_devices=2,
    )
    summary = run(options)
    assert summary["train"]["steps"] == 16
    assert os.path.exists(str(tmp_path / "out" / "model.ckpt-16.index"))
    assert os.path.isdir(summary["export"]["path"])


def test_batch_must_split_evenly_across_devices(tiny_model_files, tmp_path):
    from bert_runner.errors import RunnerError
    from bert_runner.run import run

    options = tiny_bert.run_options(
        tiny_model_files, tmp_path, do_train=True, train_batch_size=7, distribution_strategy="mirrored", virtual_cpu_devices=2
    )
    with pytest.raises(RunnerError, match="--train_batch_size=7 must be a multiple of the 2 devices"):
        run(options)


def test_parameter_server_cluster_of_local_processes(tiny_model_files, tmp_path):
    """ps + chief + worker on loopback: both workers train, the chief's checkpoint exports and serves."""
    from model_server.launch import free_port  # TF_CONFIG names every task's port before any starts
    from model_servers import running_server

    output_dir = str(tmp_path / "cluster")
    cluster = {
        "chief": ["127.0.0.1:%d" % free_port()],
        "worker": ["127.0.0.1:%d" % free_port()],
        "ps": ["127.0.0.1:%d" % free_port()],
    }
    command = [
        sys.executable,
        os.path.join(REPO, "run_classifier.py"),
        "--task_name=generic",
        "--data_dir=" + tiny_model_files["data_dir"],
        "--vocab_file=" + tiny_model_files["vocab_file"],
        "--bert_config_file=" + tiny_model_files["bert_config_file"],
        "--output_dir=" + output_dir,
        "--max_seq_length=24",
        "--train_batch_size=8",
        # 512 steps: the chief's fused updates take ~6 ms a step here, so a short run would be
        # over before the worker (its graph takes ~5 s to build) joins in.
        "--num_train_epochs=16",
        "--learning_rate=1e-3",
        "--do_train",
        "--do_export",
    ]
    processes = {}
    try:
        for task_type in ("ps", "chief", "worker"):
            env = dict(os.environ, TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": task_type, "index": 0}}))
            log = open(str(tmp_path / ("%s.log" % task_type)), "w")
            processes[task_type] = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        for task_type in ("chief", "worker"):
            code = processes[task_type].wait(timeout=300)
            assert code == 0, open(str(tmp_path / ("%s.log" % task_type))).read()[-3000:]
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()

    ps_log = open(str(tmp_path / "ps.log")).read()
    assert "ps-0: serving variables to the cluster" in ps_log
    assert "training:" not in ps_log  # the parameter server builds no input
    chief = read_json(os.path.join(output_dir, "train_summary-chief-0.json"))
    worker = read_json(os.path.join(output_dir, "train_summary-worker-0.json"))
    assert chief["local_steps"] > 0 and worker["local_steps"] > 0
    # Asynchronous workers may pass the last step together: the final checkpoint is at or after it.
    final = max(int(name.split("-")[1].split(".")[0]) for name in os.listdir(output_dir) if name.endswith(".index"))
    assert final >= 512

    export_dir = os.path.join(output_dir, "export")
    versions = [name for name in os.listdir(export_dir) if name.isdigit()]
    assert len(versions) == 1  # only the chief exports
    with running_server(["--model_name=tiny", "--model_base_path=" + export_dir]) as server:
        import requests

        response = requests.get(server.rest_url + "/v1/models/tiny", timeout=10)
        assert response.json()["model_version_status"][0]["state"] == "AVAILABLE"
