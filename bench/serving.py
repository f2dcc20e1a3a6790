"""Serving speed of a fine-tuned MiniLM on SMS test traffic, four ways side by side.

(a) fixed [-1,128] export, one session run per request (local server, batching off);
    (a0), with --full: the same with TF's default threads, as a server starts untuned
(b) fixed export, local server with dynamic batching
(c) dynamic-length export, local server with length-aware batching
    (pad_variable_length_inputs + --batching_length_buckets=auto); each request
    is padded only to its own length by the client
(d) the offline limit: in-process session runs over the same texts sorted by
    length, each batch padded to its longest text, at the best batch size and
    the best of 1 and --num_batch_threads concurrent callers
(d@32) the texts in a random order, sorted 32 at a time and cut into runs by
    the local server's rule: its batching at concurrency 32 without HTTP, JSON
    or queueing (a server with 32 requests in flight cannot sort more at once)

Every server and (d) get the same TF thread settings (--intra_op, --inter_op;
by default single-threaded runs, one batch thread per core: fastest here) and
the same runtime: with --server_python, (d) and (d@32) run in a child of that
Python too. Each side's Python and TF version are recorded in serving.json
("runtime") and printed under the table; a run whose offline limit measured
another TF than its servers stops with an error.

Requests are single texts from ../shared/data/sms_spam/test.tsv, featurized with
`featurizer.Featurizer` into REST :predict bodies once, then replayed in a cycle
by bench/loadgen.py's asyncio clients (loopback, keep-alive) for a fixed time
per concurrency.
Writes bench/results/serving.json and serving.png and prints a table with the
issue's targets. The exports are built once under bench/results/serving_model
(a 5-step fine-tune of the converted pretrained model: speed does not depend on
the weights) and reused by later runs.

    .venv/bin/python -m bench.serving                       # quick: 10 s per point, concurrency 1 and 32
    .venv/bin/python -m bench.serving --full                # 20 s per point, concurrency 1, 8, 32, 64
    .venv/bin/python -m bench.serving --server_python=.venv-tf2/bin/python   # the servers on TF 2.x
"""

import argparse
import csv
import datetime
import glob
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time

from bench.loadgen import drive, percentiles
from featurizer import EncodedInput, Featurizer, pad_batch
from model_server.launch import running_server

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

SHARED = os.path.join(os.path.dirname(ROOT), "shared")
SMS_DIR = os.path.join(SHARED, "data", "sms_spam")
PRETRAINED = os.path.join(ROOT, "cache", "pretrained", "all-MiniLM-L6-v2")
RESULTS = os.path.join(ROOT, "bench", "results")
MODEL_NAME = "sms"
VARIANTS = {
    "a0": "fixed-128 export, no batching, TF's default threads (untuned)",
    "a": "fixed-128 export, no batching (one run per request)",
    "b": "fixed-128 export, batching",
    "c": "dynamic export, length-aware batching",
}


# ------------------------------------------------------------------ the model


def build_exports(model_dir, max_seq_length):
    """Fine-tune a few steps and export fixed and dynamic versions, unless already there."""
    fixed, dynamic = os.path.join(model_dir, "export_fixed"), os.path.join(model_dir, "export_dynamic")
    if has_version(fixed) and has_version(dynamic):
        return fixed, dynamic
    if not os.path.exists(os.path.join(PRETRAINED, "bert_config.json")):
        subprocess.run([sys.executable, "-m", "pretrained", "fetch"], cwd=ROOT, check=True)
    common = [sys.executable, os.path.join(ROOT, "run_classifier.py"), "--task_name=generic",
              "--data_dir=" + SMS_DIR, "--max_seq_length=%d" % max_seq_length,
              "--bert_config_file=" + os.path.join(PRETRAINED, "bert_config.json"),
              "--vocab_file=" + os.path.join(PRETRAINED, "vocab.txt"), "--do_lower_case=true",
              "--output_dir=" + model_dir]
    if not glob.glob(os.path.join(model_dir, "model.ckpt-*.index")):
        subprocess.run(common + ["--do_train", "--num_train_epochs=0.01", "--train_batch_size=8",
                                 "--init_checkpoint=" + os.path.join(PRETRAINED, "bert_model.ckpt")],
                       cwd=ROOT, check=True)
    if not has_version(fixed):
        subprocess.run(common + ["--do_export", "--export_dir=" + fixed], cwd=ROOT, check=True)
    if not has_version(dynamic):
        subprocess.run(common + ["--do_export", "--export_dynamic_seq_length", "--export_dir=" + dynamic],
                       cwd=ROOT, check=True)
    return fixed, dynamic


