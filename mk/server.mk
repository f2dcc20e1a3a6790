# Local model server (model_server/, drop-in for tensorflow_model_server; see model_server/README.md).
#   make test-server     server tests over real HTTP/gRPC (3.5-4 min on 2 busy cores); also run against
#                        tensorflow_model_server when it is on PATH
#   make bench-server    throughput on a toy model at concurrency 1 and 32, batching off/on (~1 min)
#   make server-protos   regenerate model_server/protos/*_pb2.py after editing the .proto files
.PHONY: test-server bench-server server-protos

test-server: setup
	$(PY) -m pytest $(PYTEST_ARGS) tests/server

bench-server: setup
	$(PY) -m bench.model_server

server-protos: setup
	$(PY) -m grpc_tools.protoc -I. --python_out=. \
	  model_server/protos/monitoring_config.proto model_server/protos/batching_parameters.proto
