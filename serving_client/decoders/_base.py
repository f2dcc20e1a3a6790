"""The decoder interface, the registry, and the pieces the classification decoders share."""

from typing import IO, Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from bert_contract import LABEL_IDS, ModelInfo
from featurizer import Featurizer, pad_batch
from serving_client._errors import InputError, ModelMismatchError, ProtocolError

# One text and its optional second text.
Example = Tuple[str, Optional[str]]
# What a decoder sends per request: the examples, the predict body, and what decode() needs back.
Batch = Tuple[List[Example], Dict[str, Any], Any]


class Decoder:
    """What one task kind does on the serving side; subclasses register one instance each.

    `client` is the `ServingClient` and `model` what it learned from the
    metadata (`version`, `predict_url`, `layout`, `featurizer`, `labels`,
    `info`, and `setting`, the value `configure` returned).
    """

    kind = ""  # a bert_contract task kind
    title = ""  # how messages name it
    method = "predict"  # the ServingClient methods that answer it: "predict" (predict/iter_predict) or "entities"
    pairs = True  # whether it can take a second text
    single_texts = "the model takes single texts; it takes no second text"  # the refusal when pairs are not taken

    def takes_pairs(self, info: Optional[ModelInfo]) -> bool:
        """Whether this model can take a second text: the kind can, and the model was not trained without."""
        return self.pairs and (info is None or info.text_pairs is not False)

    def configure(self, client: Any, labels: Optional[List[str]], info: Optional[ModelInfo], featurizer: Featurizer) -> Any:
        """The per-model setting decode() needs, checked; ValueError says what does not fit."""
        return None

    def batches(self, client: Any, model: Any, examples: Iterable[Example]) -> Iterator[Batch]:
        raise NotImplementedError

    def decode(self, client: Any, model: Any, chunk: List[Example], state: Any, outputs: Any, request: Any) -> List[Any]:
        """One result per example of `chunk`, from the answer's `output` (not yet checked)."""
        raise NotImplementedError

    # -- the CLI ----------------------------------------------------------------

    def record(self, result: Any) -> Dict[str, Any]:
        """The JSON (Lines) record of one result."""
        raise NotImplementedError

    def table(self, stream: IO[str], single: bool) -> Any:
        """The CLI's table writer (a `serving_client._output.Writer`)."""
        raise NotImplementedError

    # -- the text API (gateway and Lambda handler) --------------------------------

    def check_request(self, featurizer: Featurizer, info: Optional[ModelInfo], examples: Sequence[Example],
                      truncation: bool) -> List[bool]:
        """Per example, whether the model's length cuts it; InputError for input this model cannot take."""
        raise NotImplementedError

    def answer(self, result: Any, truncated: bool, parameters: Any) -> Dict[str, Any]:
        """The text API's record of one result; `parameters` has `top_k`, `threshold` (None: unset)."""
        raise NotImplementedError


_DECODERS = {}  # type: Dict[str, Decoder]


def register(decoder: Decoder) -> Decoder:
    _DECODERS[decoder.kind] = decoder
    return decoder


def decoder_for(kind: str) -> Decoder:
    decoder = _DECODERS.get(kind)
    if decoder is None:
        raise ModelMismatchError("task kind %r has no decoder here; known: %s" % (kind, ", ".join(kinds())))
    return decoder


def kinds() -> List[str]:
    return sorted(_DECODERS)


# -- shared by the classifiers (one row of probabilities per text) ----------------


def chunks(examples: Iterable[Any], size: int) -> Iterator[List[Example]]:
    """Examples (a text, or a (text, second text or None) pair) in lists of `size`."""
    chunk = []  # type: List[Example]
    for example in examples:
        chunk.append((example, None) if isinstance(example, str) else (example[0], example[1]))
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def classifier_body(decoder: Decoder, client: Any, model: Any, chunk: List[Example], label_row: Any) -> Dict[str, Any]:
    """The predict body of a chunk of texts; `label_ids` (if the signature takes it) is `label_row` per text.

    InputError, before anything is sent, for a second text to a model trained on single texts.
    """
    texts_b = [b for _, b in chunk]
    if any(b is not None for b in texts_b) and not decoder.takes_pairs(model.info):
        raise InputError("the %s model was trained on single texts; it takes no second text" % decoder.title)
    encoded = model.featurizer.encode_batch([a for a, _ in chunk], texts_b if any(b is not None for b in texts_b) else None)
    inputs = pad_batch(encoded, model.layout.sequence_length)  # type: Dict[str, Any]
    if LABEL_IDS in model.layout.input_names:
        inputs[LABEL_IDS] = [label_row] * len(chunk)
    return {"signature_name": client.signature, "inputs": inputs}


