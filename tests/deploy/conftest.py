"""Fixtures for the deployment tests: the serving configs parsed with protobuf, the manifests."""

import os
import subprocess
import sys

import pytest
from deploy_files import load_yaml, parse_text_config

PROTO_DIR = os.path.join(os.path.dirname(__file__), "protos")
MIRROR_PROTO = "serving_config_mirror.proto"


@pytest.fixture(scope="session")
def tfs_messages(tmp_path_factory):
    """MonitoringConfig and BatchingParameters classes, compiled from protos/ by protoc.

    They live in a private descriptor pool, so they cannot clash with other definitions of the
    same TF Serving messages loaded elsewhere in the test session.
    """
    pytest.importorskip("grpc_tools")
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
    from grpc_tools import protoc

    include = os.path.join(os.path.dirname(protoc.__file__), "_proto")
    out = str(tmp_path_factory.mktemp("tfs_protos") / "mirror.pb")
    # protoc in a subprocess, so that its error output ends up in the assertion message.
    result = subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", "-I" + PROTO_DIR, "-I" + include,
         "--include_imports", "--descriptor_set_out=" + out, MIRROR_PROTO],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, "protoc failed on %s:\n%s" % (MIRROR_PROTO, result.stderr)

    with open(out, "rb") as handle:
        files = descriptor_pb2.FileDescriptorSet.FromString(handle.read()).file
    pool = descriptor_pool.DescriptorPool()
    for file_proto in files:
        pool.Add(file_proto)
    factory = message_factory.MessageFactory(pool)
    return {name: factory.GetPrototype(pool.FindMessageTypeByName("tensorflow.serving." + name))
            for name in ("MonitoringConfig", "BatchingParameters")}


@pytest.fixture(scope="session")
def model_server_config():
    """configs/models.config as TF Serving's own ModelServerConfig (tensorflow-serving-api)."""
    pb2 = pytest.importorskip("tensorflow_serving.config.model_server_config_pb2")
    return parse_text_config("models.config", pb2.ModelServerConfig())


@pytest.fixture(scope="session")
def batching(tfs_messages):
    return parse_text_config("batching.config", tfs_messages["BatchingParameters"]())


@pytest.fixture(scope="session")
def monitoring(tfs_messages):
    return parse_text_config("monitoring.config", tfs_messages["MonitoringConfig"]())


@pytest.fixture(scope="session")
def served_model(model_server_config):
    """The one model of models.config."""
    (config,) = model_server_config.model_config_list.config
    return config


@pytest.fixture(scope="session")
def deployment():
    (doc,) = load_yaml("deploy", "serving", "base", "deployment.yaml")
    return doc


@pytest.fixture(scope="session")
def serving_container(deployment):
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return container
