"""Raw text in, labels out: an HTTP gateway in front of TF Serving or the local model server.

It speaks KServe's v1 data plane (`POST /v1/models/{name}:predict` with
`{"instances": [...]}`), so the same process runs on its own in front of a
TF Serving Deployment or as a KServe custom transformer in front of a TF
Serving predictor. Each model's labels, task, featurizer settings and vocab
come from the upstream export itself (`serving_client` with no vocab file);
texts are featurized here (`featurizer`) and sent as tensors over REST or
gRPC. TensorFlow-free: Starlette on uvicorn, `prometheus_client` for /metrics.

    python -m text_gateway --model_name=sms --predictor_host=localhost:8501

`text_gateway.app.create_app(settings)` builds the ASGI app, an adapter of
the text API (`text_api`: payload, errors, routes, backend protocol) that the
Lambda handler (`text_lambda`) adapts too; the answers of each task kind are
its decoder's (`serving_client.decoders`).
"""
