"""The gRPC front end: TFS's PredictionService and ModelService on grpcio.

Uses the generated stubs of tensorflow-serving-api, so any TFS client works
unchanged. Runs happen on the runner (thread pool or batcher); the client's
deadline bounds the run.
"""

import logging
import time
from concurrent import futures

import grpc
import numpy as np
from tensorflow_serving.apis import (
    classification_pb2, inference_pb2, model_management_pb2, model_service_pb2_grpc, predict_pb2,
    prediction_service_pb2_grpc, regression_pb2)

from model_server import examples
from model_server.elastic_pool import ElasticThreadPool
from model_server.errors import ServingError, from_exception
from model_server.flags import AUTO_PORT
from model_server.runner import start_predict
from model_server.service import fill_model_spec
from model_server.tensor_proto import request_arrays

log = logging.getLogger(__name__)

MAX_MESSAGE_BYTES = 2 ** 31 - 1


def _spec(model_spec):
    """(name, version|None, label|None) of a ModelSpec."""
    choice = model_spec.WhichOneof("version_choice")
    version = model_spec.version.value if choice == "version" else None
    label = model_spec.version_label if choice == "version_label" else None
    return model_spec.name, version, label


def _servable_spec(request, model_spec=None):
    """_spec() of the ModelSpec a request serves from, checked as TFS's ServerCore checks it."""
    if model_spec is None:
        if not request.HasField("model_spec"):
            raise ServingError("INVALID_ARGUMENT", "Missing ModelSpec")
        model_spec = request.model_spec
    if not model_spec.name:
        raise ServingError("INVALID_ARGUMENT", "ModelSpec has no name specified.")
    return _spec(model_spec)


# numpy dtype -> the TensorProto field TFS's Predict writes it to (Tensor::AsProtoField).
_VALUE_FIELDS = {"float32": "float_val", "float64": "double_val", "int32": "int_val", "int16": "int_val",
                 "int8": "int_val", "uint8": "int_val", "uint16": "int_val", "int64": "int64_val",
                 "uint32": "uint32_val", "uint64": "uint64_val", "bool": "bool_val"}


def fill_tensor_proto(proto, array, tf):
    """An output as TFS writes it: values in the dtype's repeated field, not packed in tensor_content.

    TF Serving's own clients and tests read `float_val` directly; other dtypes
    (strings aside) keep tf.make_tensor_proto's encoding, which every client decodes.
    """
    array = np.asarray(array)
    field = _VALUE_FIELDS.get(array.dtype.name)
    if field is None and array.dtype.kind not in "SUO":
        proto.CopyFrom(tf.make_tensor_proto(array))
        return
    proto.dtype = tf.as_dtype(np.object_ if field is None else array.dtype).as_datatype_enum
    proto.tensor_shape.SetInParent()  # a scalar has an empty shape, not none
    for size in array.shape:
        proto.tensor_shape.dim.add().size = size
    if field is None:
        proto.string_val.extend(item if isinstance(item, bytes) else str(item).encode("utf-8")
                                for item in array.ravel().tolist())
    else:
        getattr(proto, field).extend(array.ravel().tolist())


def _abort(context, exc):
    error = from_exception(exc)
    context.abort(error.grpc_code, error.message)


def _deadline(context):
    remaining = context.time_remaining()
    return None if remaining is None else time.monotonic() + remaining


def _wait(future, context):
    try:
        return future.result(timeout=context.time_remaining())
    except futures.TimeoutError:
        future.cancel()
        raise ServingError("DEADLINE_EXCEEDED", "Deadline Exceeded") from None
    finally:
        del future  # a run's error holds this frame in its traceback, and the future holds the error


