"""One export contract: the export, the local server and the client agree with `bert_contract`.

The expected signatures are written from `bert_contract`'s names alone; each
side is then read the way its users read it: the SavedModel as
`saved_model_cli show --all` prints it, the server's REST metadata response,
and the client's parsed layout and model info.
"""

import json
import os
import re
import subprocess
import sys

import pytest
import requests

import bert_contract as contract

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MODEL = "contract"


def expected_signatures(max_seq_length, num_labels):
    """{signature: {"inputs"|"outputs": {name: (dtype, shape)}}} from the contract's names."""
    int_dtype = "DT_" + contract.INPUT_DTYPE.upper()
    inputs = {name: (int_dtype, [-1, max_seq_length]) for name in contract.FEATURE_INPUTS}
    inputs[contract.LABEL_IDS] = (int_dtype, [-1])
    assert set(inputs) == set(contract.SERVING_INPUTS)
    return {
        contract.DEFAULT_SIGNATURE: {"inputs": inputs, "outputs": {contract.SERVING_OUTPUT: ("DT_FLOAT", [-1, num_labels])}},
        contract.METADATA_SIGNATURE: {"inputs": inputs, "outputs": {contract.METADATA_OUTPUT: ("DT_STRING", [-1])}},
        contract.VOCAB_SIGNATURE: {"inputs": inputs, "outputs": {contract.VOCAB_OUTPUT: ("DT_STRING", [-1])}},
    }


_CLI_TENSOR = re.compile(r"(inputs|outputs)\['([^']+)'\] tensor_info:\s+dtype: (\w+)\s+shape: \(([^)]*)\)")


def cli_signatures(export_path):
    """The signatures as `saved_model_cli show --all` prints them."""
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    shown = subprocess.run(
        [cli, "show", "--dir", export_path, "--all"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        universal_newlines=True,
        check=True,
    ).stdout
    signatures = {}
    for block in shown.split("signature_def['")[1:]:
        name, body = block.split("']:", 1)
        tensors = {"inputs": {}, "outputs": {}}
        for kind, tensor, dtype, shape in _CLI_TENSOR.findall(body):
            tensors[kind][tensor] = (dtype, [int(d) for d in shape.replace(" ", "").split(",") if d])
        signatures[name] = tensors
    return signatures


def rest_signatures(body):
    """The signatures of a TF Serving REST metadata response."""
    defs = body["metadata"]["signature_def"]["signature_def"]
    return {
        name: {
            kind: {
                tensor: (spec["dtype"], [int(d["size"]) for d in spec["tensor_shape"]["dim"]])
                for tensor, spec in sig[kind].items()
            }
            for kind in ("inputs", "outputs")
        }
        for name, sig in defs.items()
    }


def export_metadata_json(export_path, max_seq_length):
    """The `metadata` signature's first row, run on the SavedModel in-process."""
    import numpy as np
    import tensorflow.compat.v1 as tf

    with tf.Graph().as_default() as graph, tf.Session() as session:
        signature = tf.saved_model.loader.load(session, ["serve"], export_path).signature_def[contract.METADATA_SIGNATURE]
        feed = {
            graph.get_tensor_by_name(spec.name): np.zeros([1] + ([max_seq_length] if name != contract.LABEL_IDS else []), np.int32)
            for name, spec in signature.inputs.items()
        }
        output = graph.get_tensor_by_name(signature.outputs[contract.METADATA_OUTPUT].name)
        return session.run(output, feed)[0].decode("utf-8")


def test_the_contract_package_imports_no_tensorflow():
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; before = set(sys.modules); import bert_contract; print(' '.join(set(sys.modules) - before))",
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        universal_newlines=True,
        check=True,
    ).stdout.split()
    assert "bert_contract" in loaded
    heavy = [m for m in loaded if m.split(".")[0] in ("tensorflow", "tensorflow_core", "numpy", "grpc", "google")]
    assert heavy == []


@pytest.mark.needs_tf
def test_export_server_and_client_agree_with_the_contract(trained_tiny_model):
    from model_servers import running_server
    from serving_client import ServingClient
    from serving_client._metadata import bert_layout, parse_metadata

    export_path = trained_tiny_model["export_path"]
    length = trained_tiny_model["options"].max_seq_length
    expected = expected_signatures(length, num_labels=2)

    # The SavedModel, as saved_model_cli shows it.
    assert cli_signatures(export_path) == expected

    # Its metadata JSON is a ModelInfo of the current schema, and round-trips.
    raw = export_metadata_json(export_path, length)
    info = contract.ModelInfo.from_json(raw)
    assert set(json.loads(raw)) == set(contract.ModelInfo._fields)
    assert contract.ModelInfo.from_json(info.to_json()) == info
    assert (info.schema_version, info.task_kind) == (contract.METADATA_SCHEMA_VERSION, contract.SEQUENCE_CLASSIFICATION)
    assert (info.labels, info.max_seq_length) == (["neg", "pos"], length)
    assert info.vocab_sha256 == contract.file_sha256(trained_tiny_model["vocab_file"])

    args = ["--model_name=%s" % MODEL, "--model_base_path=%s" % os.path.dirname(export_path)]
    with running_server(args, timeout=180.0) as server:
        # The local server's REST metadata response.
        body = requests.get(server.rest_url + "/v1/models/%s/metadata" % MODEL, timeout=60).json()
        assert rest_signatures(body) == expected

        # The client's reading of the same response, and of the model's metadata.
        signature = parse_metadata(body).signatures[contract.DEFAULT_SIGNATURE]
        layout = bert_layout(signature, contract.DEFAULT_SIGNATURE)
        assert layout.sequence_length == length
        assert layout.input_names == list(contract.FEATURE_INPUTS) + [contract.LABEL_IDS]
        assert layout.output_name == contract.SERVING_OUTPUT
        with ServingClient(server.rest_url, MODEL, trained_tiny_model["vocab_file"]) as client:
            client.load()
            assert client.model_info == info
