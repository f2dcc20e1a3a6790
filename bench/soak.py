"""A bounded soak of the local model server: legit load through swaps, faults and hostile traffic.

One server (loopback, batching on) serves a toy BERT-shaped model `m` and an
embedding model `embed` (token ids outside its 30-id vocab fail its lookup).
For `--seconds` (default 60), `--concurrency` (default 64) closed-loop
clients send valid requests to both while, on a schedule, three new versions
of `m` are hot-swapped in, a corrupt version appears, and a config reload adds
a model whose base path is missing; hostile clients send out-of-vocab ids,
gRPC tensors declaring huge shapes, bodies that trickle in, and gzip bombs.

Reports legit requests (must all succeed), their p50/p99, what the hostile
requests got (no 5xx allowed), how long the missing-path reload took and the
server's threads, fds and RSS at start, peak and end. Exits 1 when a legit request failed or
a hostile one got a 5xx (with --gateway also when the gateway died or did not
end on the server's newest version). Stops by itself; every process binds 127.0.0.1.

With `--gateway`, `python -m text_gateway` (the client venv's, or
`--gateway_python`; bench/soak_gateway.py) runs in front of the server on a
loopback port, `m` is the golden multi-label model of
tests/helpers/multi_label_savedmodel.py (it carries the metadata and vocab
the gateway reads), and every legit client sends raw texts to the gateway
(`{"instances": [text]}`), each answer checked against the text's known label
set; the gateway must follow every swap. Hostile clients send the gateway
broken JSON, deep nesting, lone surrogates, 40 MB and chunked bodies, wrong
content types, unknown routes, oversize texts and batches and slow bodies,
besides the server's own. Resources are then reported for both processes.

Resources (threads, open file descriptors, RSS of the server process, and of
the gateway's with --gateway): `--phase_seconds=N` first runs each abuse
alone for N s after an idle baseline (a reload storm of 64 parallel reloads
naming a missing path, hostile 40 MB bodies, gzip bombs, slow clients; with
--gateway then 40 MB and chunked bodies, the malformed requests and slow
clients to the gateway), then waits up to
`--settle_seconds` for the three to come back within 10 % of the baseline,
and reports baseline, peak and after per phase. The mixed run is reported per
`--window_seconds` window (requests, failures, p99, and resources at the
window's end and peak). Runs of 5 minutes or more swap a version in every
`--swap_every` s and send a reload storm every `--storm_every` s.

    .venv/bin/python bench/soak.py                      # 60 s at concurrency 64 (make soak)
    .venv/bin/python bench/soak.py --seconds=15         # the CI version (tests/bench/test_soak.py)
    .venv/bin/python bench/soak.py --seconds=1800 --phase_seconds=20 --window_seconds=300   # the long soak
    .venv/bin/python bench/soak.py --gateway --seconds=1800 --phase_seconds=20 --window_seconds=300   # gateway in front
"""

import argparse
import collections
import contextlib
import gzip
import itertools
import json
import math
import os
import shutil
import socket
import sys
import tempfile
import threading
import time

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests", "helpers"), os.path.join(ROOT, "bench")]

import soak_gateway  # noqa: E402  (bench/)
import toy_savedmodel  # noqa: E402  (tests/helpers)
from loadgen import drive, percentiles  # noqa: E402  (bench/)
from model_server.launch import running_server  # noqa: E402

BATCHING = ("max_batch_size { value: 32 }\nbatch_timeout_micros { value: 2000 }\nnum_batch_threads { value: 2 }\n"
            "max_enqueued_batches { value: 1000 }\n")
MODEL = 'config { name: "%s" base_path: "%s" model_platform: "tensorflow" }'
# (fraction of the run, event): three swaps, a corrupt version, a reload naming a missing path.
SCHEDULE = [(0.15, ("swap", 2)), (0.30, ("reload_missing", None)), (0.40, ("swap", 3)),
            (0.55, ("corrupt", 4)), (0.70, ("swap", 5))]
MiB = 1024 * 1024


