"""The 15 s soak (bench/soak.py) in CI: legit requests all succeed through swaps, faults and hostile traffic,
and after each abuse phase (3 s each) the server's threads, fds and RSS come back; and a 10 s soak with the
text gateway in front (--gateway)."""

import os
import subprocess

import pytest

import bench_modules  # tests/helpers

pytestmark = pytest.mark.needs_tf


def test_fifteen_second_soak_has_no_legit_failures_and_no_5xx(tmp_path):
    pytest.importorskip("tensorflow")
    soak = bench_modules.load("soak")

    root = tmp_path / "soak"
    root.mkdir()
    runner = soak.Soak(str(root), seconds=15, concurrency=64, window_seconds=5)
    summary = runner.run(runner.build(), phase_seconds=3, settle_seconds=25)
    # Each abuse alone, then threads, fds and RSS back within 10 % of the idle baseline.
    assert [p["phase"].split(" (")[0] for p in summary["phases"]] == [
        "reload storm", "hostile bodies", "gzip bombs", "slow clients"]
    for phase in summary["phases"]:
        assert phase["back_within_10pct"] and phase["legit_after"] == 200, phase
    assert len(summary["windows"]) == 3 and all(w["failed"] == 0 and w["end"] for w in summary["windows"])
    assert summary["legit_requests"] > 0
    assert summary["legit_failed"] == 0, (summary["legit_first_error"], summary["legit_errors"])
    assert summary["hostile_5xx"] == 0, summary["hostile"]
    assert summary["server_alive"]
    reload_event = next(e for e in summary["events"] if e["event"].startswith("reload"))
    assert reload_event["answer"] == "NOT_FOUND" and "does not exist" in reload_event["details"]
    assert all(summary["hostile"].get(kind + " " + code, 0) > 0 for kind, code in
               [("bad_ids", "400"), ("gzip_bomb", "413"), ("huge_declared_shape", "RESOURCE_EXHAUSTED")]), \
        summary["hostile"]
    assert summary["final_versions"]["5"] == "AVAILABLE"


def gateway_python():
    """The client venv's interpreter when it has the gateway's packages (make setup-gateway), else None."""
    python = soak_gateway_module().PYTHON
    if not os.path.exists(python):
        return None
    found = subprocess.run([python, "-c", "import starlette, uvicorn, prometheus_client"], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    return python if found.returncode == 0 else None


def soak_gateway_module():
    return bench_modules.load("soak_gateway")


def test_soak_with_the_gateway_in_front_has_no_legit_failures_and_no_5xx(tmp_path):
    """Legit texts through the gateway all get their known label sets through swaps, a corrupt version and a
    reload; hostile requests to it and the server get no 5xx; after each abuse phase threads and fds of both
    processes come back, RSS included (1 MB texts once left the gateway +30 %: the featurizer now reads a long
    text only as far as its kept pieces; bench/README.md)."""
    pytest.importorskip("tensorflow")
    python = gateway_python()
    if python is None:
        pytest.skip("no client venv with the gateway's packages (make setup-gateway)")
    soak = bench_modules.load("soak")

    root = tmp_path / "soak"
    root.mkdir()
    runner = soak.Soak(str(root), seconds=10, concurrency=32, window_seconds=5,
                       front=soak_gateway_module().GatewayFront(str(root), python))
    summary = runner.run(runner.build(), phase_seconds=1.5, settle_seconds=5)
    assert [p["phase"].split(" (")[0] for p in summary["phases"]][-3:] == [
        "gateway: 40 MB and chunked 2 MB bodies", "gateway: malformed requests", "gateway: slow clients"]
    for phase in summary["phases"]:
        assert phase["legit_after"] == 200, phase
    huge_bodies, malformed, slow = summary["phases"][-3:]
    for phase in (huge_bodies, malformed, slow):  # chunked 2 MB bodies: 1 MiB read, refused, trimmed
        assert phase["back_within_10pct"], phase
    assert len(summary["windows"]) == 2 and all(w["end"]["gateway"] for w in summary["windows"])
    assert summary["legit_requests"] > 0
    assert summary["legit_failed"] == 0, (summary["legit_first_error"], summary["legit_errors"])
    assert summary["hostile_5xx"] == 0, summary["hostile"]
    assert summary["server_alive"] and summary["gateway_alive"]
    # The gateway followed the swaps to the newest version and logged no error.
    assert summary["final_versions"]["5"] == "AVAILABLE" and summary["gateway_follows"], (
        summary["gateway_status"], summary["gateway_follow_wait_s"])
    assert not [line for line in summary["gateway_log_problems"] if " ERROR " in line or "Error" in line], \
        summary["gateway_log_problems"]
    assert all(summary["hostile"].get("gw_%s %s" % (kind, code), 0) > 0 for kind, code in
               [("malformed_json", "400"), ("deep_nesting", "400"), ("huge_body", "413"),
                ("unknown_route", "404"), ("unknown_route", "405"), ("oversize", "413")]), summary["hostile"]
