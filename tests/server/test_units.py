"""In-process tests of the server's parts: flags, config checks, URL routes, JSON codec, batcher, policies."""

import collections
import json
import re
import threading
import time

import numpy as np
import pytest
from google.protobuf import text_format
from hypothesis import given, settings
from hypothesis import strategies as st

from model_server import config, errors, flags, launch, rest_routes, tensor_json, versions
from model_server.batcher import Batcher, length_runs
from model_server.errors import ServingError

INT32, FLOAT, STRING, BOOL, INT64 = 3, 1, 7, 10, 9


# ---------------------------------------------------------------- flags

def test_flag_forms():
    options = flags.parse(["--port=9000", "--enable_batching", "--enable_model_warmup=false",
                           "--model_name=m", "--nope=1", "--per_process_gpu_memory_fraction=0.5"])
    assert options.port == 9000 and options.enable_batching and not options.enable_model_warmup
    assert options.rest_api_port == 0 and options.file_system_poll_wait_seconds == 1
    assert options.warnings == ["unknown argument: --nope=1",
                                "flag --per_process_gpu_memory_fraction is accepted but ignored by the local "
                                "model server"]


@pytest.mark.parametrize("argv", [["--port=abc"], ["--port"], ["--enable_batching=maybe"]])
def test_bad_flag_values(argv):
    with pytest.raises(flags.UsageError):
        flags.parse(argv)


def test_bare_value_form_is_an_unknown_argument():
    options = flags.parse(["--model_name=m", "8500"])
    assert options.warnings == ["unknown argument: 8500"]


# ---------------------------------------------------------------- config

def model_config(text):
    from tensorflow_serving.config import model_server_config_pb2
    return text_format.Parse(text, model_server_config_pb2.ModelServerConfig())


def test_model_config_checks():
    ok = model_config("model_config_list { config { name: 'a' base_path: '/x' } config { name: 'b' base_path: '/y' } }")
    assert [c.name for c in config.validate_model_server_config(ok)] == ["a", "b"]
    with pytest.raises(config.ConfigError, match="Illegal to list model a multiple times"):
        config.validate_model_server_config(model_config(
            "model_config_list { config { name: 'a' base_path: '/x' } config { name: 'a' base_path: '/y' } }"))
    with pytest.raises(config.ConfigError, match=r"got base_path\(\)=rel"):
        config.validate_model_server_config(model_config("model_config_list { config { name: 'a' base_path: 'rel' } }"))


def test_full_text_format_syntax_parses(tmp_path):
    path = tmp_path / "models.config"
    path.write_text("# comment\nmodel_config_list: { config: { name: 'a', base_path: \"/x\"; "
                    "model_version_policy { latest { num_versions: 2 } } } }\n")
    options = flags.parse(["--model_config_file=%s" % path])
    loaded = config.load_model_server_config(options)
    assert loaded.model_config_list.config[0].model_version_policy.latest.num_versions == 2


def test_batching_defaults_and_checks(tmp_path):
    from model_server.protos import batching_parameters_pb2
    defaults = config.BatchingOptions(batching_parameters_pb2.BatchingParameters(), from_file=False)
    assert (defaults.max_batch_size, defaults.batch_timeout_micros, defaults.max_enqueued_batches) == (1000, 0, 10)
    assert defaults.thread_pool_name == "model_server_batch_threads"
    params = text_format.Parse("max_batch_size { value: 8 } allowed_batch_sizes: 2 allowed_batch_sizes: 4",
                               batching_parameters_pb2.BatchingParameters())
    with pytest.raises(config.ConfigError, match="must end with max_batch_size"):
        config.BatchingOptions(params, from_file=True)


