"""Server test fixtures: toy SavedModels (built once) and servers on free loopback ports.

Tests talk to servers only over HTTP and gRPC, so they also run against a real
`tensorflow_model_server`: the `impl` fixture yields "local" and, when the TFS
binary is on PATH, "tfs" (skipped otherwise). Tests of local-only extras use
`local_only`.
"""

import os
import shutil

import grpc
import pytest
import requests

import toy_savedmodel as toy_models

TFS = "tensorflow_model_server"
MONITORING = 'prometheus_config { enable: true, path: "/monitoring/prometheus/metrics" }\n'


@pytest.fixture(scope="session", params=["local", "tfs"])
def impl(request):
    """Which server implementation the test drives."""
    if request.param == "tfs" and shutil.which(TFS) is None:
        pytest.skip("tensorflow_model_server is not on PATH")
    return None if request.param == "local" else TFS


@pytest.fixture(scope="session")
def toy_export(tmp_path_factory):
    """Base path with toy version 1 (L = 4, two warm-up records), built once."""
    pytest.importorskip("tensorflow")
    base = tmp_path_factory.mktemp("toy_export")
    toy_models.build(base, 1, warmup_records=2)
    return str(base)


@pytest.fixture(scope="session")
def version_source(tmp_path_factory):
    """Prebuilt versions (bias = version / 10) to copy into per-test base paths."""
    pytest.importorskip("tensorflow")
    root = tmp_path_factory.mktemp("toy_versions")
    for version in (1, 2, 3):
        toy_models.build(root, version, bias=version / 10.0)
    return str(root)


@pytest.fixture
def fresh_base(tmp_path, version_source):
    """A base path for one test plus a function to add prebuilt versions to it."""
    base = tmp_path / "models"
    base.mkdir()

    def add(version, source_version=None):
        source = os.path.join(version_source, str(source_version or version))
        temp = base / ("temp-%d" % version)
        shutil.copytree(source, str(temp))
        os.rename(str(temp), str(base / str(version)))
        return str(base / str(version))

    return str(base), add


def write(path, text):
    with open(str(path), "w") as f:
        f.write(text)
    return str(path)


@pytest.fixture(scope="session")
def monitoring_file(tmp_path_factory):
    return write(tmp_path_factory.mktemp("monitoring") / "monitoring.config", MONITORING)


@pytest.fixture(scope="session")
def toy_server(impl, toy_export, monitoring_file, tmp_path_factory):
    """One server for the read-only tests: model "toy", REST + gRPC (TCP and UNIX socket), metrics, CORS."""
    from model_servers import running_server

    socket_path = str(tmp_path_factory.mktemp("grpc_socket") / "grpc.sock")
    with running_server(["--model_name=toy", "--model_base_path=" + toy_export, "--grpc_socket_path=" + socket_path,
                         "--rest_api_enable_cors_support=true", "--monitoring_config_file=" + monitoring_file],
                        binary=impl) as server:
        server.socket_path = socket_path
        yield server


@pytest.fixture
def local_only(impl):
    if impl is not None:
        pytest.skip("local server extra")


class Rest(object):
    """Tiny REST client for the tests: JSON in, (status, JSON) out."""

    def __init__(self, base_url):
        self.base_url = base_url
        self.session = requests.Session()

    def get(self, path):
        response = self.session.get(self.base_url + path, timeout=60)
        return response.status_code, response.json()

    def post(self, path, body=None, data=None, headers=None):
        response = self.session.post(self.base_url + path, json=body, data=data, headers=headers, timeout=60)
        return response.status_code, response.json()

    def request(self, method, path, data=None, headers=None):
        return self.session.request(method, self.base_url + path, data=data, headers=headers, timeout=60)


@pytest.fixture
def rest(toy_server):
    return Rest(toy_server.rest_url)


@pytest.fixture
def grpc_channel(toy_server):
    channel = grpc.insecure_channel(toy_server.grpc_target)
    try:
        yield channel
    finally:
        channel.close()


def metric_value(text, name, **labels):
    """Sum of the samples called `name` whose labels include `labels`."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name) or line.startswith("#"):
            continue
        head, _, value = line.rpartition(" ")
        sample, _, label_text = head.partition("{")
        if sample != name:
            continue
        if all('%s="%s"' % (k, v) in label_text for k, v in labels.items()):
            total += float(value)
    return total
