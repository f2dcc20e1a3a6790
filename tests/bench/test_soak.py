"""The 15 s soak (bench/soak.py) in CI: legit requests all succeed through swaps, faults and hostile traffic."""

import pytest

import bench_modules  # tests/helpers

pytestmark = pytest.mark.needs_tf


def test_fifteen_second_soak_has_no_legit_failures_and_no_5xx(tmp_path):
    pytest.importorskip("tensorflow")
    soak = bench_modules.load("soak")

    root = tmp_path / "soak"
    root.mkdir()
    runner = soak.Soak(str(root), seconds=15, concurrency=64)
    summary = runner.run(runner.build())
    assert summary["legit_requests"] > 0
    assert summary["legit_failed"] == 0, summary["legit_first_error"]
    assert summary["hostile_5xx"] == 0, summary["hostile"]
    assert summary["server_alive"]
    reload_event = next(e for e in summary["events"] if e["event"].startswith("reload"))
    assert reload_event["answer"] == "NOT_FOUND" and "does not exist" in reload_event["details"]
    assert all(summary["hostile"].get(kind + " " + code, 0) > 0 for kind, code in
               [("bad_ids", "400"), ("gzip_bomb", "413"), ("huge_declared_shape", "RESOURCE_EXHAUSTED")]), \
        summary["hostile"]
    assert summary["final_versions"]["5"] == "AVAILABLE"
