#!/usr/bin/env bash
# Start "the model server" with tensorflow_model_server's flags: the real
# tensorflow_model_server when it is on PATH, the local drop-in otherwise
# (MODEL_SERVER_BIN=local forces the local one). Example:
#   scripts/model_server.sh --port=8500 --rest_api_port=8501 \
#       --model_name=sms_spam --model_base_path="$PWD/exports/sms_spam"
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-$root/.venv/bin/python}"
export PYTHONPATH="$root${PYTHONPATH:+:$PYTHONPATH}"
exec "$python" -m model_server.launch "$@"
