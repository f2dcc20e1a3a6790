"""`pip install ".[grpc]"` into a clean venv on the machine's Python 3: no TensorFlow, and it predicts.

The package must install only the client (bert_contract, featurizer, heap_release, serving_client, tagging,
and the text gateway and Lambda handler, whose web packages come only with the `gateway` extra)
and its gRPC transport must work without tensorflow-serving-api, which depends on
TensorFlow. The venv uses the pinned requirements-client.txt and pip's cache; the
server it talks to is the local model server from this (Python 3.7) venv.
"""

import json
import os
import shutil
import subprocess
import sys

import pytest

pytestmark = pytest.mark.needs_tf

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# pyproject.toml: [tool.setuptools.packages.find]
CLIENT_PACKAGES = ["bert_contract", "featurizer", "heap_release", "serving_client", "tagging", "text_api", "text_gateway",
                   "text_lambda"]
MODEL = "tiny"
TEXTS = ["the movie was good", "awful film , i hate it", "lovely day"]

# Runs in the clean venv, outside the repository: predicts over gRPC, then reports
# what got imported and what the installed distribution contains.
CLIENT_SCRIPT = r"""
import importlib.metadata, importlib.util, json, sys
from serving_client import ServingClient
url, model, vocab = sys.argv[1:4]
texts = json.loads(sys.argv[4])
with ServingClient(url, model, vocab) as client:
    predictions = [p.probabilities for p in client.predict_batch(texts)]
dist = importlib.metadata.distribution("bert-tf1-pipeline")
print(json.dumps({
    "predictions": predictions,
    "imported": sorted({m.split(".")[0] for m in sys.modules}),
    "top_level": sorted({f.parts[0] for f in dist.files if not f.parts[0].endswith(".dist-info") and f.parts[0] != ".."}),
    "scripts": sorted(e.name for e in dist.entry_points if e.group == "console_scripts"),
    "tensorflow_installed": [n for n in ("tensorflow", "tensorflow_serving") if importlib.util.find_spec(n)],
    "distributions": sorted(d.metadata["Name"].lower() for d in importlib.metadata.distributions()),
}))
"""


def client_python():
    """The machine's Python 3 (CLIENT_PYTHON, as in the Makefile), not this venv's 3.7."""
    found = shutil.which(os.environ.get("CLIENT_PYTHON", "python3"), path=os.environ.get("PATH", "").replace(
        os.path.dirname(sys.executable) + os.pathsep, ""))
    assert found, "no python3 on PATH for the client venv (set CLIENT_PYTHON)"
    return found


@pytest.fixture(scope="module")
def client_venv(tmp_path_factory):
    venv = str(tmp_path_factory.mktemp("client-venv") / "venv")
    python = client_python()
    subprocess.run([python, "-m", "venv", "--without-pip", venv], check=True)
    venv_python = os.path.join(venv, "bin", "python")
    # The machine's pip installs into the venv (--python): no pip bootstrap per run, pip's cache reused.
    subprocess.run([python, "-m", "pip", "--python", venv_python, "install", "--quiet", "--disable-pip-version-check",
                    "-c", os.path.join(REPO, "requirements-client.txt"), REPO + "[grpc]"], check=True, cwd=REPO)
    return venv_python


def test_grpc_client_installs_and_predicts_without_tensorflow(client_venv, trained_tiny_model, tmp_path):
    from model_servers import running_server
    from serving_client import ServingClient

    export_path = trained_tiny_model["export_path"]
    vocab = trained_tiny_model["vocab_file"]
    args = ["--model_name=%s" % MODEL, "--model_base_path=%s" % os.path.dirname(export_path)]
    with running_server(args, timeout=180.0) as server:
        environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        result = subprocess.run([client_venv, "-c", CLIENT_SCRIPT, "grpc://" + server.grpc_target, MODEL, vocab,
                                 json.dumps(TEXTS)], cwd=str(tmp_path), env=environment, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, universal_newlines=True, timeout=120)
        assert result.returncode == 0, result.stderr
        with ServingClient(server.rest_url, MODEL, vocab) as rest_client:
            over_rest = [p.probabilities for p in rest_client.predict_batch(TEXTS)]
    report = json.loads(result.stdout)
    assert report["tensorflow_installed"] == []
    assert not [m for m in report["imported"] if m.startswith("tensorflow")], report["imported"]
    assert "grpc" in report["imported"]
    assert not [d for d in report["distributions"] if d.startswith("tensorflow")], report["distributions"]
    assert report["top_level"] == CLIENT_PACKAGES
    assert report["scripts"] == ["bert-classify", "text_gateway"]
    for over_grpc, rest in zip(report["predictions"], over_rest):
        assert over_grpc == pytest.approx(rest, abs=1e-6)
