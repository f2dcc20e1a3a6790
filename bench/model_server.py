"""Throughput of the local model server on a toy BERT-shaped SavedModel.

Starts the server (REST, loopback, free ports) with batching off and on, and
drives :predict (one BERT-shaped row per request) with 1 and 32 concurrent
clients for a fixed time each. The load generator is `hey` when it is on PATH
(apt-get install hey), else Python threads, which compete with the server for
the CPU and so give a lower bound.

    .venv/bin/python bench/model_server.py [--seconds=5] [--seq_len=128] [--binary=tensorflow_model_server]
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "tests", "helpers"))

import toy_savedmodel  # noqa: E402  (tests/helpers)
from model_server.testing import running_server  # noqa: E402

BATCHING = "max_batch_size { value: 32 }\nbatch_timeout_micros { value: 2000 }\nnum_batch_threads { value: 2 }\n"


def drive(url, body, concurrency, seconds):
    """Requests per second and latency percentiles (ms) over `seconds`."""
    latencies, errors = [], []
    stop_at = time.monotonic() + seconds
    lock = threading.Lock()

    def client():
        session = requests.Session()
        mine = []
        while time.monotonic() < stop_at:
            started = time.monotonic()
            response = session.post(url, data=body, headers={"Content-Type": "application/json"})
            mine.append(time.monotonic() - started)
            if response.status_code != 200:
                errors.append(response.text)
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    latencies.sort()

    def pct(p):
        return 1000 * latencies[min(len(latencies) - 1, int(p / 100.0 * len(latencies)))]

    return {"concurrency": concurrency, "requests": len(latencies), "errors": len(errors),
            "rps": len(latencies) / elapsed, "p50_ms": pct(50), "p99_ms": pct(99)}


def drive_hey(url, body_file, concurrency, seconds):
    """The same figures as drive(), measured by `hey`."""
    out = subprocess.run(["hey", "-z", "%gs" % seconds, "-c", str(concurrency), "-m", "POST",
                          "-T", "application/json", "-D", body_file, url],
                         stdout=subprocess.PIPE, universal_newlines=True, check=True).stdout
    codes = dict((int(code), int(count)) for code, count in re.findall(r"\[(\d{3})\]\s+(\d+) responses", out))

    def seconds_at(pct):
        return 1000 * float(re.search(r"%d%% in ([0-9.]+) secs" % pct, out).group(1))

    return {"concurrency": concurrency, "requests": sum(codes.values()),
            "errors": sum(n for code, n in codes.items() if code != 200),
            "rps": float(re.search(r"Requests/sec:\s+([0-9.]+)", out).group(1)),
            "p50_ms": seconds_at(50), "p99_ms": seconds_at(99)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--seq_len", type=int, default=128)
    parser.add_argument("--binary", default=None, help="server command (default: the local server)")
    parser.add_argument("--output", default=os.path.join(ROOT, "bench", "results", "model_server.json"))
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="bench-model-server-")
    base = os.path.join(work, "toy")
    os.makedirs(base)
    toy_savedmodel.build(base, 1, seq_len=args.seq_len)
    batching_file = os.path.join(work, "batching.config")
    with open(batching_file, "w") as f:
        f.write(BATCHING)
    row = toy_savedmodel.bert_rows(1, seq_len=args.seq_len)[0]
    body = json.dumps({"instances": [row]})
    body_file = os.path.join(work, "body.json")
    with open(body_file, "w") as f:
        f.write(body)
    use_hey = shutil.which("hey") is not None

    results = []
    for batching in (False, True):
        flags = ["--model_name=toy", "--model_base_path=" + base, "--rest_api_num_threads=8"]
        if batching:
            flags += ["--enable_batching", "--batching_parameters_file=" + batching_file]
        with running_server(flags, binary=args.binary) as server:
            url = server.rest_url + "/v1/models/toy:predict"
            drive(url, body, 4, 1.0)  # warm the connection pools and TF
            for concurrency in (1, 32):
                if use_hey:
                    result = drive_hey(url, body_file, concurrency, args.seconds)
                else:
                    result = drive(url, body, concurrency, args.seconds)
                result["batching"] = batching
                result["client"] = "hey" if use_hey else "python"
                results.append(result)
                print("batching=%-5s concurrency=%2d  %7.1f req/s  p50 %6.1f ms  p99 %6.1f ms  errors %d" % (
                    batching, concurrency, result["rps"], result["p50_ms"], result["p99_ms"], result["errors"]))
                sys.stdout.flush()
    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    with open(args.output, "w") as f:
        json.dump({"seq_len": args.seq_len, "seconds": args.seconds, "results": results}, f, indent=2)


if __name__ == "__main__":
    main()
