#!/bin/bash
# Health check for TensorFlow Serving (Docker HEALTHCHECK of Dockerfile.gpu).
# Healthy = the REST status endpoint /v1/models/<model> answers 200 and lists an AVAILABLE
# version. The tensorflow/serving images ship neither curl nor wget, and installing them would
# mean apt-get through NVIDIA's CUDA apt sources at build time, so this speaks HTTP/1.0 over
# bash's built-in /dev/tcp instead (bash and coreutils' timeout are in the base image).
#
# Usage: tfs_healthcheck [MODEL_NAME [PORT]]   defaults: $MODEL_NAME, then $TFS_REST_PORT or 8501
# TFS_HEALTHCHECK_TIMEOUT: seconds to wait for the whole answer (default 5).
set -euo pipefail

model="${1:-${MODEL_NAME:-}}"
port="${2:-${TFS_REST_PORT:-8501}}"
if [[ -z "$model" ]]; then
  echo "tfs_healthcheck: no model name: pass it or set MODEL_NAME" >&2
  exit 2
fi

# Connect and read in a child bash under `timeout`, so a server that accepts but never answers
# cannot hang the check.
response="$(timeout "${TFS_HEALTHCHECK_TIMEOUT:-5}" bash -c '
  exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
  printf "GET /v1/models/%s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n" "$2" >&3
  cat <&3
' tfs_healthcheck "$port" "$model" 2>&1)" || {
  echo "tfs_healthcheck: no answer from REST port 127.0.0.1:$port: ${response//$'\n'/ }" >&2
  exit 1
}

status_line="${response%%$'\r'*}"
if [[ "$status_line" != HTTP/1.?" 200"* ]]; then
  echo "tfs_healthcheck: GET /v1/models/$model answered: ${status_line:-nothing}" >&2
  exit 1
fi
if grep -Eq '"state"[[:space:]]*:[[:space:]]*"AVAILABLE"' <<<"$response"; then
  exit 0
fi
echo "tfs_healthcheck: model $model has no AVAILABLE version" >&2
exit 1
