"""Texts/sec through the text gateway vs the same server driven with client-side tensors.

One local model server (the dynamic-length export with length-aware batching,
bench/serving.py's variant (c)) serves a fine-tuned MiniLM. In the same run,
alternately:

(direct)  bench/loadgen.py's asyncio clients POST one text's pre-featurized
          tensors per request to the server's REST :predict (the body
          serving_client sends for it), at concurrency 32;
(gateway) the same clients POST `{"instances": [text]}` to `python -m
          text_gateway` (REST upstream to the same server), at concurrency 32.

Traffic: the 556 texts of ../shared/data/sms_spam/test.tsv in a cycle. The
target is gateway >= 0.8x direct. `compare()` runs the same rounds on any
dynamic-length export and texts (bench/goemotions.py's serving part: its
multi-label model on GoEmotions dev). The gateway's own CPU (all its threads, from
/proc) is reported per text. The gateway runs on `--gateway_python` (default:
the client venv, `make setup-gateway`); the export is built once under
bench/results/gateway_model and carries its vocab. Skips without ../shared.
Run it alone (the machine is shared): `flock /work/bench.lock ...`.

    .venv/bin/python -m bench.gateway              # 2 rounds of 10 s per side (~3 min with the build)
    make bench-gateway
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

from bench import serving as serving_bench  # exports, traffic, server flags
from bench.loadgen import drive
from model_server.launch import running_server, terminate

ROOT = serving_bench.ROOT

RESULTS = serving_bench.RESULTS
MODEL_NAME = serving_bench.MODEL_NAME
TARGET = 0.8


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def process_cpu_seconds(pid):
    return serving_bench.cpu_seconds(pid)[0]


def start_gateway(python, upstream_port, args, log_path, model_name=MODEL_NAME):
    port = free_port()
    command = [python, "-m", "text_gateway", "--model_name=" + model_name,
               "--predictor_host=127.0.0.1:%d" % upstream_port, "--http_port=%d" % port,
               "--upstream_concurrency=%d" % args.upstream_concurrency, "--log_level=warning"]
    env = dict(os.environ, PYTHONPATH=ROOT)
    with open(log_path, "w") as log:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the gateway exited:\n" + open(log_path).read()[-3000:])
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/v1/models/%s" % (port, model_name), timeout=2) as answer:
                if json.loads(answer.read())["ready"]:
                    return process, port
        except (OSError, ValueError):
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("the gateway was not ready within 120 s:\n" + open(log_path).read()[-3000:])


def report_line(name, row, extra=""):
    print("  %-8s %7.1f texts/s  p50 %6.1f  p90 %6.1f  p99 %6.1f ms  errors %d%s%s" % (
        name, row["rps"], row["p50_ms"], row["p90_ms"], row["p99_ms"], row["errors"], extra,
        "  first: " + row["first_error"] if row["first_error"] else ""))
    sys.stdout.flush()


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="per point")
    parser.add_argument("--rounds", type=int, default=2, help="direct/gateway pairs, alternated")
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--warmup_seconds", type=float, default=3.0)
    parser.add_argument("--upstream_concurrency", type=int, default=32, help="the gateway's --upstream_concurrency")
    parser.add_argument("--gateway_python", default=os.path.join(ROOT, ".venv-client", "bin", "python"))
    parser.add_argument("--model_dir", default=os.path.join(RESULTS, "gateway_model"))
    parser.add_argument("--output", default=os.path.join(RESULTS, "gateway.json"))
    # The server: bench/serving.py's (c) with its defaults.
    serving_args = serving_bench.parse_args(["--variants=c", "--concurrency=32"])
    args = parser.parse_args(argv)
    return args, serving_args


def compare(export_dir, texts, args, serving_args, model_name=MODEL_NAME):
    """Alternated direct and gateway rounds on one server of `export_dir` (a dynamic-length export's base
    directory) with `texts` in a cycle: every round's row, the mean rates, their ratio, the gateway's CPU per text.

    The direct bodies are the ones `serving_client` sends (its decoder's, one text a request), so any
    task kind's export can be compared (bench/goemotions.py passes its multi-label one).
    """
    gateway_bodies = [json.dumps({"instances": [text]}).encode("utf-8") for text in texts]
    work = tempfile.mkdtemp(prefix="bench-gateway-")
    flags = serving_bench.server_flags("c", None, export_dir, work, serving_args, model_name=model_name)
    rows = []
    with running_server(flags, timeout=300) as server:
        predict = "/v1/models/%s:predict" % model_name
        direct_bodies = serving_bench.client_bodies(server.rest_url, model_name, texts)
        gateway, gateway_port = start_gateway(args.gateway_python, server.rest_port, args,
                                              os.path.join(work, "gateway.log"), model_name)
        try:
            drive(server.rest_port, predict, direct_bodies, args.concurrency, args.warmup_seconds)
            drive(gateway_port, predict, gateway_bodies, args.concurrency, args.warmup_seconds)
            for round_number in range(args.rounds):
                direct = drive(server.rest_port, predict, direct_bodies, args.concurrency, args.seconds)
                direct.update(side="direct", round=round_number)
                report_line("direct", direct)
                before = process_cpu_seconds(gateway.pid)
                through = drive(gateway_port, predict, gateway_bodies, args.concurrency, args.seconds)
                through.update(side="gateway", round=round_number)
                answered = through["requests"] - through["errors"]
                through["gateway_cpu_ms_per_text"] = 1000 * (process_cpu_seconds(gateway.pid) - before) / max(1, answered)
                report_line("gateway", through, "  gateway CPU %.2f ms/text" % through["gateway_cpu_ms_per_text"])
                rows += [direct, through]
        finally:
            terminate(gateway)
    shutil.rmtree(work, ignore_errors=True)
    for row in rows:
        row.pop("latencies_ms", None)
    return dict(summarize(rows, args.concurrency), results=rows)


def summarize(rows, concurrency):
    """Mean texts/s per side over the rounds, gateway / direct against TARGET, the gateway's CPU per text."""
    def mean(side, key):
        values = [r[key] for r in rows if r["side"] == side]
        return sum(values) / len(values)

    direct_rate, gateway_rate = mean("direct", "rps"), mean("gateway", "rps")
    cpu = mean("gateway", "gateway_cpu_ms_per_text")
    ratio = gateway_rate / direct_rate if direct_rate else 0.0
    summary = ("gateway %.1f texts/s vs direct %.1f texts/s at concurrency %d: %.2fx (target >= %.1fx: %s); "
               "gateway CPU %.2f ms per text" % (gateway_rate, direct_rate, concurrency, ratio, TARGET,
                                                 "met" if ratio >= TARGET else "NOT met", cpu))
    return {"direct_rps": direct_rate, "gateway_rps": gateway_rate, "ratio": ratio, "target": TARGET,
            "target_met": ratio >= TARGET, "gateway_cpu_ms_per_text": cpu, "concurrency": concurrency,
            "summary": summary}


def main(argv=None):
    args, serving_args = parse_args(argv)
    if not os.path.isdir(serving_bench.SMS_DIR):
        print("bench/gateway.py: %s is absent; skipping" % serving_bench.SMS_DIR)
        return 0
    if not os.path.exists(args.gateway_python):
        print("bench/gateway.py: no %s; run `make setup-gateway` or pass --gateway_python" % args.gateway_python)
        return 1
    _, dynamic = serving_bench.build_exports(os.path.abspath(args.model_dir), serving_args.max_seq_length)
    texts = serving_bench.read_texts(os.path.join(serving_bench.SMS_DIR, "test.tsv"))
    print("%d SMS test texts; export %s; concurrency %d, %g s per point"
          % (len(texts), serving_bench.latest_version(dynamic), args.concurrency, args.seconds))
    load_before = os.getloadavg()
    result = compare(dynamic, texts, args, serving_args)
    print("\n" + result["summary"])
    serving_bench.write_report(args.output, "bench.gateway", argv, load_before, settings=vars(args), texts=len(texts),
                               **result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
