"""Fixtures for the deployment tests: the serving configs parsed with protobuf, the manifests.

The protobuf fixtures are used by needs_tf tests only (the Python 3.7 venv has the modules).
"""

import pytest
from deploy_files import load_yaml, parse_text_config


@pytest.fixture(scope="session")
def model_server_config():
    """configs/models.config as TF Serving's own ModelServerConfig (tensorflow-serving-api)."""
    from tensorflow_serving.config import model_server_config_pb2

    return parse_text_config("models.config", model_server_config_pb2.ModelServerConfig())


# tensorflow-serving-api ships no generated modules for these two messages (neither 1.15.0 nor
# the 2.x wheels): the local model server declares them with TF Serving's package, message and
# field names (model_server/protos), which is all protobuf text format matches on.
@pytest.fixture(scope="session")
def batching_parameters_cls():
    from model_server.protos.batching_parameters_pb2 import BatchingParameters

    return BatchingParameters


@pytest.fixture(scope="session")
def batching(batching_parameters_cls):
    return parse_text_config("batching.config", batching_parameters_cls())


@pytest.fixture(scope="session")
def monitoring():
    from model_server.protos.monitoring_config_pb2 import MonitoringConfig

    return parse_text_config("monitoring.config", MonitoringConfig())


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
