# Deployment: images, Kubernetes manifests and TF Serving configs (deploy/README.md).
#   make lint-deploy   hadolint + yamllint + kustomize render + offline Kubernetes schema checks
#                      (installs its pinned tools into .venv-tools; needs kubectl and Python >= 3.11)
#   make test-deploy   the config/manifest consistency tests (Python 3.7 venv)
.PHONY: lint-deploy test-deploy

lint-deploy:
	scripts/lint_deploy.sh

test-deploy: setup
	$(PY) -m pytest $(PYTEST_ARGS) tests/deploy