def test_length_batching_flags():
    on = ["--enable_batching", "--batching_length_buckets=%s"]
    assert config.load_batching_options(flags.parse([on[0], on[1] % "16,32"])).length_buckets == [16, 32]
    auto = config.load_batching_options(flags.parse([on[0], on[1] % "auto", "--batching_run_cost_tokens=8"]))
    assert auto.length_runs and auto.length_buckets == [] and auto.run_cost_tokens == 8
    with pytest.raises(config.ConfigError, match="--batching_length_buckets=32,16: .* increasing"):
        config.load_batching_options(flags.parse([on[0], on[1] % "32,16"]))
    with pytest.raises(config.ConfigError, match="--batching_run_cost_tokens=-1"):
        config.load_batching_options(flags.parse([on[0], "--batching_run_cost_tokens=-1"]))


def test_monitoring_path_default(tmp_path):
    path = tmp_path / "monitoring.config"
    path.write_text("prometheus_config { enable: true }")
    assert config.load_monitoring_path(flags.parse(["--monitoring_config_file=%s" % path])) == \
        "/monitoring/prometheus/metrics"
    path.write_text("prometheus_config { enable: false }")
    assert config.load_monitoring_path(flags.parse(["--monitoring_config_file=%s" % path])) is None


# ---------------------------------------------------------------- routes

@pytest.mark.parametrize("method,path,expected", [
    ("GET", "/v1/models/m", ("status", "m", None, None)),
    ("GET", "/v1/models/m/versions/00012", ("status", "m", 12, None)),
    ("GET", "/v1/models/m/labels/stable/metadata", ("metadata", "m", None, "stable")),
    ("POST", "/V1/MODELS/m/VERSIONS/4:predict", ("predict", "m", 4, None)),
    ("GET", "/v1/models/m/METADATA", ("status", "m", None, None)),  # TFS: only lower-case `metadata` is metadata
    ("POST", "/v1/models/a%2Fb/versions/3:classify", ("classify", "a/b", 3, None)),
])
def test_routes(method, path, expected):
    route = rest_routes.route(method, path)
    assert (route.kind, route.model, route.version, route.label) == expected


def test_route_errors():
    with pytest.raises(rest_routes.NotV1):
        rest_routes.route("GET", "/v2/models/m")
    for method, path in [("GET", "/v1/models/m:predict"), ("POST", "/v1/models/m/versions/1/labels/x:predict"),
                         ("DELETE", "/v1/models/m"), ("POST", "/v1/models/m:predictx"),
                         ("POST", "/v1/models/m:Predict"), ("GET", "/v1/models/m/"), ("GET", "/v1/models/m/versions/\u00b2")]:
        with pytest.raises(ServingError, match="Malformed request"):
            rest_routes.route(method, path)
    for digits in ("9223372036854775808", "9" * 5000):
        with pytest.raises(ServingError, match="^Failed to convert version: 9"):
            rest_routes.route("GET", "/v1/models/m/versions/" + digits)
    assert rest_routes.route("GET", "/v1/models/m/versions/" + "0" * 5000 + "9223372036854775807").version == 2 ** 63 - 1


# ---------------------------------------------------------------- JSON codec

nested_ints = st.integers(1, 4).flatmap(lambda rows: st.integers(0, 4).flatmap(
    lambda cols: st.lists(st.lists(st.integers(-2 ** 31, 2 ** 31 - 1), min_size=cols, max_size=cols),
                          min_size=rows, max_size=rows)))


@settings(max_examples=60, deadline=None)
@given(nested_ints)
def test_int_lists_round_trip(value):
    array = tensor_json.to_array(value, INT32)
    assert array.dtype == np.int32 and array.tolist() == value


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.integers(-10, 10), st.booleans(), st.floats(allow_nan=False), st.text(max_size=2),
                          st.none()), min_size=1, max_size=5))
def test_int_dtype_accepts_only_json_integers(values):
    if all(type(v) is int for v in values):
        assert tensor_json.to_array(values, INT32).tolist() == values
    else:
        with pytest.raises(ServingError, match="is not of expected type: int32"):
            tensor_json.to_array(values, INT32)


