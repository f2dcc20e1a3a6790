"""Limits both the exporter and the servers enforce."""

# `assets.extra/<WARMUP_FILE>`: a TFRecord of PredictionLog replayed before serving.
WARMUP_FILE = "tf_serving_warmup_requests"
# TF Serving refuses a warm-up file with more records than this.
MAX_WARMUP_RECORDS = 1000
