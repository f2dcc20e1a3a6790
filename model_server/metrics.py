"""Prometheus metrics with TFS's names (contract section 5).

TFS exports TF monitoring paths with non-alphanumerics turned into ':'
(`/tensorflow/serving/request_count` -> `:tensorflow:serving:request_count`)
and counters without the `_total` suffix prometheus-client adds, so this module
keeps the metric objects in a prometheus-client registry but writes the text
exposition itself.
"""

import re

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.utils import floatToGoString

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def tf_metric_name(path):
    return re.sub(r"[^a-zA-Z0-9_]", ":", path)


def _exponential(scale, growth, count):
    return tuple(scale * growth ** i for i in range(count))


class Metrics(object):
    """The server's metrics; every recording method is cheap and thread-safe."""

    def __init__(self):
        self.registry = CollectorRegistry(auto_describe=True)
        self._requests = Counter(
            tf_metric_name("/tensorflow/serving/request_count"), "The total number of requests.",
            ["model_name", "status"], registry=self.registry)
        self._latency = Histogram(
            tf_metric_name("/tensorflow/serving/request_latency"),
            "Distribution of wall time (in microseconds) for Tensorflow Serving request.",
            ["model_name", "API", "entrypoint"], buckets=_exponential(10, 1.8, 33), registry=self.registry)
        self._batch_size = Histogram(
            tf_metric_name("/tensorflow/serving/batching_session/processed_batch_size"),
            "Distribution of processed batch sizes (after padding to an allowed batch size).",
            ["model_name"], buckets=_exponential(1, 1.5, 20), registry=self.registry)
        self._padding = Histogram(
            tf_metric_name("/tensorflow/serving/batching_session/padding_size"),
            "Distribution of rows added to reach an allowed batch size.",
            ["model_name"], buckets=_exponential(1, 1.5, 20), registry=self.registry)
        self._state = Gauge(
            tf_metric_name("/tensorflow/serving/model_load_state"),
            "1 for the current state of each model version (START, LOADING, AVAILABLE, UNLOADING, END).",
            ["model_name", "version", "state"], registry=self.registry)
        self._load_attempts = Counter(
            tf_metric_name("/tensorflow/cc/saved_model/load_attempt_count"),
            "The number of times a SavedModel was successfully loaded.",
            ["model_path", "status"], registry=self.registry)
        self._states = {}

    def request(self, model_name, api, entrypoint, status, seconds):
        self._requests.labels(model_name, status).inc()
        self._latency.labels(model_name, api, entrypoint).observe(seconds * 1e6)

    def batch(self, model_name, size, padding):
        self._batch_size.labels(model_name).observe(size)
        self._padding.labels(model_name).observe(padding)

    def load_attempt(self, path, ok):
        self._load_attempts.labels(path, "success" if ok else "fail").inc()

    def state(self, model_name, version, state):
        key = (model_name, str(version))
        previous = self._states.get(key)
        if previous is not None:
            self._state.labels(model_name, str(version), previous).set(0)
        self._state.labels(model_name, str(version), state).set(1)
        self._states[key] = state

    def exposition(self):
        """Prometheus text format, TFS-style names (no `_total`/`_created` series)."""
        lines = []
        for metric in self.registry.collect():
            lines.append("# TYPE %s %s" % (metric.name, metric.type))
            for sample in metric.samples:
                if sample.name.endswith("_created"):
                    continue
                name = sample.name
                if metric.type == "counter" and name.endswith("_total"):
                    name = name[:-len("_total")]
                labels = ",".join('%s="%s"' % (key, _escape(value))
                                  for key, value in sorted(sample.labels.items()))
                lines.append("%s%s %s" % (name, "{%s}" % labels if labels else "",
                                          floatToGoString(sample.value)))
        return ("\n".join(lines) + "\n").encode("utf-8")


def _escape(value):
    return str(value).replace("\\", r"\\").replace("\n", r"\n").replace('"', r'\"')
