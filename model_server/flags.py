"""`tensorflow_model_server`-compatible command line parsing.

TFS uses tensorflow::Flags: only `--name=value` (booleans also bare `--name`),
a bad value prints usage and fails, an unknown argument is reported with the
usage and startup goes on. This module reproduces that instead of argparse,
whose prefix matching, `--name value` form and fatal unknown-argument handling
would make scripts behave differently against the two servers.
"""

import collections
import os
import sys

Flag = collections.namedtuple("Flag", "name kind default help")

_CPUS = os.cpu_count() or 1
DEFAULT_MONITORING_PATH = "/monitoring/prometheus/metrics"
# `--port=auto` / `--rest_api_port=auto` (local extra): bind a free port the OS picks. TFS has no
# such value (its 0 means "off", kept here), so a command line using it fails loudly there.
AUTO_PORT = -1

FLAGS = [
    Flag("port", "port", 8500, "Port to listen on for gRPC API (0 = off; then --grpc_socket_path is required; "
         "LOCAL: auto = a free port, see --port_file)"),
    Flag("grpc_socket_path", "str", "", "If non-empty, also listen on this UNIX socket for gRPC API"),
    Flag("rest_api_port", "port", 0, "Port to listen on for HTTP/REST API (0 = off; LOCAL: auto = a free port)"),
    Flag("rest_api_num_threads", "int", 4 * _CPUS, "Number of threads for HTTP/REST request work (JSON codec)"),
    Flag("rest_api_timeout_in_ms", "int", 30000, "Timeout of one HTTP/REST model run in ms (then 504)"),
    Flag("rest_api_enable_cors_support", "bool", False, "Send Access-Control-Allow-* headers on REST responses"),
    Flag("model_name", "str", "default", "Name of the model (single-model mode)"),
    Flag("model_base_path", "str", "", "Absolute path of the model's version directories (single-model mode)"),
    Flag("model_config_file", "str", "", "ModelServerConfig text file; overrides --model_name/--model_base_path"),
    Flag("model_config_file_poll_wait_seconds", "int", 0, "Re-read --model_config_file every N seconds (0 = once)"),
    Flag("file_system_poll_wait_seconds", "int", 1, "Poll base paths for new versions every N seconds (0 = once)"),
    Flag("enable_batching", "bool", False, "Batch concurrent requests to one model run"),
    Flag("batching_parameters_file", "str", "", "BatchingParameters text file (needs --enable_batching)"),
    Flag("monitoring_config_file", "str", "", "MonitoringConfig text file (Prometheus metrics on the REST port)"),
    Flag("enable_model_warmup", "bool", True, "Replay assets.extra/tf_serving_warmup_requests before serving"),
    Flag("num_request_iterations_for_warmup", "int", 0, "Replays per warm-up record (0 = 1)"),
    Flag("max_num_load_retries", "int", 5, "Retries of a failing version load"),
    Flag("load_retry_interval_micros", "int", 60 * 1000 * 1000, "Wait between load retries in microseconds"),
    Flag("saved_model_tags", "str", "serve", "Comma-separated MetaGraph tags to load"),
    Flag("tensorflow_session_parallelism", "int", 0, "TF session threads (0 = auto)"),
    Flag("tensorflow_intra_op_parallelism", "int", 0, "TF intra-op threads (0 = auto; overrides session parallelism)"),
    Flag("tensorflow_inter_op_parallelism", "int", 0, "TF inter-op threads (0 = auto; overrides session parallelism)"),
    Flag("allow_version_labels_for_unavailable_models", "bool", False,
         "Allow new version labels to point at versions that are not AVAILABLE yet"),
    Flag("prefer_tflite_model", "bool", False,
         "Serve a version's model.tflite with TF Lite's interpreter instead of its SavedModel when it has one"),
    Flag("enable_signature_method_name_check", "bool", False,
         "Classify/Regress only on signatures whose method_name says so (TF 1.x behaviour)"),
    Flag("version", "bool", False, "Print the version and exit"),
    # Local extras (not in TFS).
    Flag("port_file", "str", "",
         "LOCAL: once serving, write the bound ports as JSON {\"grpc_port\": ..., \"rest_api_port\": ...} "
         "to this file (replaced atomically; removed at shutdown)"),
    Flag("bind_all_interfaces", "bool", False,
         "LOCAL: listen on all interfaces (0.0.0.0) instead of loopback only (127.0.0.1)"),
    Flag("rest_api_max_body_bytes", "int", 64 * 1024 * 1024,
         "LOCAL: larger REST request bodies (also after gunzip) are answered 413"),
    Flag("rest_api_read_timeout_seconds", "int", 10,
         "LOCAL: a REST request's headers must arrive within this time (else the connection is closed) "
         "and its body may not stall longer (else 408)"),
    Flag("grpc_max_receive_message_bytes", "int", 64 * 1024 * 1024,
         "LOCAL: larger gRPC request messages are refused with RESOURCE_EXHAUSTED"),
    Flag("model_warmup_timeout_seconds", "int", 300,
         "LOCAL: a version's warm-up replay must finish within this time, else its load fails (0 = no limit)"),
    Flag("rest_api_max_inflight_body_bytes", "int", 256 * 1024 * 1024,
         "LOCAL: REST request bodies (read and gunzipped) held at once across all requests; a request that "
         "would exceed it is answered 503 with Retry-After (raised to --rest_api_max_body_bytes when smaller)"),
    Flag("rest_api_max_connections", "int", 512,
         "LOCAL: open REST connections; requests on connections beyond it are answered 503 with Retry-After "
         "and the connection is closed"),
    Flag("batching_length_buckets", "str", "",
         "LOCAL: with pad_variable_length_inputs, group requests by length before padding: comma-separated "
         "increasing lengths (fixed buckets of the longest non-batch dimension), or auto (a free batch thread "
         "sorts the queued requests by length and cuts runs where padding would cost more than a run)"),
    Flag("batching_run_cost_tokens", "int", 16,
         "LOCAL: with --batching_length_buckets=auto, the padding (rows x positions) worth one more session "
         "run; larger values give bigger, more padded runs"),
]