STORM_RELOADS = 64
HOSTILE_BODY_BYTES = 40 * MiB
WITHIN = 0.10  # resources back within 10 % of the idle baseline
# After the run, how long the gateway may take to serve the server's newest version (its --refresh_seconds
# is 2 s; reading a version's metadata on a loaded machine takes a few more).
FOLLOW_SECONDS = 60.0


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def resources(pid):
    """{threads, fds, rss_mib} of a live process (Linux /proc)."""
    return {"threads": len(os.listdir("/proc/%d/task" % pid)), "fds": len(os.listdir("/proc/%d/fd" % pid)),
            "rss_mib": round(rss_kib(pid) / 1024.0, 1)}


def resources_of(pids):
    """{process name: resources} of each of `pids` ({name: pid})."""
    return {name: resources(pid) for name, pid in pids.items()}


def not_within(sample, baseline, share=WITHIN):
    """["<process> <resource>", ...] more than `share` above its baseline (one thread/fd of slack)."""
    return ["%s %s" % (name, key) for name in baseline for key in baseline[name]
            if sample[name][key] > baseline[name][key] * (1 + share) + (1 if key != "rss_mib" else 0)]


def within(sample, baseline, share=WITHIN):
    """Whether every process's every resource is at most `share` above its baseline."""
    return not not_within(sample, baseline, share)


def peak(samples):
    """Per process, each resource's highest value over `samples` (each {name: resources})."""
    if not samples:
        return {}
    return {name: {key: max(sample[name][key] for sample in samples) for key in samples[0][name]}
            for name in samples[0]}