@pytest.mark.parametrize("value,dtype,fragment", [
    ([[1, 2], [3]], INT32, "Encountered list at unexpected size: 1 at level: 1 expected size: 2"),
    ([[1, 2], 3], INT32, "found at incorrect level"),
    ([1, [2, 3]], INT32, "Encountered list at unexpected level"),
    ([2 ** 24 + 1], FLOAT, "without loss of precision"),
    ([{"b64": "!!"}], STRING, "Unable to base64 decode"),
    ([{"b64": "AA==", "x": 1}], STRING, "not formatted correctly for base64 data"),
    ([1], BOOL, "is not of expected type: bool"),
    ([2 ** 63], INT64, "is not of expected type: int64"),
])
def test_codec_errors(value, dtype, fragment):
    with pytest.raises(ServingError, match=None) as info:
        tensor_json.to_array(value, dtype)
    assert fragment in info.value.message


def test_codec_values():
    assert tensor_json.to_array([[0.5, 1], [float("inf"), -2]], FLOAT).dtype == np.float32
    assert tensor_json.to_array(["a", {"b64": "AP8="}], STRING).tolist() == [b"a", b"\x00\xff"]
    assert tensor_json.to_array([True, False], BOOL).tolist() == [True, False]
    assert tensor_json.to_array(7, INT64).shape == ()
    assert tensor_json.to_array([[], []], INT32).shape == (2, 0)


def answer(outputs, fmt):
    return tensor_json.encode(tensor_json.predict_response(outputs, fmt))


def test_response_shapes():
    out = {"a": np.array([[1.0, 2.0], [3.0, 4.0]], np.float32), "b_bytes": np.array([b"\x00", b"z"], object)}
    assert json.loads(answer(out, "row")) == {"predictions": [
        {"a": [1.0, 2.0], "b_bytes": {"b64": "AA=="}}, {"a": [3.0, 4.0], "b_bytes": {"b64": "eg=="}}]}
    assert answer({"a": out["a"]}, "columnar") == b'{"outputs":[[1.0,2.0],[3.0,4.0]]}'
    assert answer({"a": np.float32(0.5), "n": np.array([[1, 2]], np.int32)}, "columnar") == \
        b'{"outputs":{"a":0.5,"n":[[1,2]]}}'
    assert answer({"a": np.zeros((2, 0, 3), np.float32)}, "columnar") == b'{"outputs":[[],[]]}'
    assert tensor_json.encode({"x": [float("nan"), float("-inf"), 1.0]}) == b'{"x":[NaN,-Infinity,1.0]}'


def test_float32_outputs_are_written_with_nine_digits_that_read_back_as_the_same_float32():
    rng = np.random.RandomState(7)
    values = np.concatenate([
        rng.dirichlet(np.full(13, 0.1), size=40).ravel(),  # a token classifier's probabilities
        rng.standard_normal(200) * 10.0 ** rng.randint(-40, 37, 200),
        [np.finfo(np.float32).max, np.finfo(np.float32).tiny, 1e-45, 0.1, 1 / 3, 16777217.0, 1e10, 123456789.0],
    ]).astype(np.float32).reshape(-1, 4, 2)
    text = answer({"y": values}, "columnar")
    numbers = json.loads(text)["outputs"]
    assert np.array_equal(np.asarray(numbers, np.float32), values)
    written = re.findall(rb"[-0-9.e+]+", text)
    assert len(written) == values.size
    assert all(len(re.sub(rb"^-?0\.0*|^-|\.|e.*$", b"", number).rstrip(b"0")) <= 9 for number in written)
    # As TFS: whole numbers keep ".0", non-finite values are words.
    specials = np.array([3.0, -0.0, 123456792.0, 1e10, np.nan, np.inf, -np.inf], np.float32)
    assert answer({"y": specials}, "row") == b'{"predictions":[3.0,-0.0,123456792.0,1e+10,NaN,Infinity,-Infinity]}'


# ---------------------------------------------------------------- batcher

