"""Command line and settings, with KServe's transformer flags.

KServe starts a transformer container with `--model_name`, `--predictor_host`
and `--http_port` (and its model server's other flags); they keep KServe's
names and defaults here. Flags of KServe's model server that do not apply
to this gateway (e.g. `--grpc_port`) are accepted and ignored with a warning,
as KServe's own servers do.
"""

import argparse
import logging
from typing import List, NamedTuple, Optional, Tuple

log = logging.getLogger("text_gateway")

PROTOCOLS = ("rest", "grpc")


class GatewaySettings(NamedTuple):
    model_names: Tuple[str, ...]
    predictor_host: str  # host:port of TF Serving (REST or gRPC port, by `protocol`)
    protocol: str = "rest"
    use_ssl: bool = False
    host: str = "127.0.0.1"
    http_port: int = 8080
    workers: int = 1
    vocab_file: Optional[str] = None  # for exports that carry no vocab
    upstream_timeout: float = 30.0
    upstream_retries: int = 1
    upstream_concurrency: int = 32  # upstream requests in flight, all models together
    chunk_size: int = 32  # texts per upstream request
    max_body_bytes: int = 1 << 20
    max_instances: int = 256
    refresh_seconds: float = 2.0  # how often each model's upstream version is checked
    retry_after_seconds: float = 1.0
    graceful_shutdown_seconds: float = 20.0
    log_level: str = "info"
    auth_token_file: Optional[str] = None  # bearer token required on the API (else $TEXT_API_TOKEN(_FILE))

    @property
    def upstream_url(self) -> str:
        if self.protocol == "grpc":
            return "grpc://" + self.predictor_host
        return ("https://" if self.use_ssl else "http://") + self.predictor_host


def _bool(text: str) -> bool:
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError("expected true or false, got %r" % text)


def build_parser() -> argparse.ArgumentParser:
    defaults = GatewaySettings((), "")
    parser = argparse.ArgumentParser(
        prog="text_gateway",
        description="Text in, labels out: KServe v1 HTTP API in front of TF Serving or the local model server.",
    )
    kserve = parser.add_argument_group("KServe flags (same names and defaults)")
    kserve.add_argument("--model_name", action="append", required=True,
                        help="model name upstream and in the API; repeat (or comma-separate) for several models")
    kserve.add_argument("--predictor_host", required=True,
                        help="host:port of TF Serving: its REST port, or its gRPC port with --protocol=grpc")
    kserve.add_argument("--http_port", type=int, default=defaults.http_port, help="default: %(default)s")
    kserve.add_argument("--workers", type=int, default=defaults.workers,
                        help="uvicorn worker processes (default: %(default)s)")
    kserve.add_argument("--predictor_protocol", default="v1",
                        help="KServe's predictor protocol; only v1 (TF Serving's REST API) is spoken")
    kserve.add_argument("--predictor_use_ssl", type=_bool, default=defaults.use_ssl, help="https to the predictor")
    kserve.add_argument("--predictor_request_timeout_seconds", dest="upstream_timeout", type=float,
                        default=defaults.upstream_timeout, help="upstream read timeout; over it: 504 (default: %(default)s)")
    gateway = parser.add_argument_group("gateway")
    gateway.add_argument("--protocol", choices=PROTOCOLS, default=defaults.protocol,
                         help="upstream transport (default: %(default)s)")
    gateway.add_argument("--host", default=defaults.host,
                         help="address to bind (default: %(default)s; 0.0.0.0 in a container)")
    gateway.add_argument("--vocab", dest="vocab_file",
                         help="vocab.txt for exports that carry none (default: the export's own)")
    gateway.add_argument("--upstream_retries", type=int, default=defaults.upstream_retries,
                         help="resends on connection errors (also a connection lost after sending: predict "
                              "has no side effects) and upstream 503 (default: %(default)s)")
    gateway.add_argument("--upstream_concurrency", type=int, default=defaults.upstream_concurrency,
                         help="upstream requests in flight (default: %(default)s)")
    gateway.add_argument("--chunk_size", type=int, default=defaults.chunk_size,
                         help="texts per upstream request; longer batches are split (default: %(default)s)")
    gateway.add_argument("--max_body_bytes", type=int, default=defaults.max_body_bytes,
                         help="larger request bodies get 413 (default: %(default)s)")
    gateway.add_argument("--max_instances", type=int, default=defaults.max_instances,
                         help="more texts in one request get 413 (default: %(default)s)")
    gateway.add_argument("--refresh_seconds", type=float, default=defaults.refresh_seconds,
                         help="how often the upstream version is checked (default: %(default)s)")
    gateway.add_argument("--graceful_shutdown_seconds", type=float,
                         default=defaults.graceful_shutdown_seconds,
                         help="on SIGTERM, time for requests in flight to finish (default: %(default)s)")
    gateway.add_argument("--auth_token_file",
                         help="require `Authorization: Bearer <the file's token>` on every route but /, /healthz, "
                              "/readyz and /metrics (default: $TEXT_API_TOKEN_FILE, else $TEXT_API_TOKEN, else no check)")
    gateway.add_argument("--log_level", default=defaults.log_level,
                         choices=("critical", "error", "warning", "info", "debug"))
    return parser


def parse_settings(argv: Optional[List[str]] = None) -> GatewaySettings:
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        log.warning("ignoring arguments this gateway does not use: %s", " ".join(unknown))
    if args.predictor_protocol != "v1":
        parser.error("--predictor_protocol=%s: this gateway speaks TF Serving's API (v1) only" % args.predictor_protocol)
    if args.upstream_retries < 0:
        parser.error("--upstream_retries must be >= 0")
    for flag in ("workers", "upstream_concurrency", "chunk_size", "max_body_bytes", "max_instances",
                 "upstream_timeout", "refresh_seconds", "graceful_shutdown_seconds"):
        if not getattr(args, flag) > 0:
            parser.error("--%s must be > 0, got %s" % ({"upstream_timeout": "predictor_request_timeout_seconds"}.get(flag, flag),
                                                     getattr(args, flag)))
    names = tuple(name.strip() for value in args.model_name for name in value.split(",") if name.strip())
    if not names or len(set(names)) != len(names):
        parser.error("--model_name: give distinct, non-empty model names")
    if args.predictor_host.startswith(("http://", "https://", "grpc://")):
        parser.error("--predictor_host=%s: give host:port without a scheme (see --protocol)" % args.predictor_host)
    return GatewaySettings(
        model_names=names,
        predictor_host=args.predictor_host,
        protocol=args.protocol,
        use_ssl=args.predictor_use_ssl,
        host=args.host,
        http_port=args.http_port,
        workers=args.workers,
        vocab_file=args.vocab_file,
        upstream_timeout=args.upstream_timeout,
        upstream_retries=args.upstream_retries,
        upstream_concurrency=args.upstream_concurrency,
        chunk_size=args.chunk_size,
        max_body_bytes=args.max_body_bytes,
        max_instances=args.max_instances,
        refresh_seconds=args.refresh_seconds,
        graceful_shutdown_seconds=args.graceful_shutdown_seconds,
        log_level=args.log_level,
        auth_token_file=args.auth_token_file,
    )
