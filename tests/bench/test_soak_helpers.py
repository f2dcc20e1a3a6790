"""bench/soak.py's judging, without servers: the gateway gets time to follow a late swap, and windows end on the clock."""

import collections
import time

import bench_modules  # tests/helpers

SERVER = {"model_version_status": [{"version": "36", "state": "AVAILABLE"}, {"version": "35", "state": "END"}]}


class Front(object):
    """A gateway whose status says `versions`, one per call, then the last one."""

    def __init__(self, *versions):
        self.versions = list(versions)
        self.calls = 0

    def status(self):
        self.calls += 1
        return {"name": "m", "ready": True, "version": self.versions[min(self.calls, len(self.versions)) - 1]}


def test_the_gateway_gets_time_to_follow_a_swap_that_landed_as_the_run_ended(tmp_path, monkeypatch):
    """The 1800 s soak judged 'gateway_follows: false' the instant it ended, 35 against the server's 36."""
    soak = bench_modules.load("soak")
    monkeypatch.setattr(soak, "server_states", lambda server: SERVER)
    front = Front(35, 35, 36)
    runner = soak.Soak(str(tmp_path), seconds=1, concurrency=1, front=front)
    states, status, waited = runner.await_gateway(server=None, seconds=30)
    assert status["version"] == 36 and soak.follows(status, states) and front.calls == 3 and waited < 30


def test_a_gateway_that_does_not_follow_is_judged_at_the_deadline(tmp_path, monkeypatch):
    soak = bench_modules.load("soak")
    monkeypatch.setattr(soak, "server_states", lambda server: SERVER)
    runner = soak.Soak(str(tmp_path), seconds=1, concurrency=1, front=Front(35))
    started = time.monotonic()
    states, status, _ = runner.await_gateway(server=None, seconds=0.5)
    assert not soak.follows(status, states) and 0.5 <= time.monotonic() - started < 10
    assert not soak.follows({"ready": False, "version": 36}, states)  # not ready is not following


def test_a_window_whose_answers_come_late_shortens_the_next_one(tmp_path, monkeypatch):
    """tests/bench/test_soak.py's gateway run once had 'only 1 of 2 windows': a 5 s window overran by 4.5 s
    on a loaded machine and the next was skipped. Here each window's last answer comes 0.6 s late."""
    soak = bench_modules.load("soak")
    asked = []

    def slow_drive(port, path, bodies, clients, seconds, check=None):
        asked.append(seconds)
        time.sleep(seconds + 0.6)
        return {"requests": 1, "errors": 0, "first_error": None, "error_kinds": {}, "rps": 1.0,
                "latencies_ms": [1.0]}

    monkeypatch.setattr(soak, "drive", slow_drive)
    runner = soak.Soak(str(tmp_path), seconds=1.0, concurrency=1, window_seconds=0.5)
    windows = collections.defaultdict(dict)
    merged = runner.drive_windows(time.monotonic(), windows, "m", 1, "/", [b"{}"], 1, None)
    assert sorted(windows) == [0, 1] and merged["requests"] == 2
    assert asked[0] > 0.4 and asked[1] == 0.0  # the second window's time was spent by the first's late answer
