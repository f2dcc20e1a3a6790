"""One decoder per task kind: everything on the serving side that depends on what `output` holds.

A served model's kind comes from its metadata (`ModelInfo.task_kind`). Its
decoder owns, for that kind: the checks of the model's labels and settings,
the client's predict requests and the results `output` becomes
(`ServingClient.predict()` or `entities()`), the CLI's JSON records and table,
and the text API's request checks and answers (the gateway and the Lambda
handler). Client, CLI, gateway and handler look the decoder up with
`decoder_for(kind)` and never switch on the kind themselves, so a new task
kind is one module here that calls `register`.
"""

from serving_client.decoders._base import Decoder, decoder_for, kinds, register
from serving_client.decoders import multi_label, sequence, token  # noqa: F401  (each registers its decoder)

__all__ = ["Decoder", "decoder_for", "kinds", "register"]
