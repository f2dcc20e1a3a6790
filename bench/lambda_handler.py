"""Cold start and warm latency of the Lambda handler under the emulator: onnx vs proxy backend.

The model is bench/gateway.py's fine-tuned MiniLM (its dynamic-length export,
converted once with `python -m export.onnx`). Each round, alternately per
backend, a fresh `aws-lambda-rie` + `awslambdaric` (text_lambda/emulator.py,
loopback only) gets:

  cold   the first invocation, timed from the HTTP request to the answer: the
         runtime's start, the imports and the model load (onnx: the ONNX
         session; proxy: the model's metadata and vocab from the server);
  warm   then `--warm` invocations one after another (a function instance takes
         one event at a time), each one SMS test text as a direct event.

(onnx)  BACKEND=onnx: the model runs in the function's process (onnxruntime).
(proxy) BACKEND=proxy: the function calls the local model server (variant (c)
        of bench/serving.py, started once, already warm) over REST.

Reports per backend the median cold start and the warm p50/p90, and the
ratios onnx/proxy. Skips without ../shared. Hold the bench lock:

    flock /work/bench.lock .venv/bin/python -m bench.lambda_handler    (~3 min; the build once more)
    make bench-lambda
"""

import argparse
import os
import statistics
import sys
import tempfile
import time

from bench import serving as serving_bench
from bert_contract import ONNX_DIR, ONNX_INFO_FILE
from model_server.launch import running_server
from text_lambda.emulator import LambdaEmulator

ROOT = serving_bench.ROOT
RESULTS = serving_bench.RESULTS
MODEL_NAME = serving_bench.MODEL_NAME
CLIENT_BIN = os.path.join(ROOT, ".venv-client", "bin")


def onnx_dir_of(version_dir):
    """`<version>/onnx/`, converted by `python -m export.onnx` unless already there."""
    target = os.path.join(version_dir, ONNX_DIR)
    if not os.path.exists(os.path.join(target, ONNX_INFO_FILE)):
        import subprocess

        subprocess.run([sys.executable, "-m", "export.onnx", version_dir], cwd=ROOT, check=True)
    return target


def measure(emulator, texts, warm):
    """(cold ms, [warm ms]) for one fresh function instance."""
    with emulator:
        started = time.perf_counter()
        status, answer = emulator.invoke({"texts": [texts[0]]})
        cold = 1000 * (time.perf_counter() - started)
        if status != 200 or "predictions" not in answer:
            raise RuntimeError("cold invocation failed: %s %s\n%s" % (status, answer, emulator.log()))
        latencies = []
        for i in range(warm):
            started = time.perf_counter()
            status, answer = emulator.invoke({"texts": [texts[(i + 1) % len(texts)]]})
            latencies.append(1000 * (time.perf_counter() - started))
            if status != 200 or "predictions" not in answer:
                raise RuntimeError("warm invocation failed: %s %s" % (status, answer))
    return cold, latencies


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="fresh instances per backend, alternated")
    parser.add_argument("--warm", type=int, default=100, help="warm invocations per instance")
    parser.add_argument("--lambda_python", default=os.path.join(CLIENT_BIN, "python"), help="runs awslambdaric (make setup-lambda)")
    parser.add_argument("--rie", default=os.path.join(CLIENT_BIN, "aws-lambda-rie"))
    parser.add_argument("--model_dir", default=os.path.join(RESULTS, "gateway_model"), help="shared with bench/gateway.py")
    parser.add_argument("--output", default=os.path.join(RESULTS, "lambda_handler.json"))
    serving_args = serving_bench.parse_args(["--variants=c", "--concurrency=1"])
    return parser.parse_args(argv), serving_args


def main(argv=None):
    args, serving_args = parse_args(argv)
    if not os.path.isdir(serving_bench.SMS_DIR):
        print("bench/lambda_handler.py: %s is absent; skipping" % serving_bench.SMS_DIR)
        return 0
    for path in (args.lambda_python, args.rie):
        if not os.path.exists(path):
            print("bench/lambda_handler.py: no %s; run `make setup-lambda`" % path)
            return 1
    _, dynamic = serving_bench.build_exports(os.path.abspath(args.model_dir), serving_args.max_seq_length)
    version = serving_bench.latest_version(dynamic)
    model_dir = onnx_dir_of(version)
    texts = serving_bench.read_texts(os.path.join(serving_bench.SMS_DIR, "test.tsv"))
    work = tempfile.mkdtemp(prefix="bench-lambda-")
    load_before = os.getloadavg()
    results = {"onnx": [], "proxy": []}
    with running_server(serving_bench.server_flags("c", None, dynamic, work, serving_args), timeout=300) as server:
        environments = {
            "onnx": {"BACKEND": "onnx", "MODEL_NAME": MODEL_NAME, "MODEL_DIR": model_dir},
            "proxy": {"BACKEND": "proxy", "MODEL_NAME": MODEL_NAME, "PREDICTOR_URL": "http://127.0.0.1:%d" % server.rest_port},
        }
        print("export %s; %d rounds of a fresh instance per backend, %d warm invocations each" % (version, args.rounds, args.warm))
        for round_number in range(args.rounds):
            for backend in ("onnx", "proxy") if round_number % 2 == 0 else ("proxy", "onnx"):
                log_path = os.path.join(work, "%s-%d.log" % (backend, round_number))
                cold, warm = measure(LambdaEmulator(args.rie, args.lambda_python, environments[backend], log_path),
                                     texts, args.warm)
                results[backend].append({"round": round_number, "cold_ms": cold, "warm_ms": warm})
                print("  %-5s round %d: cold %7.0f ms, warm p50 %6.1f p90 %6.1f ms"
                      % (backend, round_number, cold, percentile(warm, 0.5), percentile(warm, 0.9)))
    summary = {}
    for backend, rows in results.items():
        warm = [ms for row in rows for ms in row["warm_ms"]]
        summary[backend] = {"cold_ms": statistics.median(row["cold_ms"] for row in rows),
                            "warm_p50_ms": percentile(warm, 0.5), "warm_p90_ms": percentile(warm, 0.9)}
    ratios = {key: summary["onnx"][key] / summary["proxy"][key] for key in summary["onnx"]}
    line = ("onnx: cold %.0f ms, warm p50 %.1f / p90 %.1f ms; proxy: cold %.0f ms, warm p50 %.1f / p90 %.1f ms; "
            "onnx/proxy: cold %.2fx, warm p50 %.2fx, p90 %.2fx" % (
                summary["onnx"]["cold_ms"], summary["onnx"]["warm_p50_ms"], summary["onnx"]["warm_p90_ms"],
                summary["proxy"]["cold_ms"], summary["proxy"]["warm_p50_ms"], summary["proxy"]["warm_p90_ms"],
                ratios["cold_ms"], ratios["warm_p50_ms"], ratios["warm_p90_ms"]))
    print("\n" + line)
    serving_bench.write_report(args.output, "bench.lambda_handler", argv, load_before, settings=vars(args), export=version,
                               results=results, summary=summary, ratios=ratios, line=line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
