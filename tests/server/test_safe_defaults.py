"""Safe defaults: loopback-only listening sockets, and no unsafe Python constructs in the project's code."""

import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PACKAGES = ["model_server", "serving_client", "featurizer", "bert_runner", "export", "pretrained"]
UNSAFE = [
    ("pickle (loading it runs code)", re.compile(r"\b(c?pickle|dill|cloudpickle)\b")),
    ("eval(", re.compile(r"(?<![\w.])eval\s*\(")),
    ("exec(", re.compile(r"(?<![\w.])exec\s*\(")),
    ("yaml.load( without SafeLoader", re.compile(r"\byaml\s*\.\s*(unsafe_)?load(_all)?\s*\((?!.*SafeLoader)")),
    ("shell=True", re.compile(r"shell\s*=\s*True")),
]
LISTEN = "0A"
# Loopback as /proc/net/tcp* writes it: 127.0.0.1, ::ffff:127.0.0.1 (gRPC's IPv4-mapped socket), ::1.
LOOPBACK = {"0100007F", "0000000000000000FFFF00000100007F", "00000000000000000000000001000000"}


def python_files():
    for package in PACKAGES:
        for directory, _, names in os.walk(os.path.join(ROOT, package)):
            for name in names:
                if name.endswith(".py") and not name.endswith("_pb2.py") and not name.endswith("_pb2_grpc.py"):
                    yield os.path.join(directory, name)


def test_project_sources_use_no_unsafe_constructs():
    files = list(python_files())
    assert len(files) > 20, "the project packages were not found under %s" % ROOT
    findings = []
    for path in files:
        with open(path, encoding="utf-8") as f:
            for number, line in enumerate(f, 1):
                for what, pattern in UNSAFE:
                    if pattern.search(line.split("#", 1)[0]):
                        findings.append("%s:%d: %s: %s" % (os.path.relpath(path, ROOT), number, what, line.strip()))
    assert findings == []


def test_patterns_catch_what_they_should_and_spare_model_eval():
    flagged = ["import pickle", "eval('1')", "x = exec(code)", "yaml.load(f)", "yaml.load(f, Loader=yaml.Loader)",
               "subprocess.run(cmd, shell=True)"]
    spared = ["model.eval()", "estimator.evaluate(x)", "yaml.load(f, Loader=yaml.SafeLoader)", "yaml.safe_load(f)",
              "run_eval(x)", "executor.submit(fn)"]
    assert all(any(p.search(line) for _, p in UNSAFE) for line in flagged)
    assert not any(p.search(line) for line in spared for _, p in UNSAFE)


def listening_addresses(port):
    """Local addresses (hex, as in /proc/net/tcp*) of sockets listening on `port`."""
    addresses = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            continue
        with open(table) as f:
            for row in f.readlines()[1:]:
                fields = row.split()
                address, port_hex = fields[1].rsplit(":", 1)
                if int(port_hex, 16) == port and fields[3] == LISTEN:
                    addresses.append(address)
    return addresses


@pytest.mark.needs_tf
def test_default_bind_is_loopback_on_both_ports(toy_server, local_only):
    if not os.path.exists("/proc/net/tcp"):
        pytest.skip("needs Linux /proc/net/tcp")
    for port in (toy_server.grpc_port, toy_server.rest_port):
        addresses = listening_addresses(port)
        assert addresses, "nothing listens on port %d" % port
        assert set(addresses) <= LOOPBACK, (port, addresses)  # 0.0.0.0 or :: would be every interface
