# Entry points for a newcomer: `make demo` (set up + run the whole pipeline) and `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
# The client must also run on current Python without TensorFlow: its tests run in a second venv,
# against the installed package (pythonpath without the repository root).
CLIENT_PYTHON ?= python3
CLIENT_VENV := .venv-client
CLIENT_PY := $(CLIENT_VENV)/bin/python
PYTEST_ARGS ?=

.PHONY: setup setup-client demo demo-ner test test-py37 test-client clean-venv client-protos

setup: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml scripts/find_python37.sh
	@py37=$$(scripts/find_python37.sh) && \
	  echo "==> creating $(VENV) with $$py37" && \
	  $$py37 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade "pip<24"
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	$(PY) -m pip check
	@touch $@

# The main job end to end: pretrained model -> fine-tune -> export -> serve -> query.
demo: setup
	$(PY) -m scripts.demo

# The same for named entity recognition: CoNLL data -> run_ner.py -> export -> serve -> entity spans.
demo-ner: setup
	$(PY) -m scripts.demo --task=ner

setup-client: $(CLIENT_VENV)/.installed

# A plain (non-editable) install of the client package with its gRPC extra proves it installs
# without TensorFlow; requirements-client.txt pins the versions tested together.
$(CLIENT_VENV)/.installed: pyproject.toml requirements-client.txt $(shell find bert_contract serving_client featurizer heap_release tagging text_api text_gateway text_lambda -name '*.py' 2>/dev/null)
	$(CLIENT_PYTHON) -m venv $(CLIENT_VENV)
	$(CLIENT_PY) -m pip install --quiet -c requirements-client.txt ".[grpc,test]"
	@touch $@

# The client's TF Serving messages: recompile serving_client/protos/*.proto after editing them
# (tests/client/test_client_protos.py fails while serving_client/_proto_descriptors.py is stale).
client-protos: setup
	$(PY) -m scripts.client_protos

# `make test` builds every environment the suites need, then runs the suites two at a time: the
# machine has 2 cores and each suite spends much of its time waiting on the servers and processes
# it starts (one after another they took 22 min, side by side they fit the CI's 20). Each suite's
# output is printed whole when it ends, so the two never interleave.
TEST_ENVS := setup setup-client setup-tf2 setup-gateway setup-lambda pretrained
TEST_SUITES := test-py37 test-client lint-deploy test-tf2 test-gateway
test:
	$(MAKE) --no-print-directory -j2 $(TEST_ENVS)
	@echo "==> running $(TEST_SUITES) two at a time; each prints its output when it ends (test-py37 last, ~12 min)"
	$(MAKE) --no-print-directory -j2 --output-sync=target $(TEST_SUITES)

# The real pretrained model (fetched once, ~10 s) lets its parity tests run too; the TF 2.x
# environment (mk/tf2.mk) lets the export parity tests run their TF 2.x side.
test-py37: setup pretrained setup-tf2
	TF2_PYTHON=$(abspath $(TF2_PY)) $(PY) -m pytest $(PYTEST_ARGS)

test-client: setup-client
	cd tests && ../$(CLIENT_PY) -m pytest -p no:cacheprovider -o pythonpath=tests/helpers $(PYTEST_ARGS) -m "not needs_tf" client featurizer heap_release tagging

clean-venv:
	rm -rf $(VENV) $(CLIENT_VENV) .venv-tf2
-include mk/*.mk
