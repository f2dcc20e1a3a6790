"""The gRPC front end: TFS's PredictionService and ModelService on grpcio.

Uses the generated stubs of tensorflow-serving-api, so any TFS client works
unchanged. Runs happen on the runner (thread pool or batcher); the client's
deadline bounds the wait.
"""

import logging
import time
from concurrent import futures

import grpc
from tensorflow_serving.apis import (
    model_management_pb2, model_service_pb2_grpc, predict_pb2, prediction_service_pb2_grpc)

from model_server.errors import CODE_NUMBERS, ServingError, from_exception
from model_server.service import CLASSIFY, REGRESS, fill_model_spec

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 2 ** 31 - 1


def _spec(model_spec):
    """(name, version|None, label|None) of a ModelSpec."""
    choice = model_spec.WhichOneof("version_choice")
    version = model_spec.version.value if choice == "version" else None
    label = model_spec.version_label if choice == "version_label" else None
    return model_spec.name, version, label


def _abort(context, exc):
    error = from_exception(exc)
    context.abort(error.grpc_code, error.message)


class PredictionService(prediction_service_pb2_grpc.PredictionServiceServicer):
    def __init__(self, service):
        self._service = service

    def Predict(self, request, context):  # noqa: N802 (gRPC method name)
        import tensorflow.compat.v1 as tf
        started = time.monotonic()
        name, version, label = _spec(request.model_spec)
        error = None
        try:
            with self._service.manager.acquire(name, version, label) as handle:
                inputs = {alias: tf.make_ndarray(proto) for alias, proto in request.inputs.items()}
                remaining = context.time_remaining()
                deadline = None if remaining is None else time.monotonic() + remaining
                signature_name, future = self._service.start_predict(
                    handle, request.model_spec.signature_name, inputs, tuple(request.output_filter), deadline)
                try:
                    outputs = future.result(timeout=context.time_remaining())
                except futures.TimeoutError:
                    future.cancel()
                    raise ServingError("DEADLINE_EXCEEDED", "Deadline Exceeded") from None
                response = predict_pb2.PredictResponse()
                fill_model_spec(response.model_spec, name, handle.version.number, signature_name)
                for alias, array in outputs.items():
                    response.outputs[alias].CopyFrom(tf.make_tensor_proto(array))
                return response
        except Exception as exc:  # noqa: BLE001
            error = exc
            _abort(context, exc)
        finally:
            self._service.record(name, "predict", "GRPC", error, started)

    def GetModelMetadata(self, request, context):  # noqa: N802
        started = time.monotonic()
        name, version, label = _spec(request.model_spec)
        error = None
        try:
            fields = list(request.metadata_field)
            if not fields:
                raise ServingError("INVALID_ARGUMENT",
                                   "GetModelMetadataRequest must specify at least one metadata_field")
            for field in fields:
                if field != "signature_def":
                    raise ServingError("INVALID_ARGUMENT", "Metadata field %s is not supported" % field)
            response, _ = self._service.metadata_response(name, version, label)
            return response
        except Exception as exc:  # noqa: BLE001
            error = exc
            _abort(context, exc)
        finally:
            self._service.record(name, "GetModelMetadata", "GRPC", error, started)

    def _examples(self, request, context, method, api):
        started = time.monotonic()
        name, version, label = _spec(request.model_spec)
        error = None
        try:
            with self._service.manager.acquire(name, version, label) as handle:
                self._service.check_example_method(handle, request.model_spec.signature_name, method)
        except Exception as exc:  # noqa: BLE001
            error = exc
            _abort(context, exc)
        finally:
            self._service.record(name, api, "GRPC", error, started)

    def Classify(self, request, context):  # noqa: N802
        return self._examples(request, context, CLASSIFY, "classify")

    def Regress(self, request, context):  # noqa: N802
        return self._examples(request, context, REGRESS, "regress")

    def MultiInference(self, request, context):  # noqa: N802
        context.abort(grpc.StatusCode.UNIMPLEMENTED, "MultiInference is not implemented by the local model server")


class ModelService(model_service_pb2_grpc.ModelServiceServicer):
    def __init__(self, service):
        self._service = service

    def GetModelStatus(self, request, context):  # noqa: N802
        name, version, label = _spec(request.model_spec)
        try:
            return self._service.status_response(name, version, label)
        except Exception as exc:  # noqa: BLE001
            _abort(context, exc)

    def HandleReloadConfigRequest(self, request, context):  # noqa: N802
        response = model_management_pb2.ReloadConfigResponse()
        try:
            self._service.manager.reload(request.config)
        except Exception as exc:  # noqa: BLE001
            error = from_exception(exc)
            log.error("Config reload failed: %s", error)
            response.status.error_code = CODE_NUMBERS[error.code]
            response.status.error_message = error.message
            context.abort(error.grpc_code, error.message)
        return response


def start_grpc_server(service, host, port, socket_path, max_workers):
    """Start serving; returns the grpc.Server. Raises OSError when a bind fails."""
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="grpc"),
        options=[("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
                 ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
                 ("grpc.so_reuseport", 0)])
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(PredictionService(service), server)
    model_service_pb2_grpc.add_ModelServiceServicer_to_server(ModelService(service), server)
    addresses = (["%s:%d" % (host, port)] if port else []) + (["unix:" + socket_path] if socket_path else [])
    for address in addresses:
        try:
            bound = server.add_insecure_port(address)
        except RuntimeError:
            bound = 0
        if not bound:
            raise OSError("cannot bind gRPC to %s" % address)
    server.start()
    return server
