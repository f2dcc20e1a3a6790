"""Paths and readers of the repository files the deployment tests check."""

import os

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def repo_path(*parts):
    return os.path.join(REPO, *parts)


def read_text(*parts):
    with open(repo_path(*parts)) as handle:
        return handle.read()


def load_yaml(*parts):
    """The YAML documents of a repository file (empty documents dropped)."""
    yaml = pytest.importorskip("yaml")

    with open(repo_path(*parts)) as handle:
        return [doc for doc in yaml.safe_load_all(handle) if doc is not None]


def parse_text_config(filename, message):
    """Parses configs/<filename> into `message` as TF Serving does (protobuf text format)."""
    from google.protobuf import text_format

    try:
        return text_format.Parse(read_text("configs", filename), message)
    except text_format.ParseError as exc:
        pytest.fail("configs/%s: %s" % (filename, exc))
