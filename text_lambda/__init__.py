"""AWS Lambda handler: the text gateway's API for one model, without a server process.

    handler = text_lambda.handler.handler      # (event, context) -> answer

Accepts Function URL / HTTP API events (payload v2), REST API events (payload
v1) and direct invocations (`{"texts": [...]}`), bodies plain or base64, and
answers in the gateway's shapes (`{"predictions": [...]}` / `{"error": ...}`).
The model's metadata and vocab are read once, at cold start. Configured by the
environment: BACKEND (`proxy`, the default, or `onnx`) and MODEL_NAME;
`proxy` calls TF Serving (or the local server) with `serving_client`:
PREDICTOR_URL (http(s)://host:port or grpc://host:port), optional VOCAB_FILE
and PREDICTOR_TIMEOUT_SECONDS; `onnx` runs the `--export_onnx` model in
process with onnxruntime: MODEL_DIR (the export's `<version>/onnx/`, a
directory or `s3://bucket/prefix`), optional ONNX_THREADS (0: onnxruntime's
default). Optional TEXT_API_TOKEN / TEXT_API_TOKEN_FILE: a bearer token HTTP
events must carry (`text_api.auth`).
"""
