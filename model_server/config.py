"""Reading and checking the server's configuration: models, batching, monitoring.

Config files are protobuf text format parsed with the real message classes
(ModelServerConfig from tensorflow-serving-api; BatchingParameters and
MonitoringConfig from model_server/protos), so every file TFS accepts parses
here and vice versa. Problems raise ConfigError with one line naming the file.
"""

import collections
import logging
import os

from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

from model_server.flags import AUTO_PORT, DEFAULT_MONITORING_PATH
from model_server.protos import batching_parameters_pb2, monitoring_config_pb2

log = logging.getLogger(__name__)


class ConfigError(Exception):
    """A configuration problem that stops startup (or rejects a reload)."""


def read_text_proto(path, message, flag):
    try:
        with open(path, "r", encoding="utf-8") as f:
            text = f.read()
    except OSError as exc:
        raise ConfigError("cannot read --%s=%s: %s" % (flag, path, exc.strerror or exc)) from None
    try:
        text_format.Parse(text, message)
    except text_format.ParseError as exc:
        raise ConfigError("Error parsing text-format %s: %s:%s" % (
            message.DESCRIPTOR.full_name, path, exc)) from None
    return message


def load_model_server_config(options):
    """The ModelServerConfig the flags ask for (file, or --model_name/--model_base_path)."""
    if options.model_config_file:
        config = read_text_proto(options.model_config_file,
                                 model_server_config_pb2.ModelServerConfig(), "model_config_file")
    elif options.model_base_path:
        config = model_server_config_pb2.ModelServerConfig()
        model = config.model_config_list.config.add()
        model.name = options.model_name
        model.base_path = options.model_base_path
        model.model_platform = "tensorflow"
    else:
        raise ConfigError("Both --model_base_path and --model_config_file are empty: "
                          "give one of them")
    validate_model_server_config(config)
    return config


def validate_model_server_config(config):
    """Checks TFS applies to every config it loads or reloads; returns the model configs."""
    if config.WhichOneof("config") != "model_config_list":
        raise ConfigError("ModelServerConfig must use model_config_list "
                          "(custom_model_config is not supported)")
    seen = set()
    for model in config.model_config_list.config:
        if not model.name:
            raise ConfigError("ModelConfig with base_path %r has an empty name" % model.base_path)
        if model.name in seen:
            raise ConfigError("Illegal to list model %s multiple times in config list" % model.name)
        seen.add(model.name)
        if not os.path.isabs(model.base_path) and "://" not in model.base_path:
            raise ConfigError("Expected model %s to have an absolute path or URI; got base_path()=%s"
                              % (model.name, model.base_path))
        if "://" in model.base_path:
            raise ConfigError("model %s: only local file system base paths are supported by the "
                              "local model server; got base_path()=%s" % (model.name, model.base_path))
        if model.model_platform not in ("", "tensorflow"):
            raise ConfigError("model %s: model_platform %r is not supported (only \"tensorflow\")"
                              % (model.name, model.model_platform))
        policy = model.model_version_policy
        if policy.WhichOneof("policy_choice") == "specific" and not policy.specific.versions:
            raise ConfigError("model %s: model_version_policy specific lists no versions" % model.name)
    return list(config.model_config_list.config)


class BatchingOptions(object):
    """BatchingParameters with TFS defaults filled in and checked."""

    def __init__(self, params, from_file):
        cpus = os.cpu_count() or 1
        self.max_batch_size = _wrapped(params, "max_batch_size", 1000)
        self.batch_timeout_micros = _wrapped(params, "batch_timeout_micros", 0)
        self.max_enqueued_batches = _wrapped(params, "max_enqueued_batches", 10)
        self.num_batch_threads = _wrapped(params, "num_batch_threads", cpus)
        default_pool = "batch_threads" if from_file else "model_server_batch_threads"
        self.thread_pool_name = _wrapped(params, "thread_pool_name", default_pool)
        self.allowed_batch_sizes = list(params.allowed_batch_sizes)
        self.pad_variable_length_inputs = params.pad_variable_length_inputs
        self.enable_large_batch_splitting = _wrapped(params, "enable_large_batch_splitting", False)
        self.max_execution_batch_size = _wrapped(params, "max_execution_batch_size", self.max_batch_size)
        self.length_buckets = []  # --batching_length_buckets: fixed bounds, or
        self.length_runs = False  # =auto: runs cut from the queued requests sorted by length
        self.run_cost_tokens = 16  # --batching_run_cost_tokens
        self._check()

    def _check(self):
        for name in ("max_batch_size", "max_enqueued_batches", "num_batch_threads",
                     "max_execution_batch_size"):
            if getattr(self, name) < 1:
                raise ConfigError("BatchingParameters.%s must be positive; got %d"
                                  % (name, getattr(self, name)))
        if self.batch_timeout_micros < 0:
            raise ConfigError("BatchingParameters.batch_timeout_micros must not be negative")
        sizes = self.allowed_batch_sizes
        if sizes:
            if any(b <= a for a, b in zip(sizes, sizes[1:])) or sizes[0] < 1:
                raise ConfigError("BatchingParameters.allowed_batch_sizes must be positive and "
                                  "increasing; got %s" % sizes)
            if sizes[-1] != self.max_batch_size:
                raise ConfigError("BatchingParameters.allowed_batch_sizes must end with "
                                  "max_batch_size (%d); got %s" % (self.max_batch_size, sizes))