class Options(object):
    def __init__(self, **kw):
        self.max_batch_size = 8
        self.batch_timeout_micros = 200000
        self.max_enqueued_batches = 10
        self.num_batch_threads = 1
        self.allowed_batch_sizes = []
        self.pad_variable_length_inputs = False
        self.length_buckets = []
        self.length_runs = False
        self.run_cost_tokens = 16
        self.__dict__.update(kw)


class Recorder(object):
    """A fake model: output = sum of each row; remembers every batch it ran.

    With hold=True a run starts (`running` is set) and then waits for `release`,
    so a test knows the batch thread is busy instead of hoping it is.
    """

    def __init__(self, delay=0.0, hold=False):
        self.batches = []
        self.delay = delay
        self.running = threading.Event()
        self.release = threading.Event()
        if not hold:
            self.release.set()

    def __call__(self, signature, inputs, outputs, deadline=None):
        x = inputs["x"]
        self.batches.append(x.shape)
        self.running.set()
        assert self.release.wait(30), "the test never released the held run"
        time.sleep(self.delay)
        return {"y": x.reshape(x.shape[0], -1).sum(axis=1)}


def submit_all(batcher, arrays):
    futures = [batcher.submit("s", {"x": a}, ("y",)) for a in arrays]
    return [f.result(10)["y"].tolist() for f in futures]


def test_ports_take_auto_and_refuse_negative_numbers():
    options = flags.parse(["--port=auto", "--rest_api_port=auto"])
    assert options.port == options.rest_api_port == flags.AUTO_PORT
    config.check_ports(options)
    assert flags.parse(["--rest_api_port=0"]).rest_api_port == 0  # TFS: off
    with pytest.raises(flags.UsageError, match=r"invalid value for --port: '-1' \(expected 0-65535 or auto\)"):
        flags.parse(["--port=-1"])


def test_concurrent_tasks_share_one_run_and_split_in_order():
    model = Recorder()
    batcher = Batcher(model, Options())
    try:
        arrays = [np.full((n, 2), i, np.int32) for i, n in enumerate([1, 2, 3])]
        assert submit_all(batcher, arrays) == [[0], [2, 2], [4, 4, 4]]
        assert model.batches == [(6, 2)]
    finally:
        batcher.stop()


def test_allowed_batch_sizes_pad_with_the_first_row():
    model = Recorder()
    batcher = Batcher(model, Options(allowed_batch_sizes=[4, 8]))
    try:
        assert submit_all(batcher, [np.ones((3, 2), np.int32)]) == [[2, 2, 2]]
        assert model.batches == [(4, 2)]
    finally:
        batcher.stop()


def test_variable_lengths_pad_and_length_buckets_group():
    model = Recorder()
    batcher = Batcher(model, Options(pad_variable_length_inputs=True))
    try:
        assert submit_all(batcher, [np.array([[5, 1]]), np.array([[1, 1, 1, 1]])]) == [[5 + 1 + 5 + 5], [4]]
        assert model.batches == [(2, 4)]
    finally:
        batcher.stop()
    model = Recorder()
    batcher = Batcher(model, Options(pad_variable_length_inputs=True, length_buckets=[2, 4]))
    try:
        assert submit_all(batcher, [np.array([[5, 1]]), np.array([[1, 1, 1, 1]])]) == [[6], [4]]
        assert sorted(model.batches) == [(1, 2), (1, 4)]
    finally:
        batcher.stop()


def test_length_runs_cut_where_padding_costs_more_than_a_run():
    Task = collections.namedtuple("Task", "length size")
    tasks = [Task(10, 1), Task(30, 1), Task(11, 2), Task(12, 1), Task(40, 1)]
    runs = length_runs(tasks, max_batch_size=8, run_cost_tokens=16)
    # 10, 11 (x2), 12 join: at most 3 rows x 1 position of padding; 30 would pad 4 rows by 18.
    # 40 joins 30: 1 row x 10 positions.
    assert runs == [[tasks[0], tasks[2], tasks[3]], [tasks[1], tasks[4]]]
    assert [len(r) for r in length_runs(tasks, max_batch_size=8, run_cost_tokens=1000)] == [5]
    assert [len(r) for r in length_runs(tasks, max_batch_size=3, run_cost_tokens=1000)] == [2, 3]


