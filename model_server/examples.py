"""Classify and Regress: the tf.Example based APIs (contract 7.2, 9).

REST bodies become an `Input` proto (TFS's JSON -> Example rules), the Input
becomes a string tensor of serialized Examples (context merged in by
concatenating serialized protos, as TFS does), the signature runs through the
version's runner (so it is batched too), and its `classes`/`scores` or
`outputs` tensors become ClassificationResult / RegressionResult.
"""

import numpy as np
from tensorflow_serving.apis import classification_pb2, input_pb2, regression_pb2

from bert_contract import DEFAULT_SIGNATURE
from model_server.errors import ServingError, invalid_argument
from model_server.tensor_json import check_lossless, decode_b64, dump, is_b64_object, json_type

CLASSIFY, REGRESS = "tensorflow/serving/classify", "tensorflow/serving/regress"
_DT_STRING, _DT_FLOAT = 7, 1

# ---------------------------------------------------------------- JSON -> Input


def input_from_json(doc, api):
    """The Input of a REST classify/regress body (`context` optional, `examples` required)."""
    examples = doc.get("examples")
    if examples is None:
        raise invalid_argument("JSON Value: %s When method is %s, key 'examples' is expected and was not found"
                               % (dump(doc), api))
    if not isinstance(examples, list):
        raise invalid_argument("JSON Value: %s Expecting 'examples' value to be an list/array" % dump(doc))
    if not examples:
        raise invalid_argument("JSON Value: %s 'examples' value is an empty array" % dump(doc))
    result = input_pb2.Input()
    if "context" in doc:
        target = result.example_list_with_context
        _example_from_json(doc["context"], target.context)
    else:
        target = result.example_list
    for value in examples:
        _example_from_json(value, target.examples.add())
    return result


def _example_from_json(value, example):
    if not isinstance(value, dict):
        raise invalid_argument("Example must be JSON object but got JSON %s" % json_type(value))
    for name, content in value.items():
        feature = example.features.feature[name]
        for item in content if isinstance(content, list) else [content]:
            _add_value(item, name, feature)


def _add_value(value, name, feature):
    if value is None or isinstance(value, list) or (isinstance(value, dict) and not is_b64_object(value)):
        raise invalid_argument("Feature: %s has element with unexpected JSON type: %s" % (name, json_type(value)))
    if isinstance(value, bool):
        _kind(feature, "int64_list", name).value.append(1 if value else 0)
    elif isinstance(value, dict):
        _kind(feature, "bytes_list", name).value.append(decode_b64(value))
    elif isinstance(value, str):
        _kind(feature, "bytes_list", name).value.append(value.encode("utf-8"))
    elif isinstance(value, float):
        check_lossless(value, _DT_FLOAT)
        _kind(feature, "float_list", name).value.append(value)
    else:
        if not -2 ** 63 <= value < 2 ** 63:
            raise invalid_argument("Feature: %s has uint64 element. Only int64 is supported." % name)
        _kind(feature, "int64_list", name).value.append(value)


def _kind(feature, kind, name):
    current = feature.WhichOneof("kind")
    if current not in (None, kind):
        raise invalid_argument("Unexpected element type in feature: %s expecting type: %s"
                               % (name, current.split("_")[0]))
    return getattr(feature, kind)


# ---------------------------------------------------------------- running

def serialized_examples(input_proto):
    """Input -> 1-D object ndarray of serialized Examples (context merged into each)."""
    kind = input_proto.WhichOneof("kind")
    if kind == "example_list":
        rows = [example.SerializeToString() for example in input_proto.example_list.examples]
    elif kind == "example_list_with_context":
        context = input_proto.example_list_with_context.context.SerializeToString()
        rows = [context + example.SerializeToString()
                for example in input_proto.example_list_with_context.examples]
    else:
        rows = []
    if not rows:
        raise invalid_argument("Input is empty")
    array = np.empty(len(rows), dtype=object)
    array[:] = rows
    return array


# TFS's --enable_signature_method_name_check (default false, as in TF Serving 2.x): when off, any
# signature with the classify/regress aliases serves Classify/Regress, e.g. TF2-written ones, whose
# method_name is always predict. A process-wide setting, as TFS's SetSignatureMethodNameCheckFeature.
method_name_check = False


def _signature(runner, signature_name, method):
    signature_name = signature_name or DEFAULT_SIGNATURE
    signature = runner.servable.signatures.get(signature_name)
    if signature is None:
        raise invalid_argument("No signature was found with the name: %s" % signature_name)
    if method_name_check and signature.method_name != method:
        what = "classification" if method == CLASSIFY else "regression"
        raise invalid_argument("Expected %s signature method_name to be %s. Was: %s"
                               % (what, method, signature.method_name))
    return signature_name, signature


