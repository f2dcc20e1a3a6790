"""TF Serving model metadata (GET .../metadata) -> what the client must send.

Parsing is strict about what the client relies on (signature inputs, dtypes,
the sequence dimension) and ignores the rest (`defaults`, tensor names), so
TFS 1.15, 2.x and the local server all work. Errors are `ValueError` with the
JSON path at fault; the client wraps them with the URL.
"""

from typing import Any, Dict, List, NamedTuple, Optional

from bert_contract import FEATURE_INPUTS, SERVING_OUTPUT
from bert_contract import LABEL_IDS as LABEL_INPUT  # sent as 0

INT_DTYPES = ("DT_INT32", "DT_INT64")
FLOAT_DTYPES = ("DT_FLOAT", "DT_DOUBLE", "DT_HALF", "DT_BFLOAT16")
# Output names tried, in order, when a signature has several outputs.
PROBABILITY_OUTPUTS = ("probabilities", SERVING_OUTPUT, "probs")


class TensorSpec(NamedTuple):
    dtype: str
    shape: Optional[List[int]]  # None = unknown rank; -1 = any size


class Signature(NamedTuple):
    inputs: Dict[str, TensorSpec]
    outputs: Dict[str, TensorSpec]


class ModelMetadata(NamedTuple):
    name: str
    version: Optional[int]
    signatures: Dict[str, Signature]


def parse_metadata(body: Any) -> ModelMetadata:
    """The metadata response, as defined in the serving contract §7."""
    spec = _get(body, "model_spec", dict, "")
    version_text = spec.get("version")
    try:
        version = int(version_text) if version_text not in (None, "") else None
    except (TypeError, ValueError):
        raise ValueError("model_spec.version is not a number: %r" % (version_text,))
    metadata = _get(body, "metadata", dict, "")
    outer = _get(metadata, "signature_def", dict, "metadata")
    defs = _get(outer, "signature_def", dict, "metadata.signature_def")
    signatures = {}
    for name, sig in defs.items():
        where = "metadata.signature_def.signature_def.%s" % name
        if not isinstance(sig, dict):
            raise ValueError("%s is not an object" % where)
        signatures[name] = Signature(
            inputs=_tensor_specs(sig.get("inputs", {}), where + ".inputs"),
            outputs=_tensor_specs(sig.get("outputs", {}), where + ".outputs"),
        )
    return ModelMetadata(name=str(spec.get("name", "")), version=version, signatures=signatures)


def _get(obj: Any, key: str, kind: type, where: str) -> Any:
    path = "%s.%s" % (where, key) if where else key
    if not isinstance(obj, dict) or key not in obj:
        raise ValueError("missing %s" % path)
    value = obj[key]
    if not isinstance(value, kind):
        raise ValueError("%s is not a JSON %s" % (path, "object" if kind is dict else kind.__name__))
    return value


def _tensor_specs(specs: Any, where: str) -> Dict[str, TensorSpec]:
    if not isinstance(specs, dict):
        raise ValueError("%s is not an object" % where)
    result = {}
    for name, spec in specs.items():
        path = "%s.%s" % (where, name)
        dtype = _get(spec, "dtype", str, path)
        shape_obj = spec.get("tensor_shape", {})
        if not isinstance(shape_obj, dict):
            raise ValueError("%s.tensor_shape is not an object" % path)
        shape = None  # type: Optional[List[int]]
        if not shape_obj.get("unknown_rank", False):
            try:
                shape = [int(dim.get("size", -1)) for dim in shape_obj.get("dim", [])]
            except (AttributeError, TypeError, ValueError):
                raise ValueError("%s.tensor_shape.dim has a non-numeric size" % path)
        result[name] = TensorSpec(dtype=dtype, shape=shape)
    return result


class BertLayout(NamedTuple):
    """How to fill a BERT classifier signature."""

    sequence_length: Optional[int]  # None: dynamic, pad to the batch's longest text
    input_names: List[str]  # the inputs to send (FEATURE_INPUTS, plus LABEL_INPUT if declared)
    output_name: str  # the probabilities output


def bert_layout(signature: Signature, signature_name: str) -> BertLayout:
    """Checks the signature is a BERT classifier's; ValueError says what does not fit."""
    missing = [name for name in FEATURE_INPUTS if name not in signature.inputs]
    if missing:
        raise ValueError(
            "signature '%s' lacks the input(s) %s; it has %s"
            % (signature_name, ", ".join(missing), ", ".join(sorted(signature.inputs)) or "none")
        )
    unknown = sorted(set(signature.inputs) - set(FEATURE_INPUTS) - {LABEL_INPUT})
    if unknown:
        raise ValueError(
            "signature '%s' needs input(s) %s that a BERT client cannot fill" % (signature_name, ", ".join(unknown))
        )
    lengths = set()
    for name in FEATURE_INPUTS:
        spec = signature.inputs[name]
        if spec.dtype not in INT_DTYPES:
            raise ValueError("input '%s' of signature '%s' has dtype %s, not an integer type" % (name, signature_name, spec.dtype))
        if spec.shape is None:
            lengths.add(-1)
        elif len(spec.shape) != 2:
            raise ValueError(
                "input '%s' of signature '%s' has shape %s; expected [batch, sequence]" % (name, signature_name, spec.shape)
            )
        else:
            lengths.add(spec.shape[1])
    if len(lengths) != 1:
        raise ValueError("the inputs of signature '%s' disagree on the sequence length: %s" % (signature_name, sorted(lengths)))
    length = lengths.pop()
    if length == 0 or length < -1:
        raise ValueError("signature '%s' has an invalid sequence length %d" % (signature_name, length))
    inputs = list(FEATURE_INPUTS) + ([LABEL_INPUT] if LABEL_INPUT in signature.inputs else [])
    output = _output_name(signature, signature_name)
    if signature.outputs[output].dtype not in FLOAT_DTYPES:
        raise ValueError(
            "output '%s' of signature '%s' has dtype %s, not class probabilities"
            % (output, signature_name, signature.outputs[output].dtype)
        )
    return BertLayout(sequence_length=None if length == -1 else length, input_names=inputs, output_name=output)


def _output_name(signature: Signature, signature_name: str) -> str:
    if len(signature.outputs) == 1:
        return next(iter(signature.outputs))
    for name in PROBABILITY_OUTPUTS:
        if name in signature.outputs:
            return name
    raise ValueError(
        "signature '%s' has outputs %s; cannot tell which holds the probabilities (expected one of %s)"
        % (signature_name, ", ".join(sorted(signature.outputs)) or "none", ", ".join(PROBABILITY_OUTPUTS))
    )


def dummy_inputs(signature: Signature) -> Dict[str, List]:
    """One all-zero row for every input (dynamic dimensions of size 1): enough to call `metadata`."""
    inputs = {}  # type: Dict[str, List]
    for name, spec in signature.inputs.items():
        shape = spec.shape if spec.shape is not None else [-1]
        value = 0  # type: Any
        for size in reversed(shape[1:]):
            value = [value] * (size if size > 0 else 1)
        inputs[name] = [value]
    return inputs
