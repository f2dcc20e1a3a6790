"""Raw text in, class names and probabilities out, via TensorFlow Serving's API.

On first use the client reads the model's metadata once: the signature gives
the input dtypes and sequence length, the export's `metadata` signature gives
labels and the tokenizer settings the model was trained with. Local settings
that would produce different ids are refused before anything is sent.
Predictions go to the version that was checked, never to "whatever is latest".
Unless a version is asked for, the client follows the model's current version:
when the checked one is gone (404 after a rollout) it reads the metadata of
the new one and resends there, refusing only if the new version featurizes
differently from what the texts were encoded with.

A failed batch raises by default; with `on_error="collect"` its rows come back
as `FailedPrediction`s in their places and the other batches still count, so
one bad batch of a large file does not throw away the rest.

What `output` holds and what a text's result is depends on the model's task
kind (metadata `task_kind`); its decoder (`serving_client.decoders`) builds
the requests and decodes the answers. A sequence classifier answers
`predict()` with a `Prediction` (the best label), a multi-label classifier
with a `LabelSet` (every label that reaches its threshold), a token
classifier answers `entities()` with entity spans (`TaggedText`). Asking a
model with the method of another kind is refused before sending.
"""

import base64
import collections
import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, cast, Deque, Dict, Iterable, Iterator, List, NamedTuple, Optional, Sequence, Tuple, Union
from urllib.parse import quote, urlsplit

from bert_contract import DEFAULT_SIGNATURE, METADATA_OUTPUT, METADATA_SIGNATURE, SEQUENCE_CLASSIFICATION, TOKEN_CLASSIFICATION, VOCAB_OUTPUT, VOCAB_SIGNATURE, bytes_sha256
from featurizer import Featurizer, FeaturizerError, MetadataError, ModelInfo
from serving_client import _entities
from serving_client._entities import TaggedText
from serving_client._errors import InputError, ModelMismatchError, ProtocolError, ServerError, ServingClientError
from serving_client._metadata import BertLayout, bert_layout, dummy_inputs, parse_metadata
from serving_client._results import FailedPrediction
from serving_client.decoders import Decoder, decoder_for, kinds
from serving_client.decoders.multi_label import LabelSet
from serving_client.decoders.sequence import Prediction
from serving_client._retry import Retry, RetryTransport
from serving_client._transport import HTTPTransport, Request, Response, Transport

logger = logging.getLogger("serving_client")

# Without a `metadata` signature nor --max-seq-length, a dynamic export gets
# BERT's usual position-embedding limit.
FALLBACK_MAX_SEQ_LENGTH = 512

# One text, or a (text, second text or None) pair.
Example = Union[str, Tuple[str, Optional[str]]]

ON_ERROR = ("raise", "collect")

# Reads of the latest version's metadata, and follows of one batch, when rollouts keep overtaking them.
FETCH_ATTEMPTS = 3


class _VersionGone(Exception):
    """The version whose metadata was being read was unloaded before its signatures were (a 404)."""

    def __init__(self, error: ServerError):
        super().__init__(error)
        self.error = error


class _Model(NamedTuple):
    """Everything learned from the metadata, swapped in as one object."""

    version: Optional[int]
    predict_url: str
    layout: BertLayout
    featurizer: Featurizer
    labels: Optional[List[str]]  # None: foreign export without --labels, use indices
    info: Optional[ModelInfo]
    decoder: Decoder
    setting: Any = None  # what the decoder's configure() returned (a tagger's doc stride, thresholds)

    @property
    def task_kind(self) -> str:
        return self.decoder.kind