def test_auto_length_runs_take_the_oldest_tasks_run_and_leave_the_rest_queued():
    model = Recorder()
    batcher = Batcher(model, Options(pad_variable_length_inputs=True, length_runs=True, run_cost_tokens=2))
    try:
        arrays = [np.ones((1, 9), np.int32), np.ones((1, 2), np.int32), np.ones((1, 8), np.int32),
                  np.ones((1, 3), np.int32)]
        # One batch of four, cut by length: the run holding the oldest (length 9) goes first.
        # Padding repeats the first element (1), so each row sums to its run's length.
        assert submit_all(batcher, arrays) == [[9], [3], [9], [3]]
        assert model.batches == [(2, 9), (2, 3)]
    finally:
        batcher.stop()


def test_shapes_that_cannot_concatenate_run_apart_without_padding():
    model = Recorder()
    batcher = Batcher(model, Options())
    try:
        assert submit_all(batcher, [np.ones((1, 2)), np.ones((1, 3))]) == [[2.0], [3.0]]
        assert sorted(model.batches) == [(1, 2), (1, 3)]
    finally:
        batcher.stop()


def test_limits():
    model = Recorder(hold=True)
    batcher = Batcher(model, Options(max_batch_size=2, max_enqueued_batches=1, batch_timeout_micros=0))
    try:
        with pytest.raises(ServingError, match="Task size 3 is larger than maximum input batch size 2"):
            batcher.submit("s", {"x": np.ones((3, 1))}, ("y",))
        with pytest.raises(ServingError, match="at least one dimension"):
            batcher.submit("s", {"x": np.ones(())}, ("y",))
        with pytest.raises(ServingError, match="equal 0th-dimension size"):
            batcher.submit("s", {"x": np.ones((1, 1)), "z": np.ones((2, 1))}, ("y",))
        first = batcher.submit("s", {"x": np.ones((2, 1))}, ("y",))
        assert model.running.wait(10)  # the batch thread took it and is held in the model
        queued = batcher.submit("s", {"x": np.ones((2, 1))}, ("y",))
        with pytest.raises(ServingError) as info:
            batcher.submit("s", {"x": np.ones((2, 1))}, ("y",))
        assert info.value.code == "UNAVAILABLE" and info.value.http_status == 503
        model.release.set()
        assert first.result(5)["y"].tolist() == [1.0, 1.0] and queued.result(5)["y"].tolist() == [1.0, 1.0]
    finally:
        model.release.set()
        batcher.stop()


def test_expired_and_cancelled_tasks_are_not_run():
    model = Recorder()
    batcher = Batcher(model, Options(batch_timeout_micros=100000))
    try:
        expired = batcher.submit("s", {"x": np.ones((1, 1))}, ("y",), deadline=time.monotonic() + 0.01)
        cancelled = batcher.submit("s", {"x": np.ones((1, 1))}, ("y",))
        cancelled.cancel()
        with pytest.raises(ServingError) as info:
            expired.result(5)
        assert info.value.code == "DEADLINE_EXCEEDED"
        assert model.batches == []
    finally:
        batcher.stop()


def test_stop_finishes_queued_work():
    model = Recorder(delay=0.05)
    batcher = Batcher(model, Options(batch_timeout_micros=10 ** 7))
    future = batcher.submit("s", {"x": np.ones((1, 1))}, ("y",))
    threading.Thread(target=batcher.stop).start()
    assert future.result(5)["y"].tolist() == [1.0]


# ---------------------------------------------------------------- version policies

def policy(text):
    from tensorflow_serving.config import model_server_config_pb2
    return text_format.Parse(text, model_server_config_pb2.ModelConfig()).model_version_policy


