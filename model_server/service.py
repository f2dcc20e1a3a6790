"""What REST and gRPC share: status and metadata responses and request metrics.

Both front ends resolve a request to (model, version|label), hold that version
for the request, and report through the same Metrics, so a fault answers the
same way over either transport.
"""

import inspect
import time

from google.protobuf import json_format
from tensorflow_serving.apis import get_model_metadata_pb2, get_model_status_pb2

from model_server.errors import CODE_NUMBERS, from_exception

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

    # ------------------------------------------------------------ metrics

    def recording(self, model_name, api, entrypoint):
        """`with`: count one request and its latency; the front end sets `.error` when it fails."""
        return _Record(self.metrics, model_name, api, entrypoint)


class _Record(object):
    """A plain context manager: a generator-based one costs more on every request."""
    error = None

    def __init__(self, metrics, model_name, api, entrypoint):
        self._metrics = metrics
        self._labels = (model_name, api, entrypoint)

    def __enter__(self):
        self._started = time.monotonic()
        return self

    def __exit__(self, kind, value, traceback):
        status = "OK" if self.error is None else from_exception(self.error).code
        # The error's traceback holds the frame holding this record: a cycle that would keep the
        # request's parsed body alive until a full garbage collection (none comes on an idle server).
        self.error = None
        model_name, api, entrypoint = self._labels
        self._metrics.request(model_name, api, entrypoint, status, time.monotonic() - self._started)
        return False


def fill_model_spec(spec, name, version, signature_name):
    spec.name = name
    spec.version.value = version
    spec.signature_name = signature_name


# protobuf 3.20 (TF 1.15) and protobuf >= 5 (TF 2.x) name "print fields at their default" differently.
_PRINT_DEFAULTS = ({"always_print_fields_with_no_presence": True}
                   if "always_print_fields_with_no_presence" in inspect.signature(json_format.MessageToDict).parameters
                   else {"including_default_value_fields": True})


def message_to_json(message):
    """proto3 JSON as TFS's REST API writes it (int64 as strings, defaults included)."""
    return json_format.MessageToDict(message, preserving_proto_field_name=True, **_PRINT_DEFAULTS)


def signature_map_to_json(signature_map):
    """A SignatureDefMap as TFS 2.x writes it: every signature has "defaults" (TF 1.15's proto lacks the field)."""
    result = message_to_json(signature_map)
    for signature in result.get("signature_def", {}).values():
        signature.setdefault("defaults", {})
    return result