def probability_rows(outputs: Any, model: Any, count: int, request: Any) -> List[List[float]]:
    """The [count, num_labels] probabilities of a columnar predict answer, checked."""
    where = "the answer from %s" % model.predict_url
    if not isinstance(outputs, list) or len(outputs) != count:
        got = "%d rows" % len(outputs) if isinstance(outputs, list) else "no 'outputs'"
        raise ProtocolError("%s has %s for %d texts" % (where, got, count), request)
    width = len(model.labels) if model.labels is not None else len(outputs[0]) if isinstance(outputs[0], list) else 0
    for row in outputs:
        if not isinstance(row, list) or not row or len(row) != width or not all(isinstance(p, (int, float)) for p in row):
            if model.labels is not None and isinstance(row, list) and len(row) != width:
                raise ModelMismatchError(
                    "%s has %d probabilities per text but the model has %d labels (%s)"
                    % (where, len(row), width, ",".join(model.labels)),
                    request,
                )
            raise ProtocolError("%s is not a [texts, labels] list of numbers" % where, request)
    return outputs


def label_names(model: Any, width: int) -> List[str]:
    """The model's labels, or class indices for a foreign export without them."""
    return model.labels or [str(i) for i in range(width)]


def truncation_flags(featurizer: Featurizer, examples: Sequence[Example], truncation: bool) -> List[bool]:
    """Which examples the model's length cuts; InputError when `truncation` is false and one would be."""
    limit = featurizer.max_seq_length
    # Counted up to the limit: a longer text is cut whatever its length, so a long one is not tokenized whole.
    ids_a = featurizer.token_ids([a for a, _ in examples], limit)
    present = [i for i, (_, b) in enumerate(examples) if b]
    lengths_b = dict(zip(present, map(len, featurizer.token_ids([examples[i][1] for i in present], limit))))
    flags = []
    for i, ids in enumerate(ids_a):
        length = _input_length(len(ids), lengths_b.get(i, 0))
        flags.append(length > limit)
        if length > limit and not truncation:
            raise InputError(
                "instances[%d] has %s tokens, more than the model's %d, and parameters.truncation is false"
                % (i, _exact_length(featurizer, examples[i]), limit)
            )
    return flags


# Texts up to this long are counted whole for the error message; a longer one says "over N".
EXACT_COUNT_CHARS = 65536


def _exact_length(featurizer: Featurizer, example: Example) -> str:
    a, b = example
    if len(a) + len(b or "") > EXACT_COUNT_CHARS:
        return "over %d" % featurizer.max_seq_length
    ids_a, ids_b = featurizer.token_ids([a, b or ""])
    return str(_input_length(len(ids_a), len(ids_b)))


def _input_length(pieces_a: int, pieces_b: int) -> int:
    """[CLS] a [SEP], or [CLS] a [SEP] b [SEP]; an empty second text counts as none (the reference's rule)."""
    return pieces_a + pieces_b + 3 if pieces_b else pieces_a + 2


def text_fields(result: Any) -> Dict[str, Any]:
    """A classifier result's `text` (and `text_b` when it has one), for its JSON record."""
    return {"text": result.text, "text_b": result.text_b} if result.text_b is not None else {"text": result.text}


def classifier_checks(decoder: Decoder, featurizer: Featurizer, info: Optional[ModelInfo], examples: Sequence[Example],
                      truncation: bool) -> List[bool]:
    """A text classifier's request checks: a second text only where the model takes one, then the length."""
    check_pairs(decoder, info, examples)
    return truncation_flags(featurizer, examples, truncation)


def check_pairs(decoder: Decoder, info: Optional[ModelInfo], examples: Sequence[Example]) -> None:
    """InputError for a second text when the model takes none."""
    if not decoder.takes_pairs(info):
        refuse_pairs(examples, "the %s model was trained on single texts" % decoder.title if decoder.pairs
                     else "a %s model takes single texts" % decoder.title)


def refuse_pairs(examples: Sequence[Example], why: str) -> None:
    """InputError naming the first example with a second text."""
    for i, (_, pair) in enumerate(examples):
        if pair is not None:
            raise InputError("instances[%d] has a text_pair; %s" % (i, why))


def ranked(scores: Dict[str, float], top_k: Optional[int], keep: Optional[float] = None) -> Dict[str, float]:
    """`scores` best first, those below `keep` left out, then the `top_k` best."""
    items = sorted(scores.items(), key=lambda item: -item[1])
    if keep is not None:
        items = [item for item in items if item[1] >= keep]
    return dict(items[:top_k] if top_k is not None else items)
