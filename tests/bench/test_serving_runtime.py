"""bench/serving.py measures (d) and (d@N) in the servers' runtime, and says which runtime each side ran.

Tiny exports (one training step of the tiny BERT), a few texts and 10 ms per offline point:
the figures are meaningless, the runtimes and the plumbing are what is checked.
"""

import os
import sys

import pytest

import bench_modules  # tests/helpers
import tiny_bert

pytestmark = pytest.mark.needs_tf

serving = bench_modules.load("serving")

MAX_SEQ_LENGTH = 24
# Small settings: batches of 2, windows of 4 texts, one caller, 10 ms per point.
FLAGS = ["--max_seq_length=%d" % MAX_SEQ_LENGTH, "--offline_batch_sizes=2", "--offline_seconds=0.01",
         "--window=4", "--window_run_costs=8", "--max_batch_size=4", "--latency_samples=2",
         "--num_batch_threads=1"]


@pytest.fixture(scope="module")
def exports(tiny_model_files, tmp_path_factory):
    """(fixed, dynamic) export bases of the tiny BERT after one training step, as bench/serving builds its own."""
    from bert_runner.run import run

    root = tmp_path_factory.mktemp("serving_exports")
    fixed, dynamic = str(root / "export_fixed"), str(root / "export_dynamic")
    run_dir = str(root / "run")
    run(tiny_bert.run_options(tiny_model_files, run_dir, do_train=True, num_train_epochs=0.05,
                              max_seq_length=MAX_SEQ_LENGTH, do_export=True, export_dir=fixed))
    run(tiny_bert.run_options(tiny_model_files, run_dir, max_seq_length=MAX_SEQ_LENGTH, do_export=True,
                              export_dir=dynamic, export_dynamic_seq_length=True))
    return fixed, dynamic


@pytest.fixture(scope="module")
def encoded(tiny_model_files):
    from featurizer import Featurizer

    texts = [text for _, text in tiny_bert.sentiment_rows(9, seed=3)]
    return Featurizer(tiny_model_files["vocab_file"], True, MAX_SEQ_LENGTH).encode_batch(texts)


def measure(exports, encoded, argv):
    return serving.offline_in_runtime(exports[0], exports[1], encoded, serving.parse_args(argv), argv)


def assert_measured_with_the_settings(result, encoded):
    assert {r["batch_size"] for r in result["sorted_batches"] if r["order"] == "all"} == {2}
    window = [r for r in result["sorted_batches"] if r["order"] == "window"]
    assert [r["run_cost_tokens"] for r in window] == [8] and result["window"] == 4
    assert result["sequences_per_sec"] > 0 and result["window_sequences_per_sec"] > 0
    assert result["batch1_fixed"]["p50_ms"] > 0 and result["batch1_dynamic"]["p50_ms"] > 0
    assert window[0]["mean_batch"] <= 4 and len(encoded) / window[0]["mean_batch"] >= 3  # 9 texts, windows of 4


def test_without_server_python_the_limit_runs_in_this_process(exports, encoded):
    import tensorflow as tf

    result = measure(exports, encoded, FLAGS)
    assert result["runtime"]["python"] == sys.executable
    assert result["runtime"]["tensorflow"] == tf.__version__
    assert_measured_with_the_settings(result, encoded)


def test_with_server_python_the_limit_runs_in_that_python(exports, encoded, tf2_python):
    result = measure(exports, encoded, FLAGS + ["--server_python", tf2_python])
    assert os.path.realpath(result["runtime"]["python"]) == os.path.realpath(tf2_python)
    assert result["runtime"]["tensorflow"].startswith("2.")
    assert_measured_with_the_settings(result, encoded)  # the child got this run's settings and texts
    server = serving.server_runtime(tf2_python)
    assert server["tensorflow"] == result["runtime"]["tensorflow"]
    serving.check_same_runtime(server, result["runtime"])  # the servers' TF, so no error


def test_a_limit_measured_on_another_tf_than_the_servers_stops_the_run():
    server = {"python": ".venv-tf2/bin/python", "tensorflow": "2.19.1"}
    with pytest.raises(SystemExit, match=r"offline limit ran TF 1\.15\.5 .* servers run TF 2\.19\.1"):
        serving.check_same_runtime(server, {"python": ".venv/bin/python", "tensorflow": "1.15.5"})
    # The TF 1.15 server reports "1.15" (no importlib.metadata on Python 3.7): the same release.
    serving.check_same_runtime({"python": ".venv/bin/python", "tensorflow": "1.15"},
                               {"python": ".venv/bin/python", "tensorflow": "1.15.5"})


def test_the_table_names_the_runtime_of_the_servers_and_of_the_limit():
    offline = {"sequences_per_sec": 200.0, "window_sequences_per_sec": 180.0, "window": 32,
               "best_batch_size": 12, "best_callers": 2, "window_run_cost_tokens": 16,
               "runtime": {"python": "/x/.venv-tf2/bin/python", "python_version": "3.11.7", "tensorflow": "2.19.1"}}
    rows = [{"variant": "c", "concurrency": 32, "rps": 190.0, "p50_ms": 1.0, "p90_ms": 2.0, "p99_ms": 3.0,
             "errors": 0}]
    runtime = {"server": {"python": "/x/.venv-tf2/bin/python", "tensorflow": "2.19.1"}, "offline": offline["runtime"]}
    text = serving.table(rows, offline, serving.targets(rows, offline, 32), runtime)
    assert "| (d) offline on TF 2.19.1, sorted by length" in text
    assert "| (d@32) offline on TF 2.19.1, sorted 32 at a time" in text
    assert ("- runtime: servers TF 2.19.1 (/x/.venv-tf2/bin/python); offline (d), (d@N) TF 2.19.1 "
            "(/x/.venv-tf2/bin/python, Python 3.11.7)") in text
    assert "(c) at concurrency 32 >= 0.9x (d): 0.95x -> MET" in text