def _versions(base):
    return sorted(int(name) for name in os.listdir(base) if name.isdigit()) if os.path.isdir(base) else []


def has_version(base):
    return bool(_versions(base))


def latest_version(base):
    return os.path.join(base, str(_versions(base)[-1]))


# ------------------------------------------------------------------ the traffic


def read_texts(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        return [row["text"] for row in rows]


def encode_texts(texts, max_seq_length):
    featurizer = Featurizer(os.path.join(PRETRAINED, "vocab.txt"), True, max_seq_length)
    return featurizer.encode_batch(texts)


def request_body(encoded, length):
    """One text's :predict body (columnar `inputs`, as serving_client sends), padded to `length`."""
    inputs = pad_batch([encoded], length)
    inputs["label_ids"] = [0]
    return json.dumps({"inputs": inputs}, separators=(",", ":")).encode("utf-8")


def client_bodies(rest_url, model_name, texts):
    """The very :predict bodies `serving_client` sends for `texts`, one text a request, for any task kind.

    Its decoder builds them from the served model's metadata (vocab, sequence layout, `label_ids`
    shape), so loadgen replays what the client would send without the client's own cost.
    """
    from serving_client import ServingClient

    with ServingClient(rest_url, model_name, batch_size=1) as client:
        model = client._loaded()
        return [json.dumps(body, separators=(",", ":")).encode("utf-8")
                for _, body, _ in model.decoder.batches(client, model, texts)]


# ------------------------------------------------------------------ servers


def batching_file(work, name, args, pad):
    lines = ["max_batch_size { value: %d }" % args.max_batch_size,
             "batch_timeout_micros { value: %d }" % args.batch_timeout_micros,
             "num_batch_threads { value: %d }" % args.num_batch_threads,
             "max_enqueued_batches { value: 100000 }"]
    lines += ["allowed_batch_sizes: %d" % int(s) for s in filter(None, args.allowed_batch_sizes.split(","))]
    if pad:
        lines.append("pad_variable_length_inputs: true")
    path = os.path.join(work, name)
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return path


def server_flags(variant, fixed, dynamic, work, args, model_name=MODEL_NAME):
    flags = ["--model_name=" + model_name, "--rest_api_num_threads=%d" % args.rest_api_num_threads]
    if variant == "a0":  # as tensorflow_model_server starts without thread flags
        return flags + ["--model_base_path=" + fixed]
    flags += ["--tensorflow_intra_op_parallelism=%d" % args.intra_op,
              "--tensorflow_inter_op_parallelism=%d" % args.inter_op]
    if variant == "a":
        return flags + ["--model_base_path=" + fixed]
    if variant == "b":
        return flags + ["--model_base_path=" + fixed, "--enable_batching",
                        "--batching_parameters_file=" + batching_file(work, "fixed.config", args, False)]
    return flags + ["--model_base_path=" + dynamic, "--enable_batching",
                    "--batching_parameters_file=" + batching_file(work, "dynamic.config", args, True),
                    "--batching_length_buckets=" + args.buckets,
                    "--batching_run_cost_tokens=%d" % args.run_cost_tokens]


def server_launcher(python, work):
    """An executable that runs `python -m model_server`: the server on another runtime (e.g. .venv-tf2)."""
    path = os.path.join(work, "model_server-" + os.path.basename(os.path.dirname(os.path.dirname(python))))
    with open(path, "w") as f:
        f.write('#!/bin/sh\nexec "%s" -m model_server "$@"\n' % os.path.abspath(python))
    os.chmod(path, 0o755)
    return path


def serve_and_drive(variant, flags, bodies, args):
    """Start the server, warm it with every body shape, then drive each concurrency."""
    rows = []
    with running_server(flags, timeout=300, binary=args.server_binary) as server:
        path = "/v1/models/%s:predict" % MODEL_NAME
        drive(server.rest_port, path, bodies, max(args.concurrency), args.warmup_seconds)
        for concurrency in args.concurrency:
            before = cpu_seconds(server.process.pid)
            row = drive(server.rest_port, path, bodies, concurrency, args.seconds)
            after = cpu_seconds(server.process.pid)
            row["variant"] = variant
            if before and after and row["requests"]:
                row["server_cpu_ms_per_request"] = 1000 * (after[0] - before[0]) / row["requests"]
                row["event_loop_cpu_ms_per_request"] = 1000 * (after[1] - before[1]) / row["requests"]
            rows.append(row)
            print("  (%s) c=%-3d %7.1f req/s  p50 %7.1f  p90 %7.1f  p99 %7.1f ms  errors %d%s%s" % (
                variant, concurrency, row["rps"], row["p50_ms"], row["p90_ms"], row["p99_ms"], row["errors"],
                "  server CPU %.2f ms/request (event loop %.2f)" % (
                    row["server_cpu_ms_per_request"], row["event_loop_cpu_ms_per_request"])
                if "server_cpu_ms_per_request" in row else "",
                "  first: " + row["first_error"] if row["first_error"] else ""))
            sys.stdout.flush()
    return rows


def write_report(path, module, argv, load_before, **fields):
    """A benchmark's JSON report: date, command, machine (load before and after) and its own fields."""
    report = {
        "date": datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join(["python -m " + module] + (argv if argv is not None else sys.argv[1:])),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "loadavg_before": load_before, "loadavg_after": os.getloadavg()},
    }
    report.update(fields)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(report, f, indent=1)
    print("wrote %s" % path)


