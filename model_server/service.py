"""What REST and gRPC share: status and metadata responses, predict runs, metrics.

Both front ends resolve a request to (model, version|label), hold that version
for the request, and report through the same Metrics, so a fault answers the
same way over either transport.
"""

import time

from google.protobuf import json_format
from tensorflow_serving.apis import get_model_metadata_pb2, get_model_status_pb2

from model_server.errors import CODE_NUMBERS, ServingError, from_exception
from model_server.runner import predict_outputs

PREDICT, CLASSIFY, REGRESS = "tensorflow/serving/predict", "tensorflow/serving/classify", "tensorflow/serving/regress"
_STATE_NUMBERS = dict(get_model_status_pb2.ModelVersionStatus.State.items())


class Service(object):
    def __init__(self, manager, metrics):
        self.manager = manager
        self.metrics = metrics

    # ------------------------------------------------------------ status / metadata

    def status_response(self, name, version=None, label=None):
        response = get_model_status_pb2.GetModelStatusResponse()
        for number, state, error in self.manager.status(name, version, label):
            entry = response.model_version_status.add()
            entry.version = number
            entry.state = _STATE_NUMBERS[state]
            entry.status.error_code = CODE_NUMBERS[error.code] if error else 0
            entry.status.error_message = error.message if error else ""
        return response

    def metadata_response(self, name, version=None, label=None):
        with self.manager.acquire(name, version, label) as handle:
            response = get_model_metadata_pb2.GetModelMetadataResponse()
            fill_model_spec(response.model_spec, name, handle.version.number, "")
            signature_map = get_model_metadata_pb2.SignatureDefMap()
            for key, signature in handle.servable.signatures.items():
                signature_map.signature_def[key].CopyFrom(signature)
            response.metadata["signature_def"].Pack(signature_map)
            return response, signature_map

    # ------------------------------------------------------------ inference

    def start_predict(self, handle, signature_name, inputs, output_filter=(), deadline=None):
        """Check inputs and submit the run; returns (resolved signature name, Future)."""
        signature_name = signature_name or "serving_default"
        signature = handle.servable.signature(signature_name)
        outputs = predict_outputs(handle.servable, signature, inputs, output_filter)
        return signature_name, handle.runner.submit(signature_name, inputs, outputs, deadline)

    def check_example_method(self, handle, signature_name, method):
        """Classify/Regress on a signature of another method is a 400 (contract 7.2)."""
        signature = handle.servable.signature(signature_name or "serving_default")
        if signature.method_name != method:
            what = "classification" if method == CLASSIFY else "regression"
            raise ServingError("INVALID_ARGUMENT", "Expected %s signature method_name to be %s. Was: %s"
                               % (what, method, signature.method_name))
        raise ServingError("UNIMPLEMENTED", "%s is not implemented by the local model server; use a "
                           "predict signature" % ("Classify" if method == CLASSIFY else "Regress"))

    def record(self, model_name, api, entrypoint, error, started):
        status = "OK" if error is None else from_exception(error).code
        self.metrics.request(model_name, api, entrypoint, status, time.monotonic() - started)


def fill_model_spec(spec, name, version, signature_name):
    spec.name = name
    spec.version.value = version
    spec.signature_name = signature_name


def message_to_json(message):
    """proto3 JSON as TFS's REST API writes it (int64 as strings, defaults included)."""
    return json_format.MessageToDict(message, including_default_value_fields=True,
                                     preserving_proto_field_name=True)
