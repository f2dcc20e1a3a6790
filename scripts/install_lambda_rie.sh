#!/usr/bin/env bash
# Installs aws-lambda-rie (the AWS Lambda Runtime Interface Emulator) as DEST, taken from the
# aws-sam-cli wheel pinned with its hash in requirements-lambda-rie.txt (pip's cache keeps the wheel).
#   scripts/install_lambda_rie.sh PYTHON DEST
set -euo pipefail
python=$1
dest=$2
case "$(uname -m)" in
  x86_64 | amd64) arch=x86_64 ;;
  aarch64 | arm64) arch=arm64 ;;
  *) echo "error: aws-sam-cli ships no aws-lambda-rie for $(uname -m)" >&2; exit 1 ;;
esac
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
"$python" -m pip download --quiet --no-deps --require-hashes -r "$(dirname "$0")/../requirements-lambda-rie.txt" -d "$scratch"
"$python" - "$scratch"/aws_sam_cli-*.whl "samcli/local/rapid/aws-lambda-rie-$arch" "$dest.tmp" <<'PY'
import shutil
import sys
import zipfile

wheel_path, member, target = sys.argv[1:]
with zipfile.ZipFile(wheel_path) as wheel, wheel.open(member) as source, open(target, "wb") as out:
    shutil.copyfileobj(source, out)
PY
chmod +x "$dest.tmp"
mv "$dest.tmp" "$dest"