# BatchingParameters fields TFS acts on and the local server does not (a warning at startup).
_NOT_ACTED_ON = {
    "enable_large_batch_splitting": "batches are never split; a request over max_batch_size is refused",
    "max_execution_batch_size": "a run holds at most max_batch_size rows",
    "thread_pool_name": "each model version has num_batch_threads threads of its own, shared with no other",
}


def _wrapped(params, field, default):
    return getattr(params, field).value if params.HasField(field) else default


def load_batching_options(options):
    """BatchingOptions when --enable_batching is on, else None."""
    if options.batching_parameters_file and not options.enable_batching:
        raise ConfigError("--batching_parameters_file=%s is set without --enable_batching"
                          % options.batching_parameters_file)
    if not options.enable_batching:
        return None
    params = batching_parameters_pb2.BatchingParameters()
    if options.batching_parameters_file:
        read_text_proto(options.batching_parameters_file, params, "batching_parameters_file")
    batching = BatchingOptions(params, bool(options.batching_parameters_file))
    for field, why in _NOT_ACTED_ON.items():
        if params.HasField(field):
            log.warning("BatchingParameters.%s in %s is parsed but not acted on by the local model server: %s",
                        field, options.batching_parameters_file, why)
    if options.batching_length_buckets.strip() == "auto":
        batching.length_runs = True
    else:
        batching.length_buckets = _parse_buckets(options.batching_length_buckets)
    if options.batching_run_cost_tokens < 0:
        raise ConfigError("--batching_run_cost_tokens=%d: must not be negative" % options.batching_run_cost_tokens)
    batching.run_cost_tokens = options.batching_run_cost_tokens
    return batching


def _parse_buckets(text):
    if not text.strip():
        return []
    try:
        buckets = [int(part) for part in text.split(",")]
    except ValueError:
        raise ConfigError("--batching_length_buckets=%s: expected comma-separated integers or auto" % text) from None
    if any(b <= a for a, b in zip(buckets, buckets[1:])) or buckets[0] < 1:
        raise ConfigError("--batching_length_buckets=%s: lengths must be positive and increasing" % text)
    return buckets


def load_monitoring_path(options):
    """The Prometheus path to serve on the REST port, or None when metrics are off."""
    if not options.monitoring_config_file:
        return None
    config = read_text_proto(options.monitoring_config_file,
                             monitoring_config_pb2.MonitoringConfig(), "monitoring_config_file")
    prometheus = config.prometheus_config
    if not prometheus.enable:
        return None
    path = prometheus.path or DEFAULT_MONITORING_PATH
    if not path.startswith("/"):
        raise ConfigError("monitoring_config_file %s: prometheus_config.path must start with '/'; got %r"
                          % (options.monitoring_config_file, path))
    return path


def check_ports(options):
    """Port flag combinations TFS refuses at startup."""
    for name in ("port", "rest_api_port"):
        value = getattr(options, name)
        if value != AUTO_PORT and not 0 <= value <= 65535:
            raise ConfigError("--%s=%d is not a valid port" % (name, value))
    if options.port == 0 and not options.grpc_socket_path:
        raise ConfigError("--port=0 turns gRPC off: give --grpc_socket_path as well")
    port_dir = os.path.dirname(os.path.abspath(options.port_file)) if options.port_file else None
    if port_dir and not os.path.isdir(port_dir):
        raise ConfigError("--port_file=%s: no directory %s" % (options.port_file, port_dir))
    if options.rest_api_timeout_in_ms <= 0:
        raise ConfigError("--rest_api_timeout_in_ms must be positive; got %d" % options.rest_api_timeout_in_ms)
    if options.rest_api_max_body_bytes <= 0:
        raise ConfigError("--rest_api_max_body_bytes must be positive")
    if options.model_warmup_timeout_seconds < 0:
        raise ConfigError("--model_warmup_timeout_seconds must not be negative")
    if options.rest_api_max_inflight_body_bytes <= 0 or options.rest_api_max_connections <= 0:
        raise ConfigError("--rest_api_max_inflight_body_bytes and --rest_api_max_connections must be positive")
    if options.rest_api_read_timeout_seconds <= 0:
        raise ConfigError("--rest_api_read_timeout_seconds must be positive; got %d"
                          % options.rest_api_read_timeout_seconds)
    if options.grpc_max_receive_message_bytes <= 0:
        raise ConfigError("--grpc_max_receive_message_bytes must be positive; got %d"
                          % options.grpc_max_receive_message_bytes)
    if options.file_system_poll_wait_seconds < 0 or options.model_config_file_poll_wait_seconds < 0:
        raise ConfigError("poll wait seconds must not be negative")
    if options.max_num_load_retries < 0 or options.load_retry_interval_micros < 0:
        raise ConfigError("--max_num_load_retries and --load_retry_interval_micros must not be negative")


Settings = collections.namedtuple("Settings", "model_server_config batching monitoring_path")


def load_settings(options):
    """Every startup check that needs no TensorFlow: fails fast with one ConfigError line."""
    check_ports(options)
    return Settings(load_model_server_config(options), load_batching_options(options),
                    load_monitoring_path(options))
