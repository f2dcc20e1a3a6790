"""TensorFlow-free client for BERT classifiers served by TF Serving or the local server.

    from serving_client import ServingClient
    with ServingClient("http://localhost:8501", "sms_spam") as client:
        print(client.predict("Win a free prize now").label)

Texts become features with the shared `featurizer`, checked against the
metadata the export carries. REST needs only `requests`; `grpc://` URLs need
the `grpc` extra. Tests swap the network for `MockTransport`.

Faults: failures to connect and HTTP 503/429 are resent within `Retry` (bounded,
exponential backoff); read timeouts and connections lost after the request was
sent (`ConnectionLost`; opt in with `Retry(retry_sent=True)`) are not. What still fails raises one
`ServingClientError` whose one-line message names the URL and the last error
("... (gave up after N retries)"). For many texts,
`predict_batch(texts, on_error="collect")` / `iter_predict(..., on_error="collect")`
keep going past a failed batch: its rows come back in their places as
`FailedPrediction(index, error, text, text_b)`; every result has `.error`
(None for a `Prediction`).

A multi-label classifier answers `client.predict(text)` with a `LabelSet`:
`labels`, the labels whose probability reaches the model's threshold for
them (best first), and `scores`, every label's probability. A token
classifier (NER) export answers `client.entities(text)`: a
`TaggedText` whose `entities` are `EntitySpan(start, end, label, text, score)`
with `text == input[start:end]` (see `_entities.py` for windows, sub-token
aggregation and the repair of invalid tag sequences). What each task kind
sends and answers is its decoder's (`serving_client.decoders`).
"""

from serving_client._client import ServingClient
from serving_client._results import FailedPrediction
from serving_client.decoders.multi_label import LabelSet
from serving_client.decoders.sequence import Prediction
from serving_client._entities import EntitySpan, TaggedText
from serving_client._errors import (
    ConnectError,
    ConnectionLost,
    InputError,
    ModelMismatchError,
    ProtocolError,
    ReadTimeout,
    ServerError,
    ServingClientError,
    TransportError,
)
from serving_client._retry import Retry, RetryTransport
from serving_client._transport import HTTPTransport, MockTransport, Request, Response, Transport

__all__ = [
    "ConnectError",
    "ConnectionLost",
    "EntitySpan",
    "FailedPrediction",
    "HTTPTransport",
    "InputError",
    "LabelSet",
    "MockTransport",
    "ModelMismatchError",
    "Prediction",
    "ProtocolError",
    "ReadTimeout",
    "Request",
    "Response",
    "Retry",
    "RetryTransport",
    "ServerError",
    "ServingClient",
    "ServingClientError",
    "TaggedText",
    "Transport",
    "TransportError",
]
