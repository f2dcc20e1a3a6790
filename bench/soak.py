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
server's RSS at start, peak and end. Exits 1 when a legit request failed or
a hostile one got a 5xx. Stops by itself; every process binds 127.0.0.1.

    .venv/bin/python bench/soak.py                      # 60 s at concurrency 64 (make soak)
    .venv/bin/python bench/soak.py --seconds=15         # the CI version (tests/bench/test_soak.py)
"""

import argparse
import collections
import contextlib
import gzip
import json
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


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Soak(object):
    def __init__(self, root, seconds, concurrency):
        self.root = root
        self.seconds = seconds
        self.concurrency = concurrency
        self.stop = threading.Event()
        self.hostile = collections.Counter()  # "kind status" -> count
        self.events = []
        self.rss = []
        self._lock = threading.Lock()

    # ------------------------------------------------------------ models

    def build(self):
        self.source = os.path.join(self.root, "source")
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

    def add_version(self, version):
        temp = os.path.join(self.base, "temp-%d" % version)
        shutil.copytree(os.path.join(self.source, str(version)), temp)
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

    def sample_rss(self, pid):
        while not self.stop.wait(0.25):
            self.rss.append(rss_kib(pid))

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

        def slow_body():
            with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
                sock.sendall(b"POST /v1/models/m:predict HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n[")
                for _ in range(6):  # a byte every 0.5 s, then give up
                    if self.stop.wait(0.5):
                        break
                    sock.sendall(b" ")
            return "abandoned"

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

    def run(self, server_args):
        legit_m = [json.dumps({"instances": toy_savedmodel.bert_rows(n, start=n)}).encode() for n in (1, 2, 3)]
        legit_embed = [json.dumps({"instances": [{"input_ids": [i % 30, 1, 2, 3]}]}).encode() for i in range(8)]
        with running_server(server_args, timeout=300) as server:
            pid = server.process.pid
            rss_start = rss_kib(pid)
            threads = [threading.Thread(target=self.sample_rss, args=(pid,), daemon=True),
                       threading.Thread(target=self.schedule, args=(server,), daemon=True)]
            for thread in threads:
                thread.start()
            threads += self.hostile_clients(server)
            embed_clients = max(1, self.concurrency // 4)
            results = {}

            def legit(name, bodies, clients):
                results[name] = drive(server.rest_port, "/v1/models/%s:predict" % name, bodies, clients, self.seconds)

            drivers = [threading.Thread(target=legit, args=("m", legit_m, self.concurrency - embed_clients)),
                       threading.Thread(target=legit, args=("embed", legit_embed, embed_clients))]
            for thread in drivers:
                thread.start()
            for thread in drivers:
                thread.join()
            self.stop.set()
            for thread in threads:
                thread.join(60)
            with contextlib.suppress(AttributeError):
                self._channel.close()
            states = requests.get(server.rest_url + "/v1/models/m", timeout=30).json()
            rss_end = rss_kib(pid)
            alive = server.process.poll() is None
        latencies = [ms / 1000.0 for result in results.values() for ms in result["latencies_ms"]]
        summary = {
            "seconds": self.seconds, "concurrency": self.concurrency,
            "legit_requests": sum(r["requests"] for r in results.values()),
            "legit_failed": sum(r["errors"] for r in results.values()),
            "legit_first_error": next((r["first_error"] for r in results.values() if r["first_error"]), None),
            "legit_rps": round(sum(r["rps"] for r in results.values()), 1),
            "hostile": dict(sorted(self.hostile.items())),
            "hostile_5xx": sum(n for key, n in self.hostile.items() if _is_5xx(key.split(" ", 1)[1])),
            "events": self.events,
            "final_versions": {s["version"]: s["state"] for s in states.get("model_version_status", [])},
            "server_alive": alive,
            "rss_kib": {"start": rss_start, "peak": max(self.rss + [rss_start, rss_end]), "end": rss_end},
        }
        summary.update({k: round(v, 1) for k, v in percentiles(latencies).items()})
        return summary


def _is_5xx(outcome):
    return (outcome.isdigit() and outcome.startswith("5")) or outcome in ("INTERNAL", "UNKNOWN", "DATA_LOSS")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--output", default=None, help="also write the summary JSON here")
    args = parser.parse_args(argv)
    root = tempfile.mkdtemp(prefix="soak-")
    try:
        soak = Soak(root, args.seconds, args.concurrency)
        summary = soak.run(soak.build())
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(json.dumps(summary, indent=1))
    if args.output:
        with open(args.output, "w") as f:
            json.dump(summary, f, indent=1)
    ok = summary["legit_failed"] == 0 and summary["hostile_5xx"] == 0 and summary["server_alive"]
    print("soak %s: %d legit requests, %d failed, p50 %s ms, p99 %s ms; hostile 5xx %d; RSS start %d KiB, peak %d, "
          "end %d" % ("passed" if ok else "FAILED", summary["legit_requests"], summary["legit_failed"],
                      summary["p50_ms"], summary["p99_ms"], summary["hostile_5xx"], summary["rss_kib"]["start"],
                      summary["rss_kib"]["peak"], summary["rss_kib"]["end"]))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
