#!/usr/bin/env python
"""The main job, end to end: pretrained BERT -> fine-tune -> evaluate -> export -> serve -> query.

    make demo            (or, from the repository root: .venv/bin/python -m scripts.demo)
    make demo-ner        (or: .venv/bin/python -m scripts.demo --task=ner): entities instead of classes

Every stage is the project's real command: `python -m pretrained fetch`,
`run_classifier.py` (`run_ner.py` for --task=ner), "the model server" (tensorflow_model_server when on PATH,
the local drop-in otherwise) and the `serving_client` CLI. A second run reuses
the converted model, the cached features, the trained checkpoint and the export.
"""

import argparse
import glob
import os
import subprocess
import sys
import time

from bert_contract.model_config import POOLINGS
from model_server.launch import running_server

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

STAGES = 5
# What differs between the classifier demo and the NER demo.
TASKS = {
    "classify": {"entry_point": "run_classifier.py", "flags": ["--task_name=generic"], "data": "demo", "run": "demo",
                 "epochs": "4"},
    "ner": {"entry_point": "run_ner.py", "flags": [], "data": "ner_demo", "run": "demo_ner", "epochs": "5"},
}


def stage(number, title):
    print("\n[%d/%d] %s" % (number, STAGES, title), flush=True)


def run(command, **kwargs):
    """Runs a project command, streaming its output; stops the demo if it fails."""
    print("$ " + " ".join(command), flush=True)
    result = subprocess.run(command, cwd=REPO, **kwargs)
    if result.returncode != 0:
        sys.exit("demo stopped: the command above failed (exit %d)" % result.returncode)
    return result


def pretrained_flags(python):
    out = run([python, "-m", "pretrained", "fetch"], stdout=subprocess.PIPE, universal_newlines=True).stdout
    return [line for line in out.split() if line.startswith("--")]


def latest_version(export_dir):
    versions = [int(name) for name in os.listdir(export_dir) if name.isdigit()] if os.path.isdir(export_dir) else []
    return os.path.join(export_dir, str(max(versions))) if versions else None


def export_is_current(output_dir, export_dir):
    """True when the newest export was written after the newest checkpoint."""
    version = latest_version(export_dir)
    checkpoints = glob.glob(os.path.join(output_dir, "model.ckpt-*.index"))
    return bool(version and checkpoints) and os.path.getmtime(version) >= max(map(os.path.getmtime, checkpoints))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", choices=sorted(TASKS), default="classify")
    parser.add_argument("--data_dir")
    parser.add_argument("--output_dir")
    parser.add_argument("--epochs")
    parser.add_argument("--queries")
    parser.add_argument("--pooling", choices=POOLINGS,
                        help="the classifier's sentence vector (default: the model's own, mean for all-MiniLM-L6-v2); "
                             "cls for a model to take to Hugging Face")
    args = parser.parse_args()
    if args.pooling and args.task == "ner":
        parser.error("--pooling: the tagger classifies every token's own vector")
    task = TASKS[args.task]
    data = os.path.join(REPO, "data", task["data"])
    args.data_dir = args.data_dir or data
    args.output_dir = args.output_dir or os.path.join(REPO, "runs", task["run"])
    args.epochs = args.epochs or task["epochs"]
    args.queries = args.queries or os.path.join(data, "queries.txt")
    python = sys.executable
    output_dir = os.path.abspath(args.output_dir)
    export_dir = os.path.join(output_dir, "export")
    started = time.time()

    stage(1, "pretrained model: download, verify and convert all-MiniLM-L6-v2 (once)")
    model_flags = pretrained_flags(python)
    vocab_file = next(flag.split("=", 1)[1] for flag in model_flags if flag.startswith("--vocab_file="))

    stage(2, "fine-tune and evaluate on %s" % os.path.relpath(args.data_dir, REPO))
    classifier = [
        python,
        task["entry_point"],
        "--data_dir=" + args.data_dir,
        "--output_dir=" + output_dir,
        "--export_dir=" + export_dir,
        "--max_seq_length=64",
        "--train_batch_size=16",
        "--eval_batch_size=32",
        "--learning_rate=1e-4",
        "--num_train_epochs=" + args.epochs,
        "--save_checkpoints_steps=100000",
        "--log_every_steps=10",
        "--seed=42",
    ] + task["flags"] + model_flags + (["--pooling=" + args.pooling] if args.pooling else [])
    run(classifier + ["--do_train", "--do_eval"])

    stage(3, "export a SavedModel for TF Serving")
    if export_is_current(output_dir, export_dir):
        print("reusing %s (newer than the checkpoint)" % latest_version(export_dir))
    else:
        run(classifier + ["--do_export"])
    version = latest_version(export_dir)

    stage(4, "start the model server on free loopback ports")
    with running_server(["--model_name=demo", "--model_base_path=" + export_dir], timeout=180) as server:
        print("serving %s at %s (gRPC %s)" % (version, server.rest_url, server.grpc_target), flush=True)

        stage(5, "query it with the client: %s" % os.path.relpath(args.queries, REPO))
        run(
            [
                python,
                "-m",
                "serving_client",
                "--server=" + server.rest_url,
                "--model=demo",
                "--vocab=" + vocab_file,
                "--file=" + args.queries,
                "--no-progress",
            ]
        )
    print("\nmodel server stopped. Demo finished in %.0f s; outputs in %s" % (time.time() - started, os.path.relpath(output_dir, REPO)))


if __name__ == "__main__":
    main()