class PredictionService(prediction_service_pb2_grpc.PredictionServiceServicer):
    def __init__(self, service, tensor_budget_bytes=MAX_MESSAGE_BYTES):
        self._service = service
        self._tensor_budget = tensor_budget_bytes  # bytes the arrays of one request may take

    def _call(self, context, request, api, body, model_spec=None):
        """Run body(handle) on the version the request's model_spec asks for, recording and mapping errors."""
        try:
            name, version, label = _servable_spec(request, model_spec)
        except ServingError as exc:
            _abort(context, exc)
        with self._service.recording(name, api, "GRPC") as record:
            try:
                with self._service.manager.acquire(name, version, label) as handle:
                    return body(handle)
            except Exception as exc:  # noqa: BLE001
                record.error = exc
                _abort(context, exc)

    def Predict(self, request, context):  # noqa: N802 (gRPC method name)
        import tensorflow.compat.v1 as tf

        def predict(handle):
            inputs = request_arrays(request.inputs, self._tensor_budget)
            signature_name, future = start_predict(handle.runner, request.model_spec.signature_name, inputs,
                                                   tuple(request.output_filter), _deadline(context))
            try:
                outputs = _wait(future, context)
            finally:
                future = None  # it holds a run's error, whose traceback holds this frame
            response = predict_pb2.PredictResponse()
            fill_model_spec(response.model_spec, request.model_spec.name, handle.version.number, signature_name)
            for alias, array in outputs.items():
                fill_tensor_proto(response.outputs[alias], array, tf)
            return response

        return self._call(context, request, "predict", predict)

    def GetModelMetadata(self, request, context):  # noqa: N802
        if not request.HasField("model_spec"):
            _abort(context, ServingError("INVALID_ARGUMENT", "Missing ModelSpec"))
        name, version, label = _spec(request.model_spec)
        with self._service.recording(name, "GetModelMetadata", "GRPC") as record:
            try:
                if not request.metadata_field:
                    raise ServingError("INVALID_ARGUMENT",
                                       "GetModelMetadataRequest must specify at least one metadata_field")
                for field in request.metadata_field:
                    if field != "signature_def":
                        raise ServingError("INVALID_ARGUMENT", "Metadata field %s is not supported" % field)
                _servable_spec(request)
                return self._service.metadata_response(name, version, label)[0]
            except Exception as exc:  # noqa: BLE001
                record.error = exc
                _abort(context, exc)

    def _examples(self, request, context, api, start, response_type):
        def run(handle):
            signature_name, future, finish = start(handle.runner, request.model_spec.signature_name,
                                                   request.input, _deadline(context))
            try:
                result = finish(_wait(future, context))
            finally:
                future = None  # it holds a run's error, whose traceback holds this frame
            response = response_type()
            fill_model_spec(response.model_spec, request.model_spec.name, handle.version.number, signature_name)
            response.result.CopyFrom(result)
            return response

        return self._call(context, request, api, run)

    def Classify(self, request, context):  # noqa: N802
        return self._examples(request, context, "classify", examples.start_classify,
                              classification_pb2.ClassificationResponse)

    def Regress(self, request, context):  # noqa: N802
        return self._examples(request, context, "regress", examples.start_regress,
                              regression_pb2.RegressionResponse)

    def MultiInference(self, request, context):  # noqa: N802
        def run(handle):
            started = []
            for task in request.tasks:
                start = examples.start_classify if task.method_name == examples.CLASSIFY else examples.start_regress
                started.append((task, start(handle.runner, task.model_spec.signature_name, request.input,
                                            _deadline(context))))
            response = inference_pb2.MultiInferenceResponse()
            try:
                for task, (signature_name, future, finish) in started:
                    result = response.results.add()
                    fill_model_spec(result.model_spec, task.model_spec.name, handle.version.number, signature_name)
                    target = (result.classification_result if task.method_name == examples.CLASSIFY
                              else result.regression_result)
                    target.CopyFrom(finish(_wait(future, context)))
            finally:
                started = future = None  # they hold a run's error, whose traceback holds this frame
            return response

        try:
            examples.check_multi_inference(request)
        except ServingError as exc:
            _abort(context, exc)
        return self._call(context, request, "multi_inference", run, model_spec=request.tasks[0].model_spec)


