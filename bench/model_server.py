"""Throughput of the local model server on a toy BERT-shaped SavedModel.

Starts the server (REST, loopback, free ports) with batching off and on, and
drives :predict (one BERT-shaped row per request) with 1 and 32 concurrent
clients for a fixed time each, with bench/loadgen.py's asyncio load generator.

    .venv/bin/python -m bench.model_server [--seconds=5] [--seq_len=128] [--binary=tensorflow_model_server]
"""

import argparse
import json
import os
import sys
import tempfile

from bench.loadgen import drive
from model_server.launch import running_server
from tests.helpers import toy_savedmodel  # the toy model the server tests use

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

BATCHING = "max_batch_size { value: 32 }\nbatch_timeout_micros { value: 2000 }\nnum_batch_threads { value: 2 }\n"


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
    bodies = [json.dumps({"instances": [row]}).encode("utf-8")]

    results = []
    for batching in (False, True):
        flags = ["--model_name=toy", "--model_base_path=" + base, "--rest_api_num_threads=8"]
        if batching:
            flags += ["--enable_batching", "--batching_parameters_file=" + batching_file]
        with running_server(flags, binary=args.binary) as server:
            path = "/v1/models/toy:predict"
            drive(server.rest_port, path, bodies, 4, 1.0)  # warm TF and the code paths
            for concurrency in (1, 32):
                result = drive(server.rest_port, path, bodies, concurrency, args.seconds)
                del result["latencies_ms"], result["first_error"]
                result["batching"] = batching
                results.append(result)
                print("batching=%-5s concurrency=%2d  %7.1f req/s  p50 %6.1f ms  p99 %6.1f ms  errors %d" % (
                    batching, concurrency, result["rps"], result["p50_ms"], result["p99_ms"], result["errors"]))
                sys.stdout.flush()
    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    with open(args.output, "w") as f:
        json.dump({"seq_len": args.seq_len, "seconds": args.seconds, "results": results}, f, indent=2)


if __name__ == "__main__":
    main()
