"""configs/*.config parse as the TF Serving messages the model server reads, with sane values.

A config TF Serving cannot parse stops the server at startup, on the GPU node, after the image
was built and pushed; these tests move that failure to the test run.
"""

import pytest

pytestmark = pytest.mark.needs_tf  # tensorflow-serving-api and model_server (Python 3.7 venv)


def test_models_config_serves_one_model_from_an_absolute_base_path(model_server_config):
    configs = model_server_config.model_config_list.config
    assert [c.name for c in configs] == ["bert_classifier"]
    (config,) = configs
    # TF Serving refuses relative base paths at startup.
    assert config.base_path == "/models/bert_classifier"
    assert config.model_platform == "tensorflow"
    policy = config.model_version_policy
    assert policy.WhichOneof("policy_choice") == "latest"
    assert policy.latest.num_versions == 1


def test_batching_sizes_satisfy_tf_serving_rules(batching):
    # TF Serving fails to load the model unless allowed_batch_sizes increase strictly and end
    # with max_batch_size.
    sizes = list(batching.allowed_batch_sizes)
    assert sizes, "allowed_batch_sizes is empty"
    assert sizes == sorted(set(sizes)), "allowed_batch_sizes must increase strictly: %s" % sizes
    assert sizes[-1] == batching.max_batch_size.value


def test_batching_is_set_for_bert_on_one_gpu(batching):
    for field in ("max_batch_size", "batch_timeout_micros", "max_enqueued_batches",
                  "num_batch_threads"):
        assert batching.HasField(field), "%s unset: TF Serving would use its default" % field
    assert batching.max_batch_size.value == 64
    # Waiting longer than 10 ms for a batch to fill would dominate BERT's GPU latency.
    assert 0 < batching.batch_timeout_micros.value <= 10000
    assert batching.num_batch_threads.value >= 1
    assert batching.max_enqueued_batches.value >= 1
    # Dynamic-length exports need it to batch requests of different lengths.
    assert batching.pad_variable_length_inputs is True


def test_monitoring_config_enables_prometheus_on_the_default_path(monitoring):
    assert monitoring.prometheus_config.enable is True
    assert monitoring.prometheus_config.path == "/monitoring/prometheus/metrics"


@pytest.mark.parametrize("text", [
    "max_batch_sise { value: 64 }",   # misspelled field
    "max_batch_size: 64",             # the scalars are wrapper messages: { value: 64 }
    "allowed_batch_sizes: 8.5",
])
def test_batching_parser_rejects_what_tf_serving_rejects(batching_parameters_cls, text):
    from google.protobuf import text_format

    with pytest.raises(text_format.ParseError):
        text_format.Parse(text, batching_parameters_cls())


def test_models_config_parser_rejects_unknown_fields():
    from google.protobuf import text_format

    from tensorflow_serving.config import model_server_config_pb2

    with pytest.raises(text_format.ParseError):
        text_format.Parse('model_config_list { config { name: "m" basepath: "/m" } }',
                          model_server_config_pb2.ModelServerConfig())


def test_cpu_batching_config_loads_in_the_local_server_with_automatic_length_runs():
    from deploy_files import repo_path
    from model_server import config, flags

    options = flags.parse(["--enable_batching", "--batching_length_buckets=auto",
                           "--batching_parameters_file=" + repo_path("configs", "batching_cpu.config")])
    batching = config.load_batching_options(options)
    assert batching.pad_variable_length_inputs and batching.length_runs
    assert batching.batch_timeout_micros == 0 and batching.num_batch_threads >= 1