def cpu_seconds(pid):
    """(whole process, its main thread = the REST event loop) CPU seconds from /proc, or None off Linux."""
    def read(path):
        with open(path) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime

    try:
        return read("/proc/%d/stat" % pid), read("/proc/%d/task/%d/stat" % (pid, pid))
    except (OSError, ValueError, IndexError):
        return None


# ------------------------------------------------------------------ offline limit


def offline(fixed, dynamic, encoded, args):
    """(d) sequences/sec over length-sorted batches, plus in-process batch-1 latency of both exports.

    The limit is the best of every batch size and caller count: 1 caller, and
    --offline_callers concurrent callers (as many as the server's batch threads),
    each with the servers' TF thread settings, so (d) is what the server's own
    configuration can do without HTTP, JSON or queueing. Each point runs whole
    passes over the texts for --offline_seconds, so one lucky second cannot
    set the limit.

    (d@N) puts the texts in a random order and sorts only N at a time (N = the
    target concurrency), cutting each group into runs with the local server's
    own rule (`length_runs`) at the best of --window_run_costs, with
    --offline_callers callers: the server's batching without HTTP, JSON or
    queueing, seeing every one of the N requests at once (the server sees
    only those not yet running).
    """
    import numpy as np

    def arrays(chunk, length):
        batch = {k: np.asarray(v, np.int32) for k, v in pad_batch(chunk, length).items()}
        batch["label_ids"] = np.zeros(len(chunk), np.int32)
        return batch

    ordered = sorted(encoded, key=lambda e: len(e.input_ids))
    points = [("all", callers, size, [ordered[i:i + size] for i in range(0, len(ordered), size)])
              for callers in sorted({1, args.offline_callers}) for size in args.offline_batch_sizes]
    points += [("window", args.offline_callers, cost, window_runs(encoded, args.window, args.max_batch_size, cost))
               for cost in args.window_run_costs]
    result = {"sorted_batches": [], "window": args.window, "runtime": this_runtime()}
    session, run = _load_export(dynamic, args)
    try:
        for order, callers, knob, chunks in points:
            batches = [arrays(chunk, None) for chunk in chunks]
            for batch in sorted(batches, key=lambda b: b["input_ids"].size)[-2:]:  # warm the largest shapes
                run(batch)
            rate = _rate(run, batches, callers, args.offline_seconds)
            if order == "all":
                result["sorted_batches"].append({"order": order, "batch_size": knob, "callers": callers,
                                                 "sequences_per_sec": rate})
                print("  (d) batch %-3d sorted by length, %d caller(s): %7.1f sequences/sec" % (knob, callers, rate))
            else:
                result["sorted_batches"].append({"order": order, "run_cost_tokens": knob, "callers": callers,
                                                 "mean_batch": len(encoded) / len(batches), "sequences_per_sec": rate})
                print("  (d@%d) run cost %-3d (%.1f texts a run), %d caller(s): %7.1f sequences/sec"
                      % (args.window, knob, len(encoded) / len(batches), callers, rate))
            sys.stdout.flush()
        sample = encoded[:args.latency_samples]
        result["batch1_dynamic"] = _batch1(run, [arrays([e], None) for e in sample])
    finally:
        session.close()
    session, run = _load_export(fixed, args)
    try:
        result["batch1_fixed"] = _batch1(run, [arrays([e], args.max_seq_length) for e in sample])
    finally:
        session.close()
    best = max((r for r in result["sorted_batches"] if r["order"] == "all"), key=lambda r: r["sequences_per_sec"])
    result["best_batch_size"], result["best_callers"] = best["batch_size"], best["callers"]
    result["sequences_per_sec"] = best["sequences_per_sec"]
    best = max((r for r in result["sorted_batches"] if r["order"] == "window"), key=lambda r: r["sequences_per_sec"])
    result["window_run_cost_tokens"] = best["run_cost_tokens"]
    result["window_sequences_per_sec"] = best["sequences_per_sec"]
    print("  in-process batch-1 p50: fixed %.1f ms, dynamic %.1f ms" % (
        result["batch1_fixed"]["p50_ms"], result["batch1_dynamic"]["p50_ms"]))
    return result


