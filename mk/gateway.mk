# Text gateway (text_gateway/, TensorFlow-free; see text_gateway/README.md).
#   make setup-gateway   the gateway's pinned packages (requirements-gateway.txt) into the client venv
#   make test-gateway    gateway tests over real HTTP: the gateway on the machine's python3 (client
#                        venv) in front of the local model server run from the TF 1.15 venv (~2-4 min),
#                        and the Lambda handler (text_lambda/): fixture events, ONNX parity, and both
#                        backends under the Lambda emulator (mk/lambda.mk)
#   make bench-gateway   texts/sec through the gateway vs client-side tensors on SMS traffic (~3 min)
.PHONY: setup-gateway test-gateway bench-gateway
BENCH_TARGETS += bench-gateway

setup-gateway: $(CLIENT_VENV)/.gateway-installed

$(CLIENT_VENV)/.gateway-installed: $(CLIENT_VENV)/.installed requirements-gateway.txt
	$(CLIENT_PY) -m pip install --quiet -r requirements-gateway.txt
	@touch $@

test-gateway: setup setup-gateway
	cd tests && BERT_PY37=$(abspath $(PY)) PYTHONPATH=$(CURDIR) ../$(CLIENT_PY) -m pytest -p no:cacheprovider $(PYTEST_ARGS) gateway serverless

bench-gateway: setup setup-gateway
	$(PY) -m bench.gateway $(BENCH_GATEWAY_ARGS)
