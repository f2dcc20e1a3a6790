"""Fixtures for the pretrained tests: tiny Hugging Face checkpoints and the real converted model."""

import json
import os
import subprocess

import hf_reference
import pytest

from featurizer import load_vocab

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
BUILDER = os.path.join(HERE, "..", "helpers", "hf_tiny_models.py")


@pytest.fixture
def tiny_hf(tmp_path, tiny_vocab_file):
    """Factory: writes a tiny HF BERT directory; returns (dir, config, weights as written)."""

    def make(name="hf", weights=None, edit=None, **config_overrides):
        config = hf_reference.tiny_hf_config(len(load_vocab(tiny_vocab_file)), **config_overrides)
        weights = hf_reference.tiny_hf_weights(config) if weights is None else weights
        if edit:
            weights = edit(weights)
        directory = hf_reference.write_hf_dir(str(tmp_path / name), tiny_vocab_file, config, weights)
        return directory, config, weights

    return make


@pytest.fixture(scope="session")
def real_minilm():
    """The converted all-MiniLM-L6-v2 from `python -m pretrained fetch`; skips when absent."""
    from pretrained.convert_hf import read_manifest
    from pretrained.fetch import ALL_MINILM_L6_V2, HF_SUBDIR, default_cache_dir, is_complete

    cache_dir = default_cache_dir()
    manifest = read_manifest(cache_dir)
    if not is_complete(manifest, cache_dir, ALL_MINILM_L6_V2):
        pytest.skip("all-MiniLM-L6-v2 is not converted in %s (run `python -m pretrained fetch`)" % cache_dir)
    return dict(manifest, hf_dir=os.path.join(cache_dir, HF_SUBDIR))


@pytest.fixture(scope="session")
def hf_models(tf2_python, tiny_vocab_file, tmp_path_factory):
    """expected.json of the TF 2.x side: model directories, transformers' input ids and outputs."""
    root = tmp_path_factory.mktemp("hf_models")
    spec = {"vocab_file": tiny_vocab_file, "texts": hf_reference.TEXTS, "pairs": hf_reference.PAIRS,
            "minilm_texts": hf_reference.MINILM_TEXTS}
    minilm = os.path.join(REPO, "cache", "pretrained", "all-MiniLM-L6-v2", "hf")
    if os.path.isfile(os.path.join(minilm, "model.safetensors")):
        spec["minilm_dir"] = minilm
    with open(str(root / "spec.json"), "w") as f:
        json.dump(spec, f)
    result = subprocess.run([tf2_python, BUILDER, str(root / "spec.json"), str(root)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, universal_newlines=True)
    assert result.returncode == 0, result.stdout[-4000:]
    with open(str(root / "expected.json")) as f:
        return json.load(f)
