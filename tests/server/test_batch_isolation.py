"""With batching on, one request's bad content fails only that request, never its batch-mates.

The merged run of eight requests fails (two carry token ids outside the
embedding's vocabulary); the server runs the requests apart, so the six good
ones get their answers and each bad one an error about its own row only.
"""

import json
import re

import pytest

import toy_savedmodel as toy_models
from conftest import write
from model_servers import concurrent_predict, running_server

pytestmark = pytest.mark.needs_tf

BATCH = 8


@pytest.fixture(scope="module")
def batching_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("isolation")
    base = root / "embed"
    base.mkdir()
    toy_models.build_embedding_model(str(base))
    # The batch closes only when full (timeout 60 s): all BATCH requests share one merged run.
    params = write(root / "batching.config", "max_batch_size { value: %d }\nbatch_timeout_micros { value: 60000000 }\n"
                   "num_batch_threads { value: 1 }\nenable_large_batch_splitting { value: true }\n"
                   "max_execution_batch_size { value: 4 }\nthread_pool_name { value: \"shared\" }\n" % BATCH)
    with running_server(["--model_name=embed", "--model_base_path=%s" % base, "--enable_batching",
                         "--batching_parameters_file=" + params]) as server:
        yield server


def test_bad_token_ids_fail_only_their_own_request(batching_server):
    bad = {2: [1, 2, toy_models.EMBED_VOCAB + 7, 3], 5: [toy_models.EMBED_VOCAB + 9, 1, 1, 1]}
    bodies = [{"instances": [{"input_ids": bad.get(i, [i, i + 1, 2, 3])}]} for i in range(BATCH)]
    results = concurrent_predict(batching_server.rest_url + "/v1/models/embed:predict", bodies)
    for index, (status, body) in enumerate(results):
        if index not in bad:
            assert (status, body) == (200, {"predictions": [12.0]}), (index, body)
            continue
        assert status == 400, body
        message = body["error"]
        own_value = max(bad[index])
        assert "= %d is not in [0, %d)" % (own_value, toy_models.EMBED_VOCAB) in message
        # Row indices are the request's own (row 0), and no other request's value shows.
        assert re.findall(r"indices\[(\d+),", message) == ["0"], message
        other = [max(ids) for i, ids in bad.items() if i != index]
        assert not any(str(value) in message for value in other), message
    assert json.dumps(results).count('"error"') == len(bad)


def test_batching_fields_not_acted_on_are_warned_about_at_startup(batching_server):
    log = batching_server.log()
    for field in ("enable_large_batch_splitting", "max_execution_batch_size", "thread_pool_name"):
        assert "BatchingParameters.%s in " % field in log and "not acted on" in log