def hostile_bodies():
    """40 MB bodies a hostile client sends: a huge int tensor, a huge string tensor, broken JSON."""
    count = HOSTILE_BODY_BYTES // 8
    ints = b'{"instances": [[' + b",".join([b"1234567"] * count) + b"]]}"
    strings = b'{"instances": [' + b",".join([b'"abcdefghij"'] * (HOSTILE_BODY_BYTES // 13)) + b"]}"
    broken = b'{"instances": [[' + b"1," * (HOSTILE_BODY_BYTES // 2)
    return [ints, strings, broken]


class Soak(object):
    """`front`: a soak_gateway.GatewayFront to put in front of the server (legit and hostile texts go to it)."""

    def __init__(self, root, seconds, concurrency, window_seconds=None, swap_every=60.0, storm_every=120.0,
                 front=None):
        self.root = root
        self.front = front
        self.seconds = seconds
        self.concurrency = concurrency
        self.window_seconds = window_seconds or seconds
        self.swap_every = swap_every
        self.storm_every = storm_every
        self.stop = threading.Event()
        self.hostile = collections.Counter()  # "kind status" -> count
        self.events = []
        self.pids = {}  # process name -> pid: "server", and "gateway" with a front
        self.samples = []  # (monotonic time, {process: resources}) every 0.25 s of the mixed run
        self._lock = threading.Lock()
        self._next_version = 6

    # ------------------------------------------------------------ models

    def build(self):
        self.source = os.path.join(self.root, "source")
        if self.front is not None:
            soak_gateway.build_versions(self.source, (1, 2, 3, 5))
        else:
            for version in (1, 2, 3, 5):
                toy_savedmodel.build(self.source, version, bias=version / 10.0)
        self.base = os.path.join(self.root, "m")
        os.makedirs(self.base)
        self.add_version(1)
        self.embed = os.path.join(self.root, "embed")
        os.makedirs(self.embed)
        toy_savedmodel.build_embedding_model(self.embed)
        self.models = [("m", self.base), ("embed", self.embed)]
        config = os.path.join(self.root, "models.config")
        with open(config, "w") as f:
            f.write("model_config_list { %s }\n" % " ".join(MODEL % model for model in self.models))
        batching = os.path.join(self.root, "batching.config")
        with open(batching, "w") as f:
            f.write(BATCHING)
        return ["--model_config_file=" + config, "--enable_batching", "--batching_parameters_file=" + batching,
                "--file_system_poll_wait_seconds=1"]

    def add_version(self, version, source=None):
        temp = os.path.join(self.base, "temp-%d" % version)
        shutil.copytree(os.path.join(self.source, str(source or version)), temp)
        os.rename(temp, os.path.join(self.base, str(version)))

    def add_corrupt(self, version):
        temp = os.path.join(self.base, "temp-%d" % version)
        os.makedirs(os.path.join(temp, "variables"))
        with open(os.path.join(temp, "saved_model.pb"), "wb") as f:
            f.write(b"\x08\x96\x01 not a SavedModel " * 64)
        os.rename(temp, os.path.join(self.base, str(version)))

    # ------------------------------------------------------------ background activity

    def count(self, kind, outcome):
        with self._lock:
            self.hostile["%s %s" % (kind, outcome)] += 1

    def loop(self, kind, fn):
        def run():
            while not self.stop.is_set():
                try:
                    self.count(kind, fn())
                except Exception as exc:  # noqa: BLE001  a hostile client's own failure is an outcome too
                    self.count(kind, type(exc).__name__)
        thread = threading.Thread(target=run, name=kind, daemon=True)
        thread.start()
        return thread

    def schedule(self, server):
        if self.seconds >= 300:
            return self.periodic_schedule(server)
        started = time.monotonic()
        for fraction, (event, arg) in SCHEDULE:
            if self.stop.wait(max(0.0, started + fraction * self.seconds - time.monotonic())):
                return
            at = time.monotonic() - started
            if event == "swap":
                self.add_version(arg)
                self.events.append({"at_s": round(at, 1), "event": "swap to version %d" % arg})
            elif event == "corrupt":
                self.add_corrupt(arg)
                self.events.append({"at_s": round(at, 1), "event": "corrupt version %d" % arg})
            else:
                began = time.monotonic()
                code, details = self.reload_missing(server)
                self.events.append({"at_s": round(at, 1), "event": "reload adding a missing base path",
                                    "answer": code, "details": details[:200],
                                    "seconds": round(time.monotonic() - began, 2)})

    def periodic_schedule(self, server):
        """A long run: a swap every swap_every s, a reload storm every storm_every s, one corrupt version."""
        started = time.monotonic()
        next_swap, next_storm, corrupt_at = self.swap_every, self.storm_every, 0.55 * self.seconds
        while True:
            due = min(next_swap, next_storm, corrupt_at if corrupt_at is not None else float("inf"))
            if self.stop.wait(max(0.0, started + due - time.monotonic())):
                return
            at = round(time.monotonic() - started, 1)
            version, self._next_version = self._next_version, self._next_version + 1
            if due == corrupt_at:
                self.add_corrupt(version)
                self.events.append({"at_s": at, "event": "corrupt version %d" % version})
                corrupt_at = None
            elif due == next_swap:
                self.add_version(version, source=(2, 3, 5)[version % 3])
                self.events.append({"at_s": at, "event": "swap to version %d" % version})
                next_swap += self.swap_every
            else:
                self._next_version -= 1
                self.events.append(dict(self.reload_storm(server), at_s=at))
                next_storm += self.storm_every

    def reload_storm(self, server, reloads=STORM_RELOADS):
        """`reloads` parallel reloads naming a missing base path; their answers and time."""
        answers = collections.Counter()
        began = time.monotonic()

        def one():
            answers[self.reload_missing(server)[0]] += 1

        threads = [threading.Thread(target=one, daemon=True) for _ in range(reloads)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        return {"event": "reload storm (%d parallel, missing base path)" % reloads, "answers": dict(answers),
                "seconds": round(time.monotonic() - began, 2)}

    def reload_missing(self, server):
        import grpc
        from google.protobuf import text_format
        from tensorflow_serving.apis import model_management_pb2, model_service_pb2_grpc
        request = model_management_pb2.ReloadConfigRequest()
        models = self.models + [("ghost", os.path.join(self.root, "missing"))]
        text_format.Parse("model_config_list { %s }" % " ".join(MODEL % model for model in models), request.config)
        with grpc.insecure_channel(server.grpc_target) as channel:
            try:
                model_service_pb2_grpc.ModelServiceStub(channel).HandleReloadConfigRequest(request, timeout=10)
                return "OK", ""
            except grpc.RpcError as error:
                return error.code().name, error.details() or ""

    def sample_resources(self):
        while not self.stop.wait(0.25):
            self.samples.append((time.monotonic(), resources_of(self.pids)))

    # ------------------------------------------------------------ abuse phases

    def abuse_phases(self, server, seconds, settle_seconds):
        """Each abuse alone for `seconds` after an idle baseline; resources before, at peak and after."""
        session = requests.Session()
        bodies = itertools.cycle(hostile_bodies())
        bomb = gzip.compress(b" " * (65 * MiB))
        url = server.rest_url + "/v1/models/m:predict"

        def storm():
            return self.reload_storm(server)

        def post(body, headers=None):
            try:
                return session.post(url, data=body, headers=headers, timeout=60).status_code
            except requests.RequestException as exc:
                return type(exc).__name__

        phases = [("reload storm (64 parallel bad reloads)", storm, 1),
                  ("hostile bodies (40 MB JSON)", lambda: post(next(bodies)), 6),
                  ("gzip bombs (65 MB of spaces)", lambda: post(bomb, {"Content-Encoding": "gzip"}), 4),
                  ("slow clients", self.slow_body_fn(server.rest_port, threading.Event()), 32)]
        if self.front is not None:
            phases += self.front.phases(self.slow_body_fn(self.front.port, threading.Event()), hostile_bodies())
        baseline = self.idle_baseline(server)
        report = []
        for name, fn, clients in phases:
            outcomes = collections.Counter()
            samples = [resources_of(self.pids)]
            stop_at = time.monotonic() + seconds

            def client():
                while time.monotonic() < stop_at:
                    outcome = fn()
                    outcomes[str(outcome if not isinstance(outcome, dict) else outcome["answers"])] += 1

            threads = [threading.Thread(target=client, daemon=True) for _ in range(clients)]
            for thread in threads:
                thread.start()
            while any(thread.is_alive() for thread in threads):
                samples.append(resources_of(self.pids))
                time.sleep(0.25)
            ended = time.monotonic()
            after = resources_of(self.pids)
            while not within(after, baseline) and time.monotonic() < ended + settle_seconds:
                time.sleep(0.5)
                after = resources_of(self.pids)
            legit = self.legit_after(url)
            report.append({"phase": name, "seconds": seconds, "outcomes": dict(outcomes), "baseline": baseline,
                           "peak": peak(samples), "after": after, "settled_s": round(time.monotonic() - ended, 1),
                           "back_within_10pct": within(after, baseline), "not_back": not_within(after, baseline),
                           "legit_after": legit})
        return report

    def legit_after(self, url):
        """One legit request after a phase (through the front when there is one): its status."""
        if self.front is not None:
            return self.front.legit_after()
        return requests.post(url, json={"instances": toy_savedmodel.bert_rows(1)}, timeout=30).status_code

    def legit_targets(self, server):
        """[(name, port, path, bodies, clients, check)] the legit clients drive."""
        if self.front is not None:
            return [("gateway", self.front.port, self.front.path, self.front.bodies, self.concurrency,
                     self.front.check)]
        legit_m = [json.dumps({"instances": toy_savedmodel.bert_rows(n, start=n)}).encode() for n in (1, 2, 3)]
        legit_embed = [json.dumps({"instances": [{"input_ids": [i % 30, 1, 2, 3]}]}).encode() for i in range(8)]
        embed_clients = max(1, self.concurrency // 4)
        return [("m", server.rest_port, "/v1/models/m:predict", legit_m, self.concurrency - embed_clients, None),
                ("embed", server.rest_port, "/v1/models/embed:predict", legit_embed, embed_clients, None)]

    def idle_baseline(self, server):
        """Resources after a few seconds of legit traffic and a pause (what idle looks like once warm)."""
        for _, port, path, bodies, clients, _ in self.legit_targets(server):
            drive(port, path, bodies, min(16, clients), 2.0)
        time.sleep(2.0)
        return resources_of(self.pids)

    def slow_body_fn(self, port, stop):
        def slow_body():
            with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
                sock.sendall(b"POST /v1/models/m:predict HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n[")
                for _ in range(6):  # a byte every 0.5 s, then give up
                    if stop.wait(0.5) or self.stop.is_set():
                        break
                    sock.sendall(b" ")
            return "abandoned"
        return slow_body

    # ------------------------------------------------------------ hostile clients

    def hostile_clients(self, server):
        port = server.rest_port
        session = requests.Session()
        bad_ids = json.dumps({"instances": [{"input_ids": [1, 2, toy_savedmodel.EMBED_VOCAB + 5, 3]}]})
        bomb = gzip.compress(b" " * (65 * MiB))

        def bad_id():
            return session.post(server.rest_url + "/v1/models/embed:predict", data=bad_ids, timeout=30).status_code

        def gzip_bomb():
            return session.post(server.rest_url + "/v1/models/m:predict", data=bomb, timeout=30,
                                headers={"Content-Encoding": "gzip"}).status_code

        slow_body = self.slow_body_fn(port, self.stop)

        stub = self.grpc_stub(server)
        huge = self.huge_shape_request()

        def huge_shape():
            import grpc
            try:
                stub.Predict(huge, timeout=30)
                return "OK"
            except grpc.RpcError as error:
                return error.code().name

        threads = [self.loop("bad_ids", bad_id), self.loop("gzip_bomb", gzip_bomb),
                   self.loop("huge_declared_shape", huge_shape)]
        threads += [self.loop("slow_body", slow_body) for _ in range(4)]
        if self.front is not None:
            gateway = self.front.hostile(self.slow_body_fn(self.front.port, self.stop), hostile_bodies())
            threads += [self.loop(kind, fn) for kind, fn, clients in gateway for _ in range(clients)]
        return threads

    def grpc_stub(self, server):
        import grpc
        from tensorflow_serving.apis import prediction_service_pb2_grpc
        self._channel = grpc.insecure_channel(server.grpc_target)
        return prediction_service_pb2_grpc.PredictionServiceStub(self._channel)

    @staticmethod
    def huge_shape_request():
        """A Predict of a few hundred bytes whose input_ids declare [1, 100000000] (one value)."""
        import numpy as np
        import tensorflow.compat.v1 as tf
        from tensorflow_serving.apis import predict_pb2
        request = predict_pb2.PredictRequest()
        request.model_spec.name = "m"
        for key, value in toy_savedmodel.bert_rows(1)[0].items():
            request.inputs[key].CopyFrom(tf.make_tensor_proto(np.array([value], dtype=np.int32)))
        proto = request.inputs["input_ids"]
        del proto.tensor_shape.dim[:]
        proto.tensor_shape.dim.add(size=1)
        proto.tensor_shape.dim.add(size=100000000)
        proto.ClearField("tensor_content")
        proto.int_val.append(7)
        return request

    # ------------------------------------------------------------ run

    def run(self, server_args, phase_seconds=0.0, settle_seconds=30.0):
        with running_server(server_args, timeout=300) as server:
            self.pids["server"] = server.process.pid
            try:
                if self.front is not None:
                    self.pids["gateway"] = self.front.start(server)
                summary = self.mixed_run(server, phase_seconds, settle_seconds)
                summary["server_alive"] = server.process.poll() is None
            finally:
                if self.front is not None:
                    self.front.stop()
        return summary

    def mixed_run(self, server, phase_seconds, settle_seconds):
        phases = self.abuse_phases(server, phase_seconds, settle_seconds) if phase_seconds else []
        start = resources_of(self.pids)
        mixed_started = time.monotonic()
        threads = [threading.Thread(target=self.sample_resources, daemon=True),
                   threading.Thread(target=self.schedule, args=(server,), daemon=True)]
        for thread in threads:
            thread.start()
        threads += self.hostile_clients(server)
        results = {}
        windows = collections.defaultdict(dict)  # window index -> {target: drive() result}

        def legit(name, *target):
            results[name] = self.drive_windows(mixed_started, windows, name, *target)

        drivers = [threading.Thread(target=legit, args=target) for target in self.legit_targets(server)]
        for thread in drivers:
            thread.start()
        for thread in drivers:
            thread.join()
        self.stop.set()
        for thread in threads:
            thread.join(60)
        with contextlib.suppress(AttributeError):
            self._channel.close()
        if self.front is not None:
            states, gateway_status, follow_wait = self.await_gateway(server)
        else:
            states = server_states(server)
        end = resources_of(self.pids)
        latencies = [ms / 1000.0 for result in results.values() for ms in result["latencies_ms"]]
        samples = [sample for _, sample in self.samples]
        summary = {
            "seconds": self.seconds, "concurrency": self.concurrency, "gateway": self.front is not None,
            "legit_requests": sum(r["requests"] for r in results.values()),
            "legit_failed": sum(r["errors"] for r in results.values()),
            "legit_first_error": next((r["first_error"] for r in results.values() if r["first_error"]), None),
            "legit_errors": dict(sum((collections.Counter(r["error_kinds"]) for r in results.values()),
                                     collections.Counter()).most_common(5)),
            "legit_rps": round(sum(r["rps"] for r in results.values()), 1),
            "hostile": dict(sorted(self.hostile.items())),
            "hostile_5xx": sum(n for key, n in self.hostile.items() if _is_5xx(key.split(" ", 1)[1])),
            "events": self.events,
            "final_versions": {s["version"]: s["state"] for s in states.get("model_version_status", [])},
            "resources": {"start": start, "peak": peak(samples + [start, end]), "end": end},
            "phases": phases,
            "windows": self.window_report(windows, mixed_started),
        }
        if self.front is not None:
            # The gateway followed the swaps: it serves the server's newest version (within FOLLOW_SECONDS).
            summary["gateway_status"] = gateway_status
            summary["gateway_follows"] = follows(gateway_status, states)
            summary["gateway_follow_wait_s"] = follow_wait
            summary["gateway_alive"] = self.front.process.poll() is None
            summary["gateway_log_problems"] = self.front.log_problems()
        summary.update({k: round(v, 1) for k, v in percentiles(latencies).items()})
        return summary

    def window_count(self):
        return max(1, int(math.ceil(self.seconds / self.window_seconds - 1e-9)))

    def drive_windows(self, started, windows, name, port, path, bodies, clients, check):
        """Legit load from `started` for the run's seconds, one drive() per window into windows[i][name]; merged.

        Windows end on the clock: one whose last answers come late (a loaded machine) shortens the
        next, so a run always has window_count() windows.
        """
        for index in range(self.window_count()):
            ends = started + min((index + 1) * self.window_seconds, self.seconds)
            windows[index][name] = drive(port, path, bodies, clients, max(0.0, ends - time.monotonic()), check)
        return _merged([w[name] for w in windows.values() if name in w])

    def await_gateway(self, server, seconds=None):
        """(server states, gateway status, seconds waited) once the gateway serves the newest AVAILABLE version.

        A swap may land just before the run ends and the gateway checks for new versions on its own
        schedule (--refresh_seconds), so it gets up to `seconds` (FOLLOW_SECONDS) to follow; the
        server's states are read again each time, as a version may still become AVAILABLE meanwhile.
        """
        deadline = time.monotonic() + (FOLLOW_SECONDS if seconds is None else seconds)
        began = time.monotonic()
        while True:
            states, status = server_states(server), self.front.status()
            if follows(status, states) or time.monotonic() >= deadline:
                return states, status, round(time.monotonic() - began, 2)
            time.sleep(0.1)  # poll interval

    def window_report(self, windows, started):
        """Per window: legit requests, failures, p99 and each process's resources at its end and peak."""
        report = []
        for index in sorted(windows):
            results = list(windows[index].values())
            begin, end = started + index * self.window_seconds, started + (index + 1) * self.window_seconds
            samples = [sample for at, sample in self.samples if begin <= at < end]
            latencies = [ms / 1000.0 for result in results for ms in result["latencies_ms"]]
            report.append({"window": index, "from_s": round(index * self.window_seconds),
                           "requests": sum(r["requests"] for r in results),
                           "failed": sum(r["errors"] for r in results),
                           "p99_ms": round(percentiles(latencies)["p99_ms"], 1) if latencies else None,
                           "end": samples[-1] if samples else None, "peak": peak(samples)})
        return report


def server_states(server):
    """The server's answer to GET /v1/models/m (model_version_status)."""
    return requests.get(server.rest_url + "/v1/models/m", timeout=30).json()


def follows(gateway_status, states):
    """Whether the gateway is ready on the newest version the server has AVAILABLE."""
    available = [int(s["version"]) for s in states.get("model_version_status", []) if s["state"] == "AVAILABLE"]
    return bool(gateway_status.get("ready")) and gateway_status.get("version") == max(available, default=None)


def _merged(results):
    """One drive() result of consecutive windows' results."""
    requests_ = sum(r["requests"] for r in results)
    return {"requests": requests_, "errors": sum(r["errors"] for r in results),
            "first_error": next((r["first_error"] for r in results if r["first_error"]), None),
            "error_kinds": dict(sum((collections.Counter(r["error_kinds"]) for r in results), collections.Counter())),
            "rps": sum(r["rps"] for r in results) / max(1, len(results)),
            "latencies_ms": [ms for r in results for ms in r["latencies_ms"]]}


def _is_5xx(outcome):
    return (outcome.isdigit() and outcome.startswith("5")) or outcome in ("INTERNAL", "UNKNOWN", "DATA_LOSS")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--output", default=None, help="also write the summary JSON here")
    parser.add_argument("--phase_seconds", type=float, default=0.0,
                        help="first run each abuse alone this long and report resources per phase (0: skip)")
    parser.add_argument("--settle_seconds", type=float, default=30.0,
                        help="how long after a phase resources may take to come back within 10%%")
    parser.add_argument("--window_seconds", type=float, default=None, help="report the mixed run per window")
    parser.add_argument("--swap_every", type=float, default=60.0, help="runs >= 300 s: seconds between swaps")
    parser.add_argument("--storm_every", type=float, default=120.0, help="runs >= 300 s: seconds between storms")
    parser.add_argument("--gateway", action="store_true",
                        help="put `python -m text_gateway` in front: legit and hostile texts go to it")
    parser.add_argument("--gateway_python", default=soak_gateway.PYTHON,
                        help="the gateway's interpreter (default: the client venv, make setup-gateway)")
    args = parser.parse_args(argv)
    root = tempfile.mkdtemp(prefix="soak-")
    try:
        front = soak_gateway.GatewayFront(root, args.gateway_python) if args.gateway else None
        soak = Soak(root, args.seconds, args.concurrency, args.window_seconds, args.swap_every, args.storm_every,
                    front)
        summary = soak.run(soak.build(), args.phase_seconds, args.settle_seconds)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(json.dumps(summary, indent=1))
    if args.output:
        with open(args.output, "w") as f:
            json.dump(summary, f, indent=1)
    for phase in summary["phases"]:
        print("phase %s (legit after: %s): %s" % (
            phase["phase"], phase["legit_after"],
            "back within 10%" if phase["back_within_10pct"] else "NOT back within 10%: " + ", ".join(phase["not_back"])))
        print("    baseline %s\n    peak     %s\n    after    %s (%.1f s)" % (
            _res(phase["baseline"]), _res(phase["peak"]), _res(phase["after"]), phase["settled_s"]))
    for window in summary["windows"]:
        print("window %d (from %d s): %d requests, %d failed, p99 %s ms; end %s; peak %s" % (
            window["window"], window["from_s"], window["requests"], window["failed"], window["p99_ms"],
            _res(window["end"]), _res(window["peak"])))
    ok = summary["legit_failed"] == 0 and summary["hostile_5xx"] == 0 and summary["server_alive"]
    if args.gateway:
        ok = ok and summary["gateway_alive"] and summary["gateway_follows"]
    resources = summary["resources"]
    print("soak %s: %d legit requests%s, %d failed, p50 %s ms, p99 %s ms; hostile 5xx %d; start %s; peak %s; end %s" % (
        "passed" if ok else "FAILED", summary["legit_requests"], " through the gateway" if args.gateway else "",
        summary["legit_failed"], summary["p50_ms"], summary["p99_ms"], summary["hostile_5xx"],
        _res(resources["start"]), _res(resources["peak"]), _res(resources["end"])))
    return 0 if ok else 1


def _res(sample):
    """'server 39 thr/89 fd/298 MiB, gateway ...' of a {process: resources} sample."""
    if not sample:
        return "-"
    return ", ".join("%s %d thr/%d fd/%.0f MiB" % (name, r["threads"], r["fds"], r["rss_mib"])
                     for name, r in sample.items())


if __name__ == "__main__":
    sys.exit(main())
