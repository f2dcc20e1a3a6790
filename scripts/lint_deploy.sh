#!/usr/bin/env bash
# Offline lint of everything that deploys the classifier; exits non-zero on any finding.
#   1. hadolint on every Dockerfile*            (deploy/lint/hadolint.yaml)
#   2. yamllint on the kustomize sources         (deploy/lint/yamllint.yaml)
#   3. `kubectl kustomize` renders every kustomization (serving overlays, training job)
#   4. the rendered objects are validated against the Kubernetes schemas, strict
#      (deploy/lint/validate_manifests.py; the TFJob and InferenceService custom resources get
#      a structural check)
# Needs kubectl (for its built-in kustomize) and Python >= 3.11; installs the pinned tools of
# deploy/lint/requirements.txt into $TOOLS_VENV (default .venv-tools) on first use, so a fresh
# CI machine needs only PyPI. No cluster, no Docker daemon, no network after that install.
#
# Environment: TOOLS_PYTHON (interpreter for the tools venv), TOOLS_VENV,
#              KUBE_VERSIONS (space-separated, default "1.29 1.37": oldest and newest targeted).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

TOOLS_VENV="${TOOLS_VENV:-.venv-tools}"
KUBE_VERSIONS="${KUBE_VERSIONS:-1.29 1.37}"
LINT_DIR=deploy/lint
REQUIREMENTS="$LINT_DIR/requirements.txt"
# Every kustomization a user applies; the bases are rendered through them.
KUSTOMIZATIONS=(deploy/serving/overlays/production deploy/serving/overlays/baked-model deploy/training
                deploy/gateway deploy/kserve)

die() { echo "lint_deploy: $*" >&2; exit 2; }

is_py311() {
  "$1" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' >/dev/null 2>&1
}

find_tools_python() {
  if [[ -n "${TOOLS_PYTHON:-}" ]]; then
    is_py311 "$TOOLS_PYTHON" || die "TOOLS_PYTHON=$TOOLS_PYTHON is not Python >= 3.11"
    echo "$TOOLS_PYTHON"; return
  fi
  local candidate
  for candidate in python3.11 python3.12 python3.13 python3; do
    if command -v "$candidate" >/dev/null 2>&1 && is_py311 "$candidate"; then
      command -v "$candidate"; return
    fi
  done
  die "no Python >= 3.11 found for the lint tools (set TOOLS_PYTHON)"
}

# (Re)install the tools when the venv is missing or the pins changed since the last install.
ensure_tools() {
  local stamp="$TOOLS_VENV/.installed" want
  want="$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1)"
  if [[ -x "$TOOLS_VENV/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    return
  fi
  local python
  python="$(find_tools_python)"
  echo "==> installing lint tools into $TOOLS_VENV ($("$python" --version))"
  rm -rf "$TOOLS_VENV"
  "$python" -m venv "$TOOLS_VENV"
  "$TOOLS_VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQUIREMENTS"
  echo "$want" > "$stamp"
}

command -v kubectl >/dev/null 2>&1 \
  || die "kubectl not found: it renders the kustomizations (kubectl kustomize); install kubectl >= 1.27"
ensure_tools
BIN="$TOOLS_VENV/bin"

failed=0
step() { echo "==> $*"; }
fail() { echo "FAILED: $*" >&2; failed=1; }

mapfile -t dockerfiles < <(find . -maxdepth 1 -name 'Dockerfile*' ! -name '*.dockerignore' -type f | sort)
[[ ${#dockerfiles[@]} -gt 0 ]] || die "no Dockerfile* at the repository root"
step "hadolint ${dockerfiles[*]#./}"
"$BIN/hadolint" --no-color --config "$LINT_DIR/hadolint.yaml" "${dockerfiles[@]}" || fail hadolint

step "yamllint deploy/ configs/kustomization.yaml"
"$BIN/yamllint" --strict --config-file "$LINT_DIR/yamllint.yaml" deploy configs/kustomization.yaml \
  || fail yamllint

rendered_dir="$(mktemp -d)"
trap 'rm -rf "$rendered_dir"' EXIT
rendered=()
for kustomization in "${KUSTOMIZATIONS[@]}"; do
  out="$rendered_dir/${kustomization//\//_}.yaml"
  step "kubectl kustomize $kustomization"
  if kubectl kustomize "$kustomization" > "$out"; then
    rendered+=("$out")
  else
    fail "kubectl kustomize $kustomization"
  fi
done

if [[ ${#rendered[@]} -gt 0 ]]; then
  versions=()
  for version in $KUBE_VERSIONS; do versions+=(--kube-version "$version"); done
  step "validate rendered manifests against Kubernetes $KUBE_VERSIONS"
  "$BIN/python" "$LINT_DIR/validate_manifests.py" "${versions[@]}" "${rendered[@]}" \
    || fail "manifest validation"
fi

if [[ $failed -ne 0 ]]; then
  echo "lint_deploy: FAILED" >&2
  exit 1
fi
echo "lint_deploy: OK"