class ServingClient:
    """Classifies texts with a BERT model served by TF Serving or the local server.

    `url` is `http(s)://host:port` (REST) or `grpc://host:port` (needs the
    `grpc` extra). Batches of `batch_size` texts are sent with up to
    `max_in_flight` requests at once; results keep the input order.
    Predictions go to the version whose metadata was checked. With `version`
    None (the default) the client follows rollouts: when the server has
    unloaded that version (404), it checks the current one and goes on with it
    if its featurization, sequence layout and labels are the same (else
    `ModelMismatchError`); with a `version` it stays on that one.
    Without `vocab_file` the vocab comes from the export's `vocab` signature
    (checked against the metadata's sha256); a `vocab_file` must match it.
    """

    def __init__(
        self,
        url: str,
        model: str,
        vocab_file: Optional[str] = None,
        version: Optional[int] = None,
        signature: str = DEFAULT_SIGNATURE,
        do_lower_case: Optional[bool] = None,
        max_seq_length: Optional[int] = None,
        labels: Optional[Sequence[str]] = None,
        batch_size: int = 32,
        max_in_flight: int = 4,
        timeout: float = 30.0,
        connect_timeout: float = 3.05,
        retry: Optional[Retry] = None,
        transport: Optional[Transport] = None,
        use_fast: bool = False,
        aggregation: str = _entities.DEFAULT_AGGREGATION,
        doc_stride: Optional[int] = None,
        threshold: Optional[float] = None,
    ):
        if batch_size < 1:
            raise ValueError("batch_size must be >= 1, got %d" % batch_size)
        if max_in_flight < 1:
            raise ValueError("max_in_flight must be >= 1, got %d" % max_in_flight)
        self.url = url.rstrip("/")
        self.model_name = model
        self.vocab_file = vocab_file
        self.version = version
        self.signature = signature
        self.do_lower_case = do_lower_case
        self.max_seq_length = max_seq_length
        self.user_labels = list(labels) if labels else None
        self.batch_size = batch_size
        self.max_in_flight = max_in_flight
        self.use_fast = use_fast
        self.aggregation = _entities.check_aggregation(aggregation)
        if doc_stride is not None and doc_stride < 1:
            raise ValueError("doc_stride must be >= 1, got %d" % doc_stride)
        self.doc_stride = doc_stride
        if threshold is not None and not 0.0 <= threshold <= 1.0:
            raise ValueError("threshold must be from 0 to 1, got %g" % threshold)
        self.threshold = threshold
        if transport is None:
            transport = _default_transport(self.url, connect_timeout, timeout, max_in_flight)
        self._transport = RetryTransport(transport, retry if retry is not None else Retry())
        self._model = None  # type: Optional[_Model]
        self._lock = threading.Lock()
        self._executor = None  # type: Optional[ThreadPoolExecutor]

    # -- public API -----------------------------------------------------------

    def predict(self, text: str, text_b: Optional[str] = None) -> Union[Prediction, LabelSet]:
        """One text, or a sentence pair; raises its `ServingClientError`.

        A `Prediction` from a sequence classifier, a `LabelSet` from a multi-label one.
        """
        return cast(Union[Prediction, LabelSet], self.predict_batch([text], None if text_b is None else [text_b])[0])

    def predict_batch(
        self, texts: Sequence[str], texts_b: Optional[Sequence[Optional[str]]] = None, on_error: str = "raise"
    ) -> List[Union[Prediction, LabelSet, FailedPrediction]]:
        """One result per text, in order; see `iter_predict` for `on_error`."""
        if texts_b is not None and len(texts_b) != len(texts):
            raise ValueError("got %d texts but %d second texts" % (len(texts), len(texts_b)))
        pairs = zip(texts, texts_b) if texts_b is not None else ((t, None) for t in texts)
        return list(self.iter_predict(pairs, on_error=on_error))

    def iter_predict(
        self,
        examples: Iterable[Example],
        progress: Optional[Callable[[int], None]] = None,
        on_error: str = "raise",
    ) -> Iterator[Union[Prediction, LabelSet, FailedPrediction]]:
        """Streams predictions in input order; `progress(n)` is called as n more are done.

        Texts are featurized here while earlier batches are in flight, so a file
        is never held in memory as a whole. `on_error="raise"` (default) raises
        the first failed batch's `ServingClientError`; `"collect"` yields a
        `FailedPrediction` for each of its rows instead and goes on. Errors
        before any batch is sent (metadata, mismatch, unreadable input) always raise.
        """
        return self._results("predict", examples, progress, on_error)

    def entities(self, text: str) -> TaggedText:
        """The entities of one text (token classifiers only); raises its `ServingClientError`."""
        return cast(TaggedText, self.entities_batch([text])[0])

    def entities_batch(self, texts: Sequence[str], on_error: str = "raise") -> List[Union[TaggedText, FailedPrediction]]:
        """One `TaggedText` per text, in order; see `iter_predict` for `on_error`."""
        return list(self.iter_entities(texts, on_error=on_error))

    def iter_entities(
        self,
        texts: Iterable[str],
        progress: Optional[Callable[[int], None]] = None,
        on_error: str = "raise",
    ) -> Iterator[Union[TaggedText, FailedPrediction]]:
        """Streams each text's entities in input order (token classifiers only).

        Each text is cut into the model's windows (`doc_stride` apart, as in
        training); a request carries whole texts and at most `batch_size`
        windows (a longer text goes alone). Failures behave as in `iter_predict`.
        """
        return self._results("entities", texts, progress, on_error)

    def iter_results(
        self,
        examples: Iterable[Example],
        progress: Optional[Callable[[int], None]] = None,
        on_error: str = "raise",
    ) -> Iterator[Any]:
        """Streams the results of whatever kind the model is (`decoder.method` names that kind's own API).

        For callers that serve any model (the CLI, the text gateway); failures as in `iter_predict`.
        """
        return self._results(None, examples, progress, on_error)

    def _results(
        self, method: Optional[str], examples: Iterable[Any], progress: Optional[Callable[[int], None]], on_error: str
    ) -> Iterator[Any]:
        """Checks before anything is read or sent (a generator would wait for the first next())."""
        _check_on_error(on_error)
        model = self._loaded()
        if method is not None and model.decoder.method != method:
            raise ModelMismatchError(
                "the model at %s is a %s model, not a %s model: use %s()/iter_%s()"
                % (model.predict_url, model.decoder.title, _titles(method), model.decoder.method, model.decoder.method)
            )
        return self._pipeline(model, model.decoder.batches(self, model, examples), progress, on_error)

    @property
    def decoder(self) -> Decoder:
        """The decoder of the model's task kind (`serving_client.decoders`)."""
        return self._loaded().decoder

    @property
    def task_kind(self) -> str:
        """What the model does: one of `bert_contract.TASK_KINDS` (the metadata's `task_kind`)."""
        return self._loaded().task_kind

    @property
    def labels(self) -> Optional[List[str]]:
        """Class names (None for a foreign export without user labels)."""
        return self._loaded().labels

    @property
    def model_info(self) -> Optional[ModelInfo]:
        """What the export's `metadata` signature said (None for a foreign export)."""
        return self._loaded().info

    @property
    def model_version(self) -> Optional[int]:
        return self._loaded().version

    @property
    def featurizer(self) -> Featurizer:
        """The featurizer configured from the model's metadata (e.g. to count a text's tokens)."""
        return self._loaded().featurizer

    @property
    def sequence_length(self) -> Optional[int]:
        """Padded length of every request (None: each batch pads to its longest text)."""
        return self._loaded().layout.sequence_length

    def load(self) -> None:
        """Reads and checks the model's metadata now instead of on first use."""
        self._loaded()

    def _loaded(self) -> _Model:
        """The checked model, fetched once (thread-safe)."""
        model = self._model
        if model is None:
            with self._lock:
                if self._model is None:
                    self._model = self._fetch_model()
                model = self._model
        return model

    def reload(self) -> None:
        """Forgets the model's metadata, e.g. after the server rolled out a new version."""
        with self._lock:
            self._model = None

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        self._transport.close()

    def __enter__(self) -> "ServingClient":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    # -- metadata ---------------------------------------------------------------

    def _model_url(self, version: Optional[int]) -> str:
        url = "%s/v1/models/%s" % (self.url, quote(self.model_name, safe=""))
        return url if version is None else "%s/versions/%d" % (url, version)

    def _fetch_model(self) -> _Model:
        """The checked model; when following the latest version, read again if a rollout unloaded it mid-read.

        The metadata and the `metadata`/`vocab` signatures are separate calls: between them the
        server may unload the version the metadata named (a 404 for it). Then the latest is read
        again, at most FETCH_ATTEMPTS times.
        """
        attempt = 1
        while True:
            try:
                return self._read_model()
            except _VersionGone as gone:
                if attempt >= FETCH_ATTEMPTS:
                    raise gone.error
                logger.info("model '%s': the version being read was unloaded (%s); reading the latest again",
                            self.model_name, gone.error.server_message)
                attempt += 1

    def _read_model(self) -> _Model:
        request = Request("GET", self._model_url(self.version) + "/metadata")
        try:
            metadata = parse_metadata(self._call(request))
        except ValueError as e:
            raise ProtocolError("unexpected metadata from %s: %s" % (request.url, e), request)
        where = "model '%s' version %s" % (self.model_name, metadata.version or self.version or "latest")
        signature = metadata.signatures.get(self.signature)
        if signature is None:
            raise ModelMismatchError(
                "%s has no signature '%s'; it has: %s"
                % (where, self.signature, ", ".join(sorted(metadata.signatures)) or "none"),
                request,
            )
        try:
            layout = bert_layout(signature, self.signature)
        except ValueError as e:
            raise ModelMismatchError("%s: %s" % (where, e), request)
        version = metadata.version if metadata.version is not None else self.version
        info = None
        vocab_bytes = None
        try:
            meta_signature = metadata.signatures.get(METADATA_SIGNATURE)
            if meta_signature is not None:
                info = self._fetch_model_info(version, meta_signature)
            else:
                logger.warning(
                    "%s has no '%s' signature (not exported by this project): vocab and casing cannot be checked; "
                    "class names %s",
                    where,
                    METADATA_SIGNATURE,
                    "from the labels given" if self.user_labels else "are class indices",
                )
            if self.vocab_file is None:
                vocab_bytes = self._fetch_vocab(version, metadata.signatures.get(VOCAB_SIGNATURE), info, where, request)
        except ServerError as e:
            if e.status_code == 404 and self.version is None and version is not None:
                raise _VersionGone(e)
            raise
        featurizer, labels = self._configure(layout, info, where, request, vocab_bytes)
        output = signature.outputs[layout.output_name].shape
        # A foreign export without metadata: a rank-3 output is per token.
        kind = info.task_kind if info is not None else TOKEN_CLASSIFICATION if output and len(output) == 3 else SEQUENCE_CLASSIFICATION
        try:
            decoder = decoder_for(kind)
            setting = decoder.configure(self, labels, info, featurizer)
        except ValueError as e:
            raise ModelMismatchError("%s: %s" % (where, e), request)
        return _Model(version, self._model_url(version) + ":predict", layout, featurizer, labels, info, decoder, setting)

    def _first_row(self, version: Optional[int], name: str, signature: Any, output: str) -> Tuple[Any, Request]:
        """Row 0 of output `output` of signature `name`, called with one all-zero row."""
        request = Request(
            "POST", self._model_url(version) + ":predict", {"signature_name": name, "inputs": dummy_inputs(signature)}
        )
        outputs = self._call(request).get("outputs")
        if isinstance(outputs, dict):
            outputs = outputs.get(output)
        if not isinstance(outputs, list) or not outputs:
            raise ProtocolError("the '%s' signature at %s returned no %s rows" % (name, request.url, output), request)
        return outputs[0], request

    def _fetch_model_info(self, version: Optional[int], signature: Any) -> ModelInfo:
        row, request = self._first_row(version, METADATA_SIGNATURE, signature, METADATA_OUTPUT)
        try:
            if isinstance(row, dict) and "b64" in row:
                row = base64.b64decode(row["b64"]).decode("utf-8")
            return ModelInfo.from_json(row)
        except (FeaturizerError, TypeError, ValueError) as e:
            raise ProtocolError("bad %s from %s: %s" % (METADATA_OUTPUT, request.url, e), request)

    def _fetch_vocab(
        self, version: Optional[int], signature: Any, info: Optional[ModelInfo], where: str, request: Request
    ) -> bytes:
        """The vocab the export carries, checked against its metadata's sha256."""
        if signature is None or info is None:
            raise ModelMismatchError(
                "%s carries no vocabulary (no '%s' signature): pass the vocab.txt it was trained with"
                % (where, VOCAB_SIGNATURE),
                request,
            )
        row, request = self._first_row(version, VOCAB_SIGNATURE, signature, VOCAB_OUTPUT)
        try:
            raw = base64.b64decode(row["b64"]) if isinstance(row, dict) else row.encode("utf-8")
        except (AttributeError, KeyError, TypeError, ValueError):
            raise ProtocolError("the '%s' signature at %s returned a malformed %s row" % (VOCAB_SIGNATURE, request.url, VOCAB_OUTPUT), request)
        digest = bytes_sha256(raw)
        if digest != info.vocab_sha256:
            raise ModelMismatchError(
                "%s: the vocab it carries has sha256 %s... but its metadata says %s...; nothing was sent"
                % (where, digest[:12], info.vocab_sha256[:12]),
                request,
            )
        return raw

    def _configure(
        self, layout: BertLayout, info: Optional[ModelInfo], where: str, request: Request, vocab_bytes: Optional[bytes] = None
    ) -> Tuple[Featurizer, Optional[List[str]]]:
        """Local featurizer and labels for the model; refuses settings that would give other ids."""
        length = self.max_seq_length
        if layout.sequence_length is not None:
            if length is not None and length > layout.sequence_length:
                raise ModelMismatchError(
                    "%s: max_seq_length=%d exceeds the signature's sequence length %d"
                    % (where, length, layout.sequence_length),
                    request,
                )
            length = length or layout.sequence_length
        elif length is None:
            length = info.max_seq_length if info is not None else FALLBACK_MAX_SEQ_LENGTH
        lower = self.do_lower_case
        if lower is None:
            lower = info.do_lower_case if info is not None else True
        try:
            featurizer = Featurizer(
                self.vocab_file or "the vocab of %s" % where, lower, length, use_fast=self.use_fast, vocab_bytes=vocab_bytes
            )
        except FeaturizerError as e:
            raise InputError(str(e))
        if info is None:
            return featurizer, self.user_labels
        try:
            info.check_featurizer(featurizer.vocab_sha256, lower, length)
        except MetadataError as e:
            raise ModelMismatchError("%s: %s (vocab %s); nothing was sent" % (where, e, self.vocab_file), request)
        if self.user_labels is not None and self.user_labels != info.labels:
            raise ModelMismatchError(
                "%s: labels %s differ from the model's %s" % (where, ",".join(self.user_labels), ",".join(info.labels)),
                request,
            )
        return featurizer, list(info.labels)

    # -- predict ----------------------------------------------------------------

    def _post_predict(self, model: _Model, request: Request) -> Tuple[Request, Dict[str, Any]]:
        """Sends a batch encoded for `model`; after a rollout, to the current version if it fits.

        A batch whose resend is overtaken by the next rollout follows again (at most FETCH_ATTEMPTS times).
        """
        follows = 0
        while True:
            try:
                return request, self._call(request)
            except ServerError as e:
                if e.status_code != 404 or self.version is not None or follows >= FETCH_ATTEMPTS:
                    raise
                model = self._follow(model, e)
            request = Request("POST", model.predict_url, request.json)
            follows += 1

    def _follow(self, model: _Model, gone: ServerError) -> _Model:
        """The model's current version, when `model`'s version is gone and the current one featurizes alike."""
        with self._lock:
            # Versions, not objects: a reload() (the gateway's, on a new version) may have put in another
            # object of the same version, read just before that version too was unloaded.
            if self._model is None or self._model.version == model.version:
                self._model = self._fetch_model()
            current = self._model
        if current.version == model.version:
            raise gone
        changes = _featurization_changes(model, current)
        if changes:
            raise ModelMismatchError(
                "model '%s' moved from version %s to %s, which differs from what the texts were encoded with (%s); "
                "the rest was not sent" % (self.model_name, model.version, current.version, "; ".join(changes)),
                gone.request,
            )
        logger.info("model '%s' moved from version %s to %s; following it", self.model_name, model.version, current.version)
        return current

    def _pipeline(
        self,
        model: _Model,
        batches: Iterable[Tuple[List[Tuple[str, Optional[str]]], Dict[str, Any], Any]],
        progress: Optional[Callable[[int], None]],
        on_error: str,
    ) -> Iterator[Any]:
        """Sends (chunk, body, state) batches with up to max_in_flight requests; yields decoded rows in order."""
        pending = collections.deque()  # type: Deque[Tuple[int, List[Tuple[str, Optional[str]]], Any, Future]]
        executor = self._pool()
        start = 0
        try:
            for chunk, body, state in batches:
                request = Request("POST", model.predict_url, body)
                pending.append((start, chunk, state, executor.submit(self._post_predict, model, request)))
                start += len(chunk)
                if len(pending) >= self.max_in_flight:
                    for result in self._finish(model, pending.popleft(), progress, on_error):
                        yield result
            while pending:
                for result in self._finish(model, pending.popleft(), progress, on_error):
                    yield result
        finally:
            for _, _, _, future in pending:
                future.cancel()

    def _finish(
        self,
        model: _Model,
        item: Tuple[int, List[Tuple[str, Optional[str]]], Any, Future],
        progress: Optional[Callable[[int], None]],
        on_error: str,
    ) -> List[Any]:
        start, chunk, state, future = item
        try:
            request, body = future.result()
            outputs = body.get("outputs")
            if isinstance(outputs, dict):
                outputs = outputs.get(model.layout.output_name)
            results = model.decoder.decode(self, model, chunk, state, outputs, request)
        except ServingClientError as e:
            if on_error == "raise":
                raise
            logger.debug("rows %d-%d failed: %s", start, start + len(chunk) - 1, e)
            results = [FailedPrediction(start + i, e, text, text_b) for i, (text, text_b) in enumerate(chunk)]
        if progress is not None:
            progress(len(chunk))
        return results

    # -- plumbing ---------------------------------------------------------------

    def _call(self, request: Request) -> Dict[str, Any]:
        """Sends one request; a JSON object on 200, ServerError/ProtocolError otherwise."""
        response = self._transport.send(request)
        if response.status_code != 200:
            raise ServerError(
                response.status_code, _error_message(response), request, response.grpc_code, response.retries
            )
        try:
            body = response.json()
        except ValueError as e:
            raise ProtocolError("the answer from %s is not JSON: %s" % (request.url, e), request)
        if not isinstance(body, dict):
            raise ProtocolError("the answer from %s is not a JSON object" % request.url, request)
        return body

    def _pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self.max_in_flight, thread_name_prefix="serving-client")
            return self._executor


