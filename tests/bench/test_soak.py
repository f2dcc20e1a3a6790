"""The 15 s soak (bench/soak.py) in CI: legit requests all succeed through swaps, faults and hostile traffic,
and after each abuse phase (3 s each) the server's threads, fds and RSS come back."""

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
    assert summary["legit_failed"] == 0, summary["legit_first_error"]
    assert summary["hostile_5xx"] == 0, summary["hostile"]
    assert summary["server_alive"]
    reload_event = next(e for e in summary["events"] if e["event"].startswith("reload"))
    assert reload_event["answer"] == "NOT_FOUND" and "does not exist" in reload_event["details"]
    assert all(summary["hostile"].get(kind + " " + code, 0) > 0 for kind, code in
               [("bad_ids", "400"), ("gzip_bomb", "413"), ("huge_declared_shape", "RESOURCE_EXHAUSTED")]), \
        summary["hostile"]
    assert summary["final_versions"]["5"] == "AVAILABLE"
