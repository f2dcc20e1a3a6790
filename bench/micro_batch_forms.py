"""Micro-batches as one loop or as copies: graph building, first step and steady step time.

    flock /work/bench.lock .venv/bin/python -m bench.micro_batch_forms [--rounds 2 --steps 26]

Builds the training graph of the cached all-MiniLM-L6-v2 (`python -m pretrained fetch`) for a
binary classifier at batch 32 with 4 micro-batches, in both forms (`micro_batches.runs_in_loop`
decides between them in a real run), and runs it on random SMS-like lengths (2 threads).
Prints one JSON line per form and round; bench/README.md, "Micro-batches in one loop".
"""

import argparse
import json
import os
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def measure(in_loop: bool, steps: int) -> dict:
    import numpy as np
    import tensorflow.compat.v1 as tf
    from bert import modeling

    from bert_contract import INPUT_IDS, INPUT_MASK, LABEL_IDS, SEGMENT_IDS
    from bert_runner import micro_batches, model
    from bert_runner.classification import SequenceClassification

    micro_batches.runs_in_loop = lambda num_train_steps, num_micro_batches: in_loop
    flags = dict(line[2:].split("=", 1) for line in subprocess.run(
        [sys.executable, "-m", "pretrained", "fetch"], cwd=REPO, stdout=subprocess.PIPE, check=True,
        universal_newlines=True).stdout.splitlines() if line.startswith("--"))
    config = modeling.BertConfig.from_json_file(flags["bert_config_file"])
    rng = np.random.RandomState(0)
    start = time.time()
    with tf.Graph().as_default():
        tf.train.get_or_create_global_step()
        inputs = {key: tf.placeholder(tf.int32, [None, None]) for key in (INPUT_IDS, INPUT_MASK, SEGMENT_IDS)}
        inputs[LABEL_IDS] = tf.placeholder(tf.int32, [None])
        model_fn = model.model_fn_builder(SequenceClassification(), config, 2, flags["init_checkpoint"], 5e-5, steps,
                                          3, False, False, train_micro_batches=4)
        train_op = model_fn(inputs, None, tf.estimator.ModeKeys.TRAIN, {}).train_op
        built = time.time()
        session_config = tf.ConfigProto(intra_op_parallelism_threads=2, inter_op_parallelism_threads=2)
        with tf.Session(config=session_config) as session:
            session.run(tf.global_variables_initializer())
            times = []
            for _ in range(steps):
                lengths = np.minimum(rng.geometric(1 / 35, size=32) + 5, 128)  # SMS-like: ~40 tokens, a long tail
                mask = (np.arange(lengths.max())[None] < lengths[:, None]).astype(np.int32)
                feed = {inputs[INPUT_IDS]: rng.randint(1000, 20000, size=mask.shape) * mask, inputs[INPUT_MASK]: mask,
                        inputs[SEGMENT_IDS]: np.zeros_like(mask), inputs[LABEL_IDS]: rng.randint(0, 2, size=32)}
                begin = time.time()
                session.run(train_op, feed)
                times.append(time.time() - begin)
    return {"form": "loop" if in_loop else "copies", "build_s": round(built - start, 1),
            "first_step_s": round(times[0], 2), "steady_step_median_s": round(float(np.median(times[6:])), 3),
            "loadavg": [round(x, 2) for x in os.getloadavg()]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=2, help="(copies, loop) pairs, alternated (default: %(default)s)")
    parser.add_argument("--steps", type=int, default=26, help="steps per measurement (default: %(default)s)")
    parser.add_argument("--form", choices=("loop", "copies"), help=argparse.SUPPRESS)  # internal: one measurement
    args = parser.parse_args(argv)
    if args.form:
        print(json.dumps(measure(args.form == "loop", args.steps)))
        return 0
    for _ in range(args.rounds):
        for form in ("copies", "loop"):  # each in a fresh process: no graph or allocator state carried over
            done = subprocess.run([sys.executable, "-m", "bench.micro_batch_forms", "--form", form,
                                   "--steps", str(args.steps)], cwd=REPO, stdout=subprocess.PIPE,
                                  env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"), universal_newlines=True, check=True)
            print(done.stdout.strip().splitlines()[-1], flush=True)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, REPO)
    sys.exit(main())
