# Serverless handler (text_lambda/; see text_lambda/README.md).
#   make setup-lambda   the handler's pinned packages (requirements-lambda.txt: onnxruntime for BACKEND=onnx),
#                       the runtime interface client awslambdaric (requirements-lambda-test.txt) and the
#                       aws-lambda-rie emulator binary (from the aws-sam-cli wheel) into the client venv
#   make bench-lambda   cold start and warm latency under the emulator, onnx vs proxy backend (~2 min)
# `make test-gateway` runs tests/serverless, whose emulator test needs setup-lambda (it skips without it).
.PHONY: setup-lambda bench-lambda
BENCH_TARGETS += bench-lambda
LAMBDA_RIE := $(CLIENT_VENV)/bin/aws-lambda-rie

setup-lambda: $(CLIENT_VENV)/.lambda-installed

$(CLIENT_VENV)/.lambda-installed: $(CLIENT_VENV)/.installed requirements-lambda.txt requirements-lambda-test.txt requirements-lambda-rie.txt scripts/install_lambda_rie.sh | $(CLIENT_VENV)/.gateway-installed
	$(CLIENT_PY) -m pip install --quiet -r requirements-lambda.txt -r requirements-lambda-test.txt
	scripts/install_lambda_rie.sh $(CLIENT_PY) $(LAMBDA_RIE)
	@touch $@

test-gateway: setup-lambda

bench-lambda: setup setup-gateway setup-lambda
	$(PY) -m bench.lambda_handler $(BENCH_LAMBDA_ARGS)
