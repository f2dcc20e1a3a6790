"""Serverless fixtures: the tiny token classifier exported with --export_onnx (TF 1.15 venv).

The classifier (`tiny_export`) and its model server (`model_server`) are
tests/conftest.py's, shared with the gateway tests.
"""

import pytest

from loopback import build_tiny_export  # tests/helpers


@pytest.fixture(scope="session")
def tiny_tagger_export(py37, tmp_path_factory) -> dict:
    return build_tiny_export(py37, str(tmp_path_factory.mktemp("tiny_tagger_export")), "--ner", "--onnx")