def test_version_dirs_and_policies(tmp_path):
    for name in ("1", "00000123", "7", "temp-9", "abc"):
        (tmp_path / name).mkdir()
    (tmp_path / "42").write_text("a file, not a version")
    present = versions.scan(str(tmp_path))
    assert sorted(present) == [1, 7, 123]
    assert versions.aspired(policy(""), present) == {123}
    assert versions.aspired(policy("model_version_policy { latest { num_versions: 2 } }"), present) == {7, 123}
    assert versions.aspired(policy("model_version_policy { latest { num_versions: 0 } }"), present) == {123}
    assert versions.aspired(policy("model_version_policy { all {} }"), present) == {1, 7, 123}
    assert versions.aspired(policy("model_version_policy { specific { versions: 7 versions: 8 } }"), present) == {7}


# ---------------------------------------------------------------- launcher

def test_launcher_prefers_tensorflow_model_server(tmp_path, monkeypatch):
    import sys
    monkeypatch.delenv("MODEL_SERVER_BIN", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert launch.server_command() == [sys.executable, "-m", "model_server"]
    fake = tmp_path / "tensorflow_model_server"
    fake.write_text("#!/bin/sh\n")
    fake.chmod(0o755)
    assert launch.server_command() == [str(fake)]
    monkeypatch.setenv("MODEL_SERVER_BIN", "local")
    assert launch.server_command() == [sys.executable, "-m", "model_server"]


def test_tf_run_errors_become_one_line_and_long_messages_are_bounded():
    text = ("indices[0,2] = 99 is not in [0, 30)\n\t [[node embedding_lookup (defined at /srv/x.py:17) ]]\n\n"
            "Original stack trace for 'embedding_lookup':\n  File \"/srv/x.py\", line 17")
    assert errors.op_error_message(text) == "indices[0,2] = 99 is not in [0, 30) [[node embedding_lookup]]"
    assert errors.op_error_message("bad\n\t [[{{node a/b}}]]") == "bad [[node a/b]]"
    assert errors.op_error_message("one line") == "one line"
    long_message = errors.ServingError("INVALID_ARGUMENT", "head " + "x" * 100000 + " tail").message
    assert len(long_message) < errors.MAX_MESSAGE_CHARS + 100
    assert long_message.startswith("head x") and long_message.endswith("x tail") and "characters omitted" in long_message


# ---------------------------------------------------------------- classify/regress signature rules

def test_signature_method_name_check_is_off_by_default_as_in_tfs_2(monkeypatch):
    """TF2-written signatures (method_name always predict) serve Classify/Regress unless
    --enable_signature_method_name_check; the classify/regress aliases are required either way."""
    import types

    from tensorflow.core.protobuf import meta_graph_pb2

    from model_server import examples

    def signature(method, inputs, outputs):
        result = meta_graph_pb2.SignatureDef(method_name=method)
        for alias in inputs:
            result.inputs[alias].dtype = 7
        for alias in outputs:
            result.outputs[alias].dtype = 1
        return result

    submitted = []
    runner = types.SimpleNamespace(
        servable=types.SimpleNamespace(signatures={
            "tf2": signature("tensorflow/serving/predict", ["inputs"], ["outputs"]),
            "named_wrong": signature("tensorflow/serving/regress", ["examples"], ["outputs"])}),
        submit=lambda *args: submitted.append(args) or "future")
    request = examples.input_pb2.Input()
    request.example_list.examples.add()
    assert examples.start_regress(runner, "tf2", request)[:2] == ("tf2", "future")
    with pytest.raises(ServingError, match="No regression inputs found in SignatureDef"):
        examples.start_regress(runner, "named_wrong", request)
    monkeypatch.setattr(examples, "method_name_check", True)
    with pytest.raises(ServingError, match="Expected regression signature method_name to be tensorflow/serving/regress"):
        examples.start_regress(runner, "tf2", request)
    assert len(submitted) == 1
