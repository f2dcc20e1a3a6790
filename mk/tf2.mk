# TensorFlow 2.x runtime (.venv-tf2): the TF release of the TF Serving image we ship (Dockerfile.gpu:
# tensorflow/serving:2.19.1-gpu -> tensorflow-cpu 2.19.1) on the machine's Python 3 (3.11).
#   make setup-tf2   build .venv-tf2 from requirements-tf2.txt
#   make test-tf2    the model server's test suite with the server and the tests on TF 2.x (the golden
#                    models of the conformance tests are still written by TF 1.15: TF1_PYTHON)
# `make test` runs test-tf2, and the export parity tests (tests/export/test_tf2_parity.py) of the
# TF 1.15 suite run their TF 2.x side with this venv's Python (TF2_PYTHON).
.PHONY: setup-tf2 test-tf2
TF2_PYTHON_BASE ?= python3
TF2_VENV := .venv-tf2
TF2_PY := $(TF2_VENV)/bin/python

setup-tf2: $(TF2_VENV)/.installed

# tensorflow-serving-api asks for the `tensorflow` package; tensorflow-cpu provides it under another name.
$(TF2_VENV)/.installed: requirements-tf2.txt
	$(TF2_PYTHON_BASE) -m venv $(TF2_VENV)
	$(TF2_PY) -m pip install --quiet -r requirements-tf2.txt
	$(TF2_PY) -m pip install --quiet --no-deps tensorflow-serving-api==2.19.1
	@touch $@

# The REST fuzz test is left to the TF 1.15 run: it drives the URL/JSON layer (the same code on both
# runtimes) for ~1 min; every other server test runs under TF 2.x too. Wall time measured on the
# 2 shared cores at load average 10-15 (2026-11-30): tests/server under TF 2.x 9 min 23 s (273
# passed), under TF 1.15 6 min 1 s with the fuzz test (271 passed); TF 2.x imports more slowly in
# every server the tests start.
TF2_TEST_ARGS ?= --ignore=tests/server/test_fuzz.py

test-tf2: setup setup-tf2
	TF1_PYTHON=$(abspath $(PY)) $(TF2_PY) -m pytest -p no:cacheprovider $(TF2_TEST_ARGS) $(PYTEST_ARGS) tests/server
