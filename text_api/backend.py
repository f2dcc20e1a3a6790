"""The backend protocol: one served model behind the text API, and what every backend shares.

A backend has a `name`, a `status()` (`{"name", "ready", ...}`, with a
`reason` while not ready) and `predict(examples, parameters)`, which answers
one record per example (the gateway's is a coroutine; the Lambda handler's
is not). Both drive `serving_client`: `load_model` reads what a model is,
`LoadedModel.check` refuses what it cannot take before anything is sent, and
its decoder shapes the answers.
"""

from typing import Any, Dict, List, NamedTuple, Optional, Sequence

from bert_contract import ModelInfo
from featurizer import Featurizer
from serving_client import InputError, ServingClient
from serving_client.decoders import Decoder

from text_api.errors import BadRequest
from text_api.payload import Example, Parameters


class Backend:
    """What the text API needs of a served model (subclasses implement it)."""

    name = ""

    def status(self) -> Dict[str, Any]:
        raise NotImplementedError

    def predict(self, examples: Sequence[Example], parameters: Parameters) -> Any:
        """One answer record per example (or an awaitable of them)."""
        raise NotImplementedError


class LoadedModel(NamedTuple):
    """What a backend learned from one model version's metadata."""

    version: Optional[int]
    labels: List[str]
    decoder: Decoder  # the model's task kind's (serving_client.decoders)
    featurizer: Featurizer
    info: Optional[ModelInfo]

    @property
    def task_kind(self) -> str:
        return self.decoder.kind

    def status(self, name: str) -> Dict[str, Any]:
        return {"name": name, "ready": True, "version": self.version, "task": self.task_kind, "labels": self.labels}

    def check(self, examples: Sequence[Example], parameters: Parameters) -> List[bool]:
        """Per example, whether the model's length cuts it; BadRequest for input the model cannot take."""
        try:
            return self.decoder.check_request(self.featurizer, self.info, examples, parameters.truncation)
        except InputError as e:
            raise BadRequest(str(e))

    def answers(self, results: Sequence[Any], truncated: Sequence[bool], parameters: Parameters) -> List[Dict[str, Any]]:
        return [self.decoder.answer(r, t, parameters) for r, t in zip(results, truncated)]


def load_model(client: ServingClient) -> LoadedModel:
    """Reads the model's metadata (and vocab) through `client`."""
    client.load()
    return LoadedModel(client.model_version, list(client.labels or []), client.decoder, client.featurizer,
                       client.model_info)


def call_model(client: ServingClient, examples: Sequence[Example]) -> List[Any]:
    """The client's result per example, of the model's kind (`Prediction`, `LabelSet`, `TaggedText`)."""
    return list(client.iter_results(examples))
