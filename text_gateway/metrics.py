"""Prometheus metrics of the gateway, in a registry of its own (one per app).

With several uvicorn workers, set PROMETHEUS_MULTIPROC_DIR so that /metrics
adds up every worker (prometheus_client's multiprocess mode); without it, a
scrape sees the worker that answered.
"""

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import CONTENT_TYPE_LATEST

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
TEXT_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


class GatewayMetrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "text_gateway_requests", "Predict requests answered, by model and HTTP status.", ["model", "status"], registry=r
        )
        self.latency = Histogram(
            "text_gateway_request_duration_seconds", "Time to answer a predict request.", ["model"],
            buckets=LATENCY_BUCKETS, registry=r,
        )
        self.texts = Histogram(
            "text_gateway_texts_per_request", "Texts in one predict request.", ["model"], buckets=TEXT_BUCKETS, registry=r
        )
        self.upstream_latency = Histogram(
            "text_gateway_upstream_duration_seconds", "Time of one upstream predict call (one chunk of texts).",
            ["model"], buckets=LATENCY_BUCKETS, registry=r,
        )
        self.upstream_errors = Counter(
            "text_gateway_upstream_errors", "Upstream calls that failed, by model and kind.", ["model", "kind"], registry=r
        )
        self.ready = Gauge(
            "text_gateway_model_ready", "1 while the model's upstream version is AVAILABLE and loaded here.", ["model"],
            registry=r, multiprocess_mode="max",
        )
        self.version = Gauge(
            "text_gateway_model_version", "The upstream version the gateway serves.", ["model"], registry=r,
            multiprocess_mode="max",
        )

    def exposition(self) -> bytes:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry)
        return generate_latest(self.registry)