def _input_alias(signature, what):
    if len(signature.inputs) != 1:
        raise invalid_argument("Expected one input Tensor.")
    if "inputs" not in signature.inputs:
        raise invalid_argument("No %s inputs found in SignatureDef: %s" % (what, signature))
    return "inputs"


def start_classify(runner, signature_name, input_proto, deadline=None):
    """Submit a Classify; returns (resolved signature name, finish) where finish(outputs) -> result."""
    signature_name, signature = _signature(runner, signature_name, CLASSIFY)
    alias = _input_alias(signature, "classification")
    if not 1 <= len(signature.outputs) <= 2:
        raise invalid_argument("Expected one or two output Tensors, found %d" % len(signature.outputs))
    wanted = [name for name in ("classes", "scores") if name in signature.outputs]
    if not wanted:
        raise invalid_argument('Expected classification signature outputs to contain at least one of "classes" '
                               'or "scores". Signature was: %s' % signature)
    if "classes" in wanted and signature.outputs["classes"].dtype != _DT_STRING:
        raise invalid_argument("Expected classes Tensor of DT_STRING.")
    if "scores" in wanted and signature.outputs["scores"].dtype != _DT_FLOAT:
        raise invalid_argument("Expected scores Tensor of DT_FLOAT.")
    inputs = {alias: serialized_examples(input_proto)}
    future = runner.submit(signature_name, inputs, tuple(wanted), deadline)
    return signature_name, future, lambda outputs: classification_result(outputs, len(inputs[alias]))


def start_regress(runner, signature_name, input_proto, deadline=None):
    """Submit a Regress; returns (resolved signature name, future, finish)."""
    signature_name, signature = _signature(runner, signature_name, REGRESS)
    alias = _input_alias(signature, "regression")
    if len(signature.outputs) != 1:
        raise invalid_argument("Expected one output Tensor.")
    output = "outputs"
    if output not in signature.outputs:
        raise invalid_argument("No regression outputs found in SignatureDef: %s" % signature)
    if signature.outputs[output].dtype != _DT_FLOAT:
        raise invalid_argument("Expected output Tensor of DT_FLOAT.")
    inputs = {alias: serialized_examples(input_proto)}
    future = runner.submit(signature_name, inputs, (output,), deadline)
    return signature_name, future, lambda outputs: regression_result(outputs[output], len(inputs[alias]))


def classification_result(outputs, batch):
    classes, scores = outputs.get("classes"), outputs.get("scores")
    for name, array in (("classes", classes), ("scores", scores)):
        if array is not None and (array.ndim != 2 or array.shape[0] != batch):
            raise invalid_argument("Expected Tensor shape: [batch_size num_classes] but got %s for %s"
                                   % (list(array.shape), name))
    if classes is not None and scores is not None and classes.shape != scores.shape:
        raise invalid_argument("Tensors class and score should match in shape. Got %s vs. %s"
                               % (list(classes.shape), list(scores.shape)))
    width = (classes if classes is not None else scores).shape[1]
    result = classification_pb2.ClassificationResult()
    for row in range(batch):
        classification = result.classifications.add()
        for column in range(width):
            entry = classification.classes.add()
            if classes is not None:
                entry.label = _text(classes[row, column])
            if scores is not None:
                entry.score = float(scores[row, column])
    return result


def regression_result(values, batch):
    if not (values.ndim == 1 or (values.ndim == 2 and values.shape[1] == 1)) or values.shape[0] != batch:
        raise invalid_argument("Expected output Tensor shape to be either [batch_size] or [batch_size, 1] "
                               "but got %s" % list(values.shape))
    result = regression_pb2.RegressionResult()
    for value in values.reshape(-1):
        result.regressions.add().value = float(value)
    return result


def _text(value):
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else str(value)


# ---------------------------------------------------------------- results -> JSON

def classify_json(result):
    return {"results": [[[c.label, c.score] for c in item.classes] for item in result.classifications]}


def regress_json(result):
    return {"results": [item.value for item in result.regressions]}


def check_multi_inference(request):
    """TFS's rules for MultiInference tasks: one model, distinct signatures, classify/regress only."""
    if not request.tasks:
        raise invalid_argument("Must specify at least one task")
    names = {task.model_spec.name for task in request.tasks}
    if len(names) != 1:
        raise invalid_argument("All ModelSpecs in a MultiInferenceRequest must access the same model name.")
    signatures = [task.model_spec.signature_name or DEFAULT_SIGNATURE for task in request.tasks]
    if len(set(signatures)) != len(signatures):
        raise invalid_argument("Duplicate evaluation of signature: %s" % signatures)
    for task in request.tasks:
        if task.method_name not in (CLASSIFY, REGRESS):
            raise ServingError("UNIMPLEMENTED", "Unsupported signature method_name: %s" % task.method_name)
    return names.pop()