def _default_transport(url: str, connect_timeout: float, timeout: float, max_in_flight: int) -> Transport:
    scheme = urlsplit(url).scheme.lower()
    if scheme in ("http", "https"):
        return HTTPTransport(timeout=(connect_timeout, timeout), pool_maxsize=max_in_flight)
    if scheme == "grpc":
        from serving_client._grpc import GrpcTransport  # imports grpc and the TF protos

        return GrpcTransport(url, timeout=timeout, connect_timeout=connect_timeout)
    raise ValueError("server URL %r must start with http://, https:// or grpc://" % url)


def _check_on_error(on_error: str) -> None:
    if on_error not in ON_ERROR:
        raise ValueError("on_error must be one of %s, got %r" % (", ".join(ON_ERROR), on_error))


def _featurization_changes(old: _Model, new: _Model) -> List[str]:
    """What differs between two versions in how texts become tensors and rows become labels."""
    changes = []
    pairs = [
        ("vocab sha256", old.featurizer.vocab_sha256, new.featurizer.vocab_sha256),
        ("do_lower_case", old.featurizer.do_lower_case, new.featurizer.do_lower_case),
        ("max_seq_length", old.featurizer.max_seq_length, new.featurizer.max_seq_length),
        ("signature sequence length", old.layout.sequence_length, new.layout.sequence_length),
        ("inputs", old.layout.input_names, new.layout.input_names),
        ("output", old.layout.output_name, new.layout.output_name),
        ("labels", old.labels, new.labels),
        ("task kind", old.task_kind, new.task_kind),
        ("decoding", old.setting, new.setting),
    ]
    for what, before, after in pairs:
        if before != after:
            changes.append("%s %s -> %s" % (what, before, after))
    return changes


def _titles(method: str) -> str:
    """The kinds whose decoders answer `method`, for messages."""
    titles = sorted(decoder_for(kind).title for kind in kinds() if decoder_for(kind).method == method)
    return " model or a ".join(sorted(titles, key=lambda t: not t.startswith("sequence")))


def _error_message(response: Response) -> str:
    """The server's `{"error": ...}` text, or the raw body when it is not that."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        return body["error"]
    text = response.content.decode("utf-8", "replace").strip()
    return text[:500] or "(empty body)"