class ModelService(model_service_pb2_grpc.ModelServiceServicer):
    def __init__(self, service):
        self._service = service

    def GetModelStatus(self, request, context):  # noqa: N802
        try:
            if not request.HasField("model_spec"):
                raise ServingError("INVALID_ARGUMENT", "Missing ModelSpec")
            name, version, label = _spec(request.model_spec)
            return self._service.status_response(name, version, label)
        except Exception as exc:  # noqa: BLE001
            _abort(context, exc)

    def HandleReloadConfigRequest(self, request, context):  # noqa: N802
        """Apply a new model list; failures come back as the RPC's status (as in TFS)."""
        try:
            deadline = _deadline(context)
            if deadline is not None:  # answer before the client gives up, so it reads why
                deadline -= min(1.0, 0.1 * (deadline - time.monotonic()))
            self._service.manager.reload(request.config, deadline=deadline)
        except Exception as exc:  # noqa: BLE001
            log.error("ReloadConfig failed: %s", from_exception(exc))  # TFS's line
            _abort(context, exc)
        return model_management_pb2.ReloadConfigResponse()


class _Undecodable(object):
    """What the request deserializer returns for bytes that are no message of the method's type."""

    def __init__(self, error):
        self.error = error


def _lenient(deserializer):
    def deserialize(data):
        try:
            return deserializer(data)
        except Exception as exc:  # noqa: BLE001  protobuf's DecodeError, or invalid UTF-8 in a string
            return _Undecodable(exc)
    return deserialize


def _refusing_undecodable(method):
    def call(request, context):
        if isinstance(request, _Undecodable):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "Failed to parse the request message: %s"
                          % ServingError("INVALID_ARGUMENT", str(request.error)))
        return method(request, context)
    return call


class _ParseErrorsAreInvalidArgument(grpc.GenericRpcHandler):
    """A service's handlers, answering a request that does not parse INVALID_ARGUMENT.

    grpcio answers it INTERNAL ("Exception deserializing request!"), as TFS's
    C++ server does; but the bytes are the client's mistake, and a 5xx-class
    code for them would page whoever watches the server's errors.
    """

    def __init__(self, inner):
        self._inner = inner

    def service(self, handler_call_details):
        handler = self._inner.service(handler_call_details)
        if handler is None or handler.unary_unary is None or handler.request_deserializer is None:
            return handler
        return handler._replace(request_deserializer=_lenient(handler.request_deserializer),
                                unary_unary=_refusing_undecodable(handler.unary_unary))


class _HandlerSink(object):
    """Stands in for the server in the generated add_*_to_server functions, to wrap their handlers."""

    def __init__(self, server):
        self._server = server

    def add_generic_rpc_handlers(self, handlers):
        self._server.add_generic_rpc_handlers(tuple(_ParseErrorsAreInvalidArgument(h) for h in handlers))


def start_grpc_server(service, host, port, socket_path, max_workers, max_receive_bytes=MAX_MESSAGE_BYTES):
    """Start serving; returns (grpc.Server, bound TCP port or None). Raises OSError when a bind fails.

    port: 0 = no TCP port, AUTO_PORT = a free one the OS picks.

    Requests over max_receive_bytes are refused by gRPC itself (RESOURCE_EXHAUSTED)
    before they are buffered whole, and the arrays a Predict's tensors expand to
    may not take more either, so one client cannot exhaust the memory.
    """
    max_receive_bytes = min(max_receive_bytes, MAX_MESSAGE_BYTES)
    server = grpc.server(
        ElasticThreadPool(max_workers, thread_name_prefix="grpc"),
        options=[("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
                 ("grpc.max_receive_message_length", max_receive_bytes),
                 ("grpc.so_reuseport", 0)])
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(
        PredictionService(service, max_receive_bytes), _HandlerSink(server))
    model_service_pb2_grpc.add_ModelServiceServicer_to_server(ModelService(service), _HandlerSink(server))
    tcp = ["%s:%d" % (host, 0 if port == AUTO_PORT else port)] if port else []
    bound_port = None
    for address in tcp + (["unix:" + socket_path] if socket_path else []):
        try:
            bound = server.add_insecure_port(address)
        except RuntimeError:
            bound = 0
        if not bound:
            raise OSError("cannot bind gRPC to %s" % address)
        if address in tcp:
            bound_port = bound
    server.start()
    return server, bound_port