def window_runs(encoded, window, max_batch_size, run_cost_tokens, seed=0):
    """The texts in a fixed random order, `window` at a time cut into runs as the local server cuts its queue."""
    import random
    from model_server.batcher import length_runs

    shuffled = [_Queued(e) for e in encoded]
    random.Random(seed).shuffle(shuffled)
    runs = []
    for i in range(0, len(shuffled), window):
        runs += length_runs(shuffled[i:i + window], max_batch_size, run_cost_tokens)
    return [[queued.encoded for queued in run] for run in runs]


class _Queued(object):
    """A text as `length_runs` sees a queued request."""
    size = 1

    def __init__(self, encoded):
        self.encoded = encoded
        self.length = len(encoded.input_ids)


def offline_in_runtime(fixed, dynamic, encoded, args, argv):
    """(d) in the servers' runtime: with --server_python, a child of that Python measures it.

    The offline limit must run the TF the servers run (TF 2.19 vectorises erf, TF 1.15 does
    not), or the ratios (c)/(d) compare two runtimes instead of serving against its limit.
    The child gets this run's settings (`argv`) and a job file with the exports and the
    featurized texts, so it measures exactly what this process would, and writes its result
    (with its own `runtime`) back into the job file.
    """
    if not args.server_python:
        return offline(fixed, dynamic, encoded, args)
    fd, path = tempfile.mkstemp(prefix="bench-serving-offline-", suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump({"fixed": fixed, "dynamic": dynamic, "encoded": [list(e) for e in encoded]}, f)
    try:
        subprocess.run([args.server_python, "-m", "bench.serving"] + list(argv) + ["--offline_job=" + path],
                       cwd=ROOT, check=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
        with open(path) as f:
            return json.load(f)["offline"]
    finally:
        os.remove(path)


def offline_job(path, args):
    """The child's side of offline_in_runtime: measure the job's exports and texts, add the result to the file."""
    with open(path) as f:
        job = json.load(f)
    job["offline"] = offline(job["fixed"], job["dynamic"], [EncodedInput(*e) for e in job["encoded"]], args)
    with open(path, "w") as f:
        json.dump(job, f)


def this_runtime():
    """The Python and TensorFlow of this process (the one that measures (d))."""
    import tensorflow as tf
    return {"python": sys.executable, "python_version": platform.python_version(), "tensorflow": tf.__version__}


def server_runtime(python):
    """The Python and TensorFlow the servers run, as `python -m model_server --version` reports them."""
    done = subprocess.run([python, "-m", "model_server", "--version"], cwd=ROOT, stdout=subprocess.PIPE,
                          universal_newlines=True, check=True)
    version = done.stdout.strip().splitlines()[-1]  # "TensorFlow Library: 2.19.1"
    return {"python": os.path.abspath(python), "tensorflow": version.rsplit(":", 1)[-1].strip(), "version_line": version}


def check_same_runtime(server, offline_runtime):
    """Refuse a run whose (d) measured another TF than its servers: its (c)/(d) would compare runtimes.

    Compared by major.minor: the TF 1.15 server reports "1.15" (Python 3.7 has no importlib.metadata).
    """
    def release(version):
        return version.split(".")[:2]

    if release(server["tensorflow"]) != release(offline_runtime["tensorflow"]):
        raise SystemExit("bench/serving.py: the offline limit ran TF %s (%s) but the servers run TF %s (%s)"
                         % (offline_runtime["tensorflow"], offline_runtime["python"], server["tensorflow"],
                            server["python"]))


def runtime_line(runtime):
    """One line naming both sides' runtimes, printed under the table."""
    server, offline_runtime = runtime["server"], runtime["offline"]
    return "- runtime: servers TF %s (%s); offline (d), (d@N) TF %s (%s, Python %s)" % (
        server["tensorflow"], server["python"], offline_runtime["tensorflow"], offline_runtime["python"],
        offline_runtime["python_version"])


def _load_export(base, args):
    """A session over the latest version in `base` and run(batch dict) -> output, as the servers configure TF."""
    import tensorflow.compat.v1 as tf
    tf.get_logger().setLevel("ERROR")
    config = tf.ConfigProto(intra_op_parallelism_threads=args.intra_op, inter_op_parallelism_threads=args.inter_op)
    graph = tf.Graph()
    session = tf.Session(graph=graph, config=config)
    with graph.as_default():
        meta = tf.saved_model.loader.load(session, ["serve"], latest_version(base))
    signature = meta.signature_def["serving_default"]
    names = sorted(signature.inputs)
    fn = session.make_callable(signature.outputs["output"].name,
                               feed_list=[signature.inputs[n].name for n in names])
    return session, lambda batch: fn(*[batch[n] for n in names])


def _rate(run, batches, callers, seconds):
    """Sequences/sec of whole passes over `batches` until `seconds` passed, `callers` threads taking turns."""
    lock = threading.Lock()
    state = {"next": 0, "rows": 0}
    stop_at = time.monotonic() + seconds

    def take():
        with lock:
            index = state["next"]
            if index % len(batches) == 0 and index and time.monotonic() >= stop_at:
                return None  # only between passes
            state["next"] += 1
            batch = batches[index % len(batches)]
            state["rows"] += len(batch["label_ids"])
            return batch

    def caller():
        batch = take()
        while batch is not None:
            run(batch)
            batch = take()

    threads = [threading.Thread(target=caller) for _ in range(callers)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return state["rows"] / (time.monotonic() - started)


def best_of(first, second):
    """The faster of two offline measurements (each of d and d@N), keeping both passes' figures."""
    best = dict(max(first, second, key=lambda r: r["sequences_per_sec"]))
    best["passes"] = [first["sequences_per_sec"], second["sequences_per_sec"]]
    window = max(first, second, key=lambda r: r["window_sequences_per_sec"])
    for key in ("window_run_cost_tokens", "window_sequences_per_sec"):
        best[key] = window[key]
    best["window_passes"] = [first["window_sequences_per_sec"], second["window_sequences_per_sec"]]
    return best


def _batch1(run, batches):
    run(batches[0])
    times = []
    for batch in batches:
        started = time.monotonic()
        run(batch)
        times.append(time.monotonic() - started)
    return percentiles(times)


# ------------------------------------------------------------------ report


def point(rows, variant, concurrency):
    for row in rows:
        if row["variant"] == variant and row["concurrency"] == concurrency:
            return row
    return None


def targets(rows, offline, at):
    """The issue's three targets, each with its figures and whether it is met (None = not measured)."""
    a, c, a0 = point(rows, "a", at), point(rows, "c", at), point(rows, "a0", at)
    a1, c1 = point(rows, "a", 1), point(rows, "c", 1)
    limit, window = offline["sequences_per_sec"], offline["window_sequences_per_sec"]
    out = {}
    if c:
        out["c_vs_d"] = {"ratio": c["rps"] / limit, "goal": 0.9, "met": c["rps"] >= 0.9 * limit,
                         "what": "(c) at concurrency %d >= 0.9x (d)" % at}
        out["c_vs_d_window"] = {"ratio": c["rps"] / window, "goal": None, "met": None,
                                "what": "for reference, no target: (c) at concurrency %d / (d@%d)"
                                        % (at, offline["window"])}
    if a and c:
        out["c_vs_a"] = {"ratio": c["rps"] / a["rps"], "goal": 5.0, "met": c["rps"] >= 5 * a["rps"],
                         "what": "(c) at concurrency %d >= 5x (a)" % at}
    if a0 and c:  # not the target: (a) with the same TF threads as (c) is
        out["c_vs_a0"] = {"ratio": c["rps"] / a0["rps"], "goal": 5.0, "met": c["rps"] >= 5 * a0["rps"],
                          "what": "for reference: (c) at concurrency %d >= 5x the untuned (a0)" % at}
    if a1 and c1:
        ratio = a1["p50_ms"] / c1["p50_ms"]
        out["batch1_latency"] = {"ratio": ratio, "goal": 2.5, "met": ratio >= 2.5,
                                 "what": "batch-1 p50: fixed (a) / dynamic (c) >= 2.5x"}
    return out


def table(rows, offline, goals, runtime):
    limit, window = offline["sequences_per_sec"], offline["window_sequences_per_sec"]
    lines = ["| variant | concurrency | req/s | x (a) | x (d) | p50 ms | p90 ms | p99 ms | errors |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in rows:
        a = point(rows, "a", row["concurrency"])
        lines.append("| (%s) %s | %d | %.1f | %s | %.2f | %.1f | %.1f | %.1f | %d |" % (
            row["variant"], VARIANTS[row["variant"]], row["concurrency"], row["rps"],
            "%.2f" % (row["rps"] / a["rps"]) if a and a["rps"] else "-", row["rps"] / limit,
            row["p50_ms"], row["p90_ms"], row["p99_ms"], row["errors"]))
    tf_version = offline["runtime"]["tensorflow"]
    lines.append("| (d) offline on TF %s, sorted by length, best batch (%d, %d caller(s)) | - | %.1f seq/s | | 1.00 | | | | |"
                 % (tf_version, offline["best_batch_size"], offline["best_callers"], limit))
    lines.append("| (d@%d) offline on TF %s, sorted %d at a time, server's runs (cost %d) | - | %.1f seq/s | | %.2f | | | | |"
                 % (offline["window"], tf_version, offline["window"], offline["window_run_cost_tokens"], window,
                    window / limit))
    lines.append("")
    lines.append(runtime_line(runtime))
    for goal in goals.values():
        verdict = "" if goal["met"] is None else " -> MET" if goal["met"] else " -> not met"
        lines.append("- %s: %.2fx%s" % (goal["what"], goal["ratio"], verdict))
    return "\n".join(lines)


def plot(rows, offline, path, at):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    figure, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    for variant in sorted(VARIANTS):
        mine = [r for r in rows if r["variant"] == variant]
        if mine:
            left.plot([r["concurrency"] for r in mine], [r["rps"] for r in mine], "o-",
                      label="(%s) %s" % (variant, VARIANTS[variant]))
            row = point(rows, variant, at) or mine[-1]
            ordered = sorted(row["latencies_ms"])
            right.plot(ordered, [(i + 1) / len(ordered) for i in range(len(ordered))],
                       label="(%s) c=%d" % (variant, row["concurrency"]))
    left.axhline(offline["sequences_per_sec"], color="k", linestyle="--", label="(d) offline limit")
    left.axhline(offline["window_sequences_per_sec"], color="grey", linestyle=":",
                 label="(d@%d) sorted %d at a time" % (offline["window"], offline["window"]))
    left.set_xscale("log", base=2)
    left.set_xlabel("concurrent clients")
    left.set_ylabel("requests/sec (1 text each)")
    left.set_title("Throughput, all-MiniLM-L6-v2, SMS test texts")
    left.legend(fontsize=8)
    right.set_xscale("log")
    right.set_xlabel("latency (ms)")
    right.set_ylabel("fraction of requests")
    right.set_title("Latency distribution (CDF)")
    right.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=100)


# ------------------------------------------------------------------ main


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the full run: --seconds=20 --concurrency=1,8,32,64")
    parser.add_argument("--seconds", type=float, default=None, help="per point (default 10, --full 20)")
    parser.add_argument("--concurrency", default=None, help="comma list (default 1,32; --full 1,8,32,64)")
    parser.add_argument("--warmup_seconds", type=float, default=3.0)
    parser.add_argument("--variants", default=None, help="comma list of a0,a,b,c (default a,b,c; --full all)")
    parser.add_argument("--max_seq_length", type=int, default=128)
    parser.add_argument("--model_dir", default=os.path.join(RESULTS, "serving_model"))
    parser.add_argument("--max_batch_size", type=int, default=32)
    parser.add_argument("--batch_timeout_micros", type=int, default=0,
                        help="0: a batch closes when the batch thread is free, so it grows only under load")
    parser.add_argument("--num_batch_threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--allowed_batch_sizes", default="", help="comma list, last = max_batch_size")
    parser.add_argument("--buckets", default="auto", help="--batching_length_buckets for (c)")
    parser.add_argument("--run_cost_tokens", type=int, default=16, help="--batching_run_cost_tokens for (c)")
    parser.add_argument("--rest_api_num_threads", type=int, default=4)
    parser.add_argument("--intra_op", type=int, default=1,
                        help="TF intra-op threads of every server and of (d) (0 = TF's choice)")
    parser.add_argument("--inter_op", type=int, default=os.cpu_count() or 1,
                        help="TF inter-op threads of every server and of (d) (0 = TF's choice)")
    parser.add_argument("--offline_batch_sizes", default=None, help="comma list (default 8,12; --full 4,8,12,16,32)")
    parser.add_argument("--offline_seconds", type=float, default=None,
                        help="per (d) point, in whole passes over the texts (default 4, --full 8)")
    parser.add_argument("--window", type=int, default=32, help="N of (d@N): texts sorted at a time")
    parser.add_argument("--window_run_costs", default="8,16,32", help="run costs (tokens) tried for (d@N)")
    parser.add_argument("--offline_callers", type=int, default=None,
                        help="concurrent in-process callers tried for (d) besides 1 (default: --num_batch_threads)")
    parser.add_argument("--latency_samples", type=int, default=100, help="texts for in-process batch-1 latency")
    parser.add_argument("--server_python", default=None,
                        help="run the servers with this Python (e.g. .venv-tf2/bin/python: the TF 2.x runtime); "
                             "default: this one")
    parser.add_argument("--offline_job", default=None,
                        help=argparse.SUPPRESS)  # internal: measure (d) of this job file, in this Python (offline_job)
    parser.add_argument("--output", default=os.path.join(RESULTS, "serving.json"))
    parser.add_argument("--plot", default=os.path.join(RESULTS, "serving.png"))
    args = parser.parse_args(argv)
    args.seconds = args.seconds or (20.0 if args.full else 10.0)
    args.concurrency = [int(c) for c in (args.concurrency or ("1,8,32,64" if args.full else "1,32")).split(",")]
    args.variants = [v for v in (args.variants or ("a0,a,b,c" if args.full else "a,b,c")).split(",") if v]
    unknown = sorted(set(args.variants) - set(VARIANTS))
    if unknown:
        parser.error("--variants: unknown %s (choose from %s)" % (",".join(unknown), ", ".join(VARIANTS)))
    args.offline_batch_sizes = [int(s) for s in (args.offline_batch_sizes or ("4,8,12,16,32" if args.full else "8,12")).split(",")]
    args.window_run_costs = [int(s) for s in args.window_run_costs.split(",")]
    args.offline_seconds = args.offline_seconds or (8.0 if args.full else 4.0)
    args.offline_callers = args.offline_callers or args.num_batch_threads
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.offline_job:
        offline_job(args.offline_job, args)
        return 0
    if not os.path.isdir(SMS_DIR):
        print("bench/serving.py: %s is absent; skipping" % SMS_DIR)
        return 0
    fixed, dynamic = build_exports(os.path.abspath(args.model_dir), args.max_seq_length)
    texts = read_texts(os.path.join(SMS_DIR, "test.tsv"))
    encoded = encode_texts(texts, args.max_seq_length)
    lengths = [len(e.input_ids) for e in encoded]
    print("%d SMS test texts, %.1f tokens on average (max %d); exports %s, %s"
          % (len(texts), sum(lengths) / len(lengths), max(lengths), latest_version(fixed), latest_version(dynamic)))
    bodies = {"fixed": [request_body(e, args.max_seq_length) for e in encoded],
              "dynamic": [request_body(e, None) for e in encoded]}
    argv = list(argv if argv is not None else sys.argv[1:])
    load_before = os.getloadavg()
    print("offline limit (d), before the servers:")
    limit = offline_in_runtime(fixed, dynamic, encoded, args, argv)
    rows = []
    work = tempfile.mkdtemp(prefix="bench-serving-")
    args.server_binary = server_launcher(args.server_python, work) if args.server_python else None
    runtime = {"server": server_runtime(args.server_python or sys.executable), "offline": limit["runtime"]}
    check_same_runtime(runtime["server"], limit["runtime"])
    print("servers: %s (%s)" % (runtime["server"]["version_line"], runtime["server"]["python"]))
    for variant in args.variants:
        print("server (%s) %s:" % (variant, VARIANTS[variant]))
        flags = server_flags(variant, fixed, dynamic, work, args)
        rows += serve_and_drive(variant, flags, bodies["dynamic" if variant == "c" else "fixed"], args)
    print("offline limit (d), after the servers (the better of the two is the limit: the machine is shared):")
    again = offline_in_runtime(fixed, dynamic, encoded, args, argv)
    check_same_runtime(runtime["server"], again["runtime"])
    limit = best_of(limit, again)
    at = 32 if 32 in args.concurrency else max(args.concurrency)
    goals = targets(rows, limit, at)
    text = table(rows, limit, goals, runtime)
    print()
    print(text)
    report = {
        "date": datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"),
        "command": " ".join(["python -m bench.serving"] + argv),
        "runtime": runtime,  # the servers' and the offline limit's Python and TF (the same TF, checked)
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "loadavg_before": load_before, "loadavg_after": os.getloadavg()},
        "settings": dict(vars(args)),
        "texts": len(texts), "mean_tokens": sum(lengths) / len(lengths),
        "offline": limit, "results": rows, "targets": goals, "table": text,
    }
    os.makedirs(os.path.dirname(args.output), exist_ok=True)
    with open(args.output, "w") as f:
        json.dump(report, f, indent=1)
    plot(rows, limit, args.plot, at)
    print("\nwrote %s and %s" % (args.output, args.plot))
    return 0


if __name__ == "__main__":
    sys.exit(main())
