"""Parsing TF Serving's metadata JSON and reading a BERT signature's layout from it."""

import pytest

from client_fakes import bert_signature, metadata_body, tensor
from serving_client._metadata import bert_layout, dummy_inputs, parse_metadata


def test_fixed_sequence_length():
    metadata = parse_metadata(metadata_body("sms", 1700000002, {"serving_default": bert_signature(128)}))
    assert metadata.name == "sms" and metadata.version == 1700000002
    signature = metadata.signatures["serving_default"]
    assert signature.inputs["input_ids"].shape == [-1, 128]
    assert signature.inputs["label_ids"].shape == [-1]
    layout = bert_layout(signature, "serving_default")
    assert layout.sequence_length == 128
    assert layout.input_names == ["input_ids", "input_mask", "segment_ids", "label_ids"]
    assert layout.output_name == "output"


def test_dynamic_sequence_length():
    signature = parse_metadata(metadata_body("m", 3, {"serving_default": bert_signature(-1)})).signatures["serving_default"]
    assert bert_layout(signature, "serving_default").sequence_length is None


def test_tf_serving_2_extras_and_missing_version_are_accepted():
    body = metadata_body("m", 3, {"serving_default": dict(bert_signature(8), defaults={})})
    body["model_spec"]["version"] = ""
    body["model_spec"]["extra"] = 1
    metadata = parse_metadata(body)
    assert metadata.version is None
    assert bert_layout(metadata.signatures["serving_default"], "serving_default").sequence_length == 8


def test_unknown_rank_counts_as_dynamic():
    sig = bert_signature(8)
    for name in ("input_ids", "input_mask", "segment_ids"):
        sig["inputs"][name] = {"dtype": "DT_INT64", "tensor_shape": {"unknown_rank": True}}
    signature = parse_metadata(metadata_body("m", 1, {"s": sig})).signatures["s"]
    assert bert_layout(signature, "s").sequence_length is None


def test_signature_without_label_ids_is_filled_without_it():
    sig = bert_signature(8)
    del sig["inputs"]["label_ids"]
    signature = parse_metadata(metadata_body("m", 1, {"s": sig})).signatures["s"]
    assert bert_layout(signature, "s").input_names == ["input_ids", "input_mask", "segment_ids"]


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda s: s["inputs"].pop("input_mask"), "lacks the input(s) input_mask"),
        (lambda s: s["inputs"].update(extra=tensor("DT_FLOAT", -1)), "needs input(s) extra"),
        (lambda s: s["inputs"].update(input_ids=tensor("DT_FLOAT", -1, 8)), "dtype DT_FLOAT"),
        (lambda s: s["inputs"].update(input_ids=tensor("DT_INT32", -1)), "expected [batch, sequence]"),
        (lambda s: s["inputs"].update(input_ids=tensor("DT_INT32", -1, 16)), "disagree on the sequence length"),
        (lambda s: s["outputs"].update(logits=tensor("DT_FLOAT", -1, 2), ids=tensor("DT_INT32", -1)), None),
        (lambda s: s.update(outputs={"a": tensor("DT_FLOAT", -1, 2), "b": tensor("DT_FLOAT", -1, 2)}), "cannot tell which"),
        (lambda s: s.update(outputs={"metadata_json": tensor("DT_STRING", -1)}), "dtype DT_STRING, not class probabilities"),
    ],
)
def test_layout_refuses_signatures_a_bert_client_cannot_fill(change, message):
    sig = bert_signature(8)
    change(sig)
    signature = parse_metadata(metadata_body("m", 1, {"s": sig})).signatures["s"]
    if message is None:  # several outputs, one of them the known name
        assert bert_layout(signature, "s").output_name == "output"
        return
    with pytest.raises(ValueError) as info:
        bert_layout(signature, "s")
    assert message in str(info.value)
    assert "'s'" in str(info.value)


@pytest.mark.parametrize(
    "body, message",
    [
        ({}, "missing model_spec"),
        ({"model_spec": {}}, "missing metadata"),
        ({"model_spec": {}, "metadata": {"signature_def": {}}}, "missing metadata.signature_def.signature_def"),
        ({"model_spec": {"version": "x"}, "metadata": {}}, "version is not a number"),
        (metadata_body("m", 1, {"s": {"inputs": {"a": {"dtype": 3}}}}), "inputs.a.dtype is not a JSON str"),
        (metadata_body("m", 1, {"s": {"inputs": {"a": {"dtype": "DT_INT32", "tensor_shape": {"dim": [{"size": "x"}]}}}}}), "non-numeric size"),
    ],
)
def test_malformed_metadata_names_the_field(body, message):
    with pytest.raises(ValueError) as info:
        parse_metadata(body)
    assert message in str(info.value)


def test_dummy_inputs_give_one_row_of_each_declared_shape():
    signature = parse_metadata(metadata_body("m", 1, {"s": bert_signature(4)})).signatures["s"]
    assert dummy_inputs(signature) == {
        "input_ids": [[0, 0, 0, 0]],
        "input_mask": [[0, 0, 0, 0]],
        "segment_ids": [[0, 0, 0, 0]],
        "label_ids": [0],
    }
    dynamic = parse_metadata(metadata_body("m", 1, {"s": bert_signature(-1)})).signatures["s"]
    assert dummy_inputs(dynamic)["input_ids"] == [[0]]
