"""Dynamic batching and warm-up, observed through REST answers and the Prometheus metrics."""


import numpy as np
import pytest

import toy_savedmodel as toy_models
from conftest import Rest, metric_value, write
from model_servers import concurrent_predict, running_server

pytestmark = pytest.mark.needs_tf

BATCH_SIZE = ":tensorflow:serving:batching_session:processed_batch_size"


def batching_file(tmp_path, **fields):
    lines = ["%s { value: %s }" % (k, v) for k, v in fields.items() if k not in ("allowed", "pad")]
    lines += ["allowed_batch_sizes: %d" % n for n in fields.get("allowed", ())]
    if fields.get("pad"):
        lines.append("pad_variable_length_inputs: true")
    return write(tmp_path / "batching.config", "\n".join(lines) + "\n")


def metrics(rest):
    response = rest.request("GET", "/monitoring/prometheus/metrics")
    assert response.status_code == 200
    return response.text


def test_concurrent_requests_share_batches_and_warmup_runs_first(impl, toy_export, monitoring_file, tmp_path):
    config = batching_file(tmp_path, max_batch_size=8, batch_timeout_micros=300000, num_batch_threads=1,
                           allowed=(4, 8))
    with running_server(["--model_name=toy", "--model_base_path=" + toy_export, "--enable_batching",
                         "--batching_parameters_file=" + config, "--monitoring_config_file=" + monitoring_file],
                        binary=impl) as server:
        rest = Rest(server.rest_url)
        local = impl is None  # the batch-size histogram is a local metric
        # The two warm-up records went through the batcher before the ports opened.
        assert not local or metric_value(metrics(rest), BATCH_SIZE + "_count") == 2

        rows = toy_models.bert_rows(8)
        results = concurrent_predict(server.rest_url + "/v1/models/toy:predict",
                                     [{"instances": [row]} for row in rows])
        for row, (status, body) in zip(rows, results):
            assert status == 200
            np.testing.assert_allclose(body["predictions"][0], toy_models.expected_output(row), rtol=1e-5)
        if local:
            text = metrics(rest)
            batches = metric_value(text, BATCH_SIZE + "_count") - 2
            rows_run = metric_value(text, BATCH_SIZE + "_sum") - 2 * 4  # warm-up rows padded to 4
            assert batches < 8, "8 concurrent one-row requests ran as %d batches" % batches
            assert rows_run >= 8

        status, body = rest.post("/v1/models/toy:predict", {"instances": toy_models.bert_rows(9)})
        assert status == 400 and "Task size 9 is larger than maximum input batch size 8" in body["error"]
        status, body = rest.post("/v1/models/toy:predict", {"instances": toy_models.bert_rows(5)})
        assert status == 200 and len(body["predictions"]) == 5


def dynamic_length_server(tmp_path, impl, monitoring_file, max_batch_size, extra=()):
    """A server batching a dynamic-length (L = -1) toy export with pad_variable_length_inputs.

    The batch timeout is long: a batch runs when it is full, so which requests share
    a batch is decided by max_batch_size, not by how fast the threads sent them.
    """
    base = tmp_path / "dynamic"
    base.mkdir()
    toy_models.build(base, 1, seq_len=-1)
    config = batching_file(tmp_path, max_batch_size=max_batch_size, batch_timeout_micros=30000000,
                           num_batch_threads=1, pad=True)
    return running_server(["--model_name=toy", "--model_base_path=%s" % base, "--enable_batching",
                           "--batching_parameters_file=" + config, "--monitoring_config_file=" + monitoring_file]
                          + list(extra), binary=impl)


def padded_with_cls(row, length):
    """The row as TFS pads it: each tensor's first element repeated (101 = [CLS] under mask 1)."""
    extra = length - len(row["input_ids"])
    return dict(row, input_ids=row["input_ids"] + [101] * extra, input_mask=row["input_mask"] + [1] * extra)


def batches_run(rest):
    text = metrics(rest)
    return metric_value(text, BATCH_SIZE + "_count"), metric_value(text, BATCH_SIZE + "_sum")


def test_variable_length_inputs_are_padded(impl, tmp_path, monitoring_file):
    rows = toy_models.bert_rows(2, seq_len=3) + toy_models.bert_rows(2, seq_len=6)
    with dynamic_length_server(tmp_path, impl, monitoring_file, max_batch_size=len(rows)) as server:
        results = concurrent_predict(server.rest_url + "/v1/models/toy:predict",
                                     [{"instances": [row]} for row in rows])
        assert [status for status, _ in results] == [200] * 4
        if impl is None:
            assert batches_run(Rest(server.rest_url)) == (1, 4)  # one full batch of the four rows
    # The short rows ran padded to 6 with three extra [CLS] ids under mask 1, which changes them.
    for row, (_, body) in zip(rows, results):
        expected = toy_models.expected_output(padded_with_cls(row, 6))
        np.testing.assert_allclose(body["predictions"][0], expected, rtol=1e-5)
    short = rows[0]
    assert not np.allclose(toy_models.expected_output(short), toy_models.expected_output(padded_with_cls(short, 6)))


@pytest.mark.parametrize("length_flags,max_batch_size", [
    (["--batching_length_buckets=4,8"], 3),  # a bucket's batch is full at 3 rows
    (["--batching_length_buckets=auto", "--batching_run_cost_tokens=2"], 6),  # one full batch, cut in two runs
], ids=["buckets", "auto"])
def test_length_aware_batching_keeps_short_requests_unpadded(tmp_path, local_only, monitoring_file, length_flags,
                                                             max_batch_size):
    rows = toy_models.bert_rows(3, seq_len=3) + toy_models.bert_rows(3, seq_len=6)
    with dynamic_length_server(tmp_path, None, monitoring_file, max_batch_size, length_flags) as server:
        results = concurrent_predict(server.rest_url + "/v1/models/toy:predict",
                                     [{"instances": [row]} for row in rows])
        assert batches_run(Rest(server.rest_url)) == (2, 6)  # batched: three rows per run
    for row, (status, body) in zip(rows, results):
        assert status == 200
        np.testing.assert_allclose(body["predictions"][0], toy_models.expected_output(row), rtol=1e-5)


def test_broken_warmup_file_fails_the_load(impl, tmp_path):
    base = tmp_path / "m"
    base.mkdir()
    toy_models.build(base, 1, warmup_bytes=b"this is not a TFRecord file")
    with pytest.raises(RuntimeError) as info:
        with running_server(["--model_name=m", "--model_base_path=%s" % base, "--max_num_load_retries=0"], binary=impl):
            pass
    assert "1 model(s) did not become available" in str(info.value)