# TFS flags the local server accepts so that the same command lines work, but does not act on.
IGNORED_FLAGS = frozenset("""
    grpc_channel_arguments grpc_max_threads
    platform_config_file ssl_config_file per_process_gpu_memory_fraction
    xla_cpu_compilation_enabled flush_filesystem_caches
    remove_unused_fields_from_bundle_metagraph
    num_tflite_pools num_tflite_interpreters_per_pool num_tflite_interpreters
    enable_profiler mixed_precision use_tflite_model
    tensorflow_gpu_memory_fraction gpu_memory_fraction
    skip_initialize_tpu thread_pool_factory_config_file
    enable_grpc_healthcheck_service use_alts_credentials
    grpc_health_check_service tflite_model_path
""".split())

_BY_NAME = {flag.name: flag for flag in FLAGS}
_TRUE = ("true", "1", "yes")
_FALSE = ("false", "0", "no")


class UsageError(Exception):
    """A flag value that cannot be parsed: the server prints usage and exits non-zero."""


def usage(program="tensorflow_model_server"):
    lines = ["usage: %s" % program, "Flags:"]
    for flag in FLAGS:
        default = str(flag.default).lower() if flag.kind == "bool" else flag.default
        if flag.kind == "str":
            default = '"%s"' % default
        lines.append("\t--%s=%s\t%s\t%s" % (flag.name, default, _KIND_NAMES[flag.kind], flag.help))
    lines.append("Also accepted and ignored (TFS features not implemented locally): "
                 + " ".join("--" + name for name in sorted(IGNORED_FLAGS)))
    return "\n".join(lines)


_KIND_NAMES = {"int": "int64", "port": "int64|auto", "str": "string", "bool": "bool"}


def _convert(flag, raw):
    if flag.kind == "bool":
        if raw is None or raw.lower() in _TRUE:
            return True
        if raw.lower() in _FALSE:
            return False
        raise UsageError("invalid value for --%s: %r (expected true or false)" % (flag.name, raw))
    if raw is None:
        raise UsageError("--%s needs a value: --%s=<%s>" % (flag.name, flag.name, _KIND_NAMES[flag.kind]))
    if flag.kind == "port" and raw == "auto":
        return AUTO_PORT
    if flag.kind in ("int", "port"):
        try:
            value = int(raw, 10)
        except ValueError:
            raise UsageError("invalid value for --%s: %r (expected an integer)" % (flag.name, raw)) from None
        if flag.kind == "port" and value < 0:
            raise UsageError("invalid value for --%s: %r (expected 0-65535 or auto)" % (flag.name, raw))
        return value
    return raw


class Options(object):
    """Parsed flag values as attributes, plus what the parser warned about."""

    def __init__(self, values, warnings):
        self.__dict__.update(values)
        self.warnings = warnings

    def __repr__(self):
        return "Options(%s)" % ", ".join(
            "%s=%r" % (flag.name, getattr(self, flag.name)) for flag in FLAGS)


def parse(argv):
    """Parse argv (without the program name). Raises UsageError on a bad value."""
    values = {flag.name: flag.default for flag in FLAGS}
    warnings = []
    for arg in argv:
        if arg in ("--help", "-h", "--helpfull"):
            values["help"] = True
            continue
        name, raw = _split(arg)
        if name in _BY_NAME:
            values[name] = _convert(_BY_NAME[name], raw)
        elif name in IGNORED_FLAGS:
            warnings.append("flag --%s is accepted but ignored by the local model server" % name)
        else:
            warnings.append("unknown argument: %s" % arg)
    values.setdefault("help", False)
    return Options(values, warnings)


def _split(arg):
    if not arg.startswith("--") or len(arg) == 2:
        return None, None
    body = arg[2:]
    if "=" in body:
        name, raw = body.split("=", 1)
        return name, raw
    return body, None


def parse_or_exit(argv, stderr=sys.stderr):
    """parse() with TFS's reactions: usage + exit 1 on bad values, warnings otherwise."""
    try:
        options = parse(argv)
    except UsageError as exc:
        print(str(exc), file=stderr)
        print(usage(), file=stderr)
        sys.exit(1)
    if options.help:
        print(usage())
        sys.exit(0)
    for warning in options.warnings:
        print(warning, file=stderr)
        if warning.startswith("unknown argument"):
            print(usage(), file=stderr)
    return options
