"""Why some WNUT-17 seeds collapse to an all-`O` tagger: the first steps' loss per seed and setting.

    .venv/bin/python -m bench.ner_collapse --seeds 1,2 --variants base,bias_correction,lr_5e-5 --steps 80

A collapsed fine-tune's batch loss stays at 0.2-0.45 while a learning one falls
(issue #27), so the first 60-100 steps of the full schedule (3 epochs: 318
steps, warm-up 31) tell the two apart at a quarter of a fine-tune's cost. Each
(variant, seed) trains `bench.ner`'s default settings with one thing changed,
stops after `--steps` steps of the *full* schedule, and records every step's
batch loss and global gradient norm (before clipping). Nothing is evaluated:
this separates candidate causes cheaply; the 5-seed dev/test table
(`bench.ner --seeds`) decides.

Variants (`--variants`):
  base             bench.ner's settings before issue #27 (lr 1e-4, warm-up 0.1, 4 micro-batches,
                   dynamic padding, the reference's optimizer: no bias correction)
  bias_correction  Adam's bias correction (`--adam_bias_correction`)
  lr_5e-5, lr_3e-5 a lower peak learning rate
  warmup_0.3       a longer warm-up
  whole            `--train_micro_batches=1` (the batch's loss in one piece)
  fixed            `--dynamic_padding=false --train_micro_batches=1`
  no_clip          no gradient clipping (the reference clips at global norm 1.0)
  no_dropout       encoder dropout 0 (the head's 0.1 stays)
  zero_head        the tagging layer starts at zero instead of N(0, 0.02)

Writes bench/results/ner_collapse.json and ner_collapse.png (one panel per variant).
"""

import argparse
import contextlib
import functools
import json
import logging
import os
import shutil
import sys
import tempfile
import time
from typing import Dict, List

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

from bench import ner, quality  # noqa: E402  (TF-free)

log = logging.getLogger("bench.ner_collapse")


def _patched(module: str, name: str, replacement):
    @contextlib.contextmanager
    def patch():
        import importlib

        target = importlib.import_module(module)
        original = getattr(target, name)
        setattr(target, name, replacement(original))
        try:
            yield
        finally:
            setattr(target, name, original)

    return patch


def _no_clip(original):
    return functools.partial(original, clip_norm=1e12)


def _zero_head(original):
    def output_layer(num_labels, hidden_size):
        import tensorflow.compat.v1 as tf
        from bert_contract.model_config import OUTPUT_BIAS, OUTPUT_WEIGHTS

        weights = tf.get_variable(OUTPUT_WEIGHTS, [num_labels, hidden_size], initializer=tf.zeros_initializer())
        return weights, tf.get_variable(OUTPUT_BIAS, [num_labels], initializer=tf.zeros_initializer())

    return output_layer


# name -> (RunOptions overrides, bert_config overrides, patch context or None)
VARIANTS = {
    "base": ({}, {}, None),
    "bias_correction": ({"adam_bias_correction": True}, {}, None),
    "lr_5e-5": ({"learning_rate": 5e-5}, {}, None),
    "lr_3e-5": ({"learning_rate": 3e-5}, {}, None),
    "warmup_0.3": ({"warmup_proportion": 0.3}, {}, None),
    "whole": ({"train_micro_batches": 1}, {}, None),
    "fixed": ({"train_micro_batches": 1, "dynamic_padding": False}, {}, None),
    "no_clip": ({}, {}, _patched("bert_runner.optimization", "create_optimizer", _no_clip)),
    "no_dropout": ({}, {"hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0}, None),
    "zero_head": ({}, {}, _patched("bert_runner.token_classification", "output_layer", _zero_head)),
}


class StepRecorder:
    """A SessionRunHook recording each step's batch loss and gradient norm."""

    def __new__(cls):
        import tensorflow.compat.v1 as tf

        from bert_runner.hooks import LOSS_COLLECTION
        from bert_runner.optimization import GRADIENT_NORM_COLLECTION

        class Recorder(tf.train.SessionRunHook):
            def __init__(self):
                self.rows = []  # [step (1-based), loss, gradient norm]

            def begin(self):
                self._fetches = {"loss": tf.get_collection(LOSS_COLLECTION)[0],
                                 "norm": tf.get_collection(GRADIENT_NORM_COLLECTION)[0]}

            def before_run(self, run_context):
                return tf.train.SessionRunArgs(self._fetches)

            def after_run(self, run_context, run_values):
                r = run_values.results
                self.rows.append([len(self.rows) + 1, float(r["loss"]), float(r["norm"])])

        return Recorder()


def probe(args, pretrained: Dict, variant: str, seed: int, work: str) -> Dict:
    """Train `variant` with `seed` for `args.steps` steps of the full schedule; the per-step record."""
    import dataclasses

    from bert_runner.estimator import build_estimator
    from bert_runner.inputs import input_fn, split_records
    from bert_runner.plan import Plan
    from bert_runner.run import _model_fn
    from bert_runner.token_classification import TokenClassification

    overrides, config_overrides, patch = VARIANTS[variant]
    output_dir = os.path.join(work, "%s-seed%d" % (variant, seed))
    options = ner.run_options(args, output_dir, pretrained, do_train=True, seed=seed, log_every_steps=20)
    # Every variant but bias_correction runs the reference's optimizer, whatever the family's default.
    options = dataclasses.replace(options, **dict({"adam_bias_correction": False}, **overrides))
    if config_overrides:
        with open(options.bert_config_file) as f:
            config = json.load(f)
        config.update(config_overrides)
        path = os.path.join(work, "bert_config-%s.json" % variant)
        with open(path, "w") as f:
            json.dump(config, f)
        options = dataclasses.replace(options, bert_config_file=path)
    started = time.perf_counter()
    with (patch() if patch else contextlib.nullcontext()):
        plan = Plan(options, TokenClassification())
        estimator = build_estimator(options, _model_fn(plan), plan.strategy)
        records = split_records(plan, "train", options.train_batch_size)
        recorder = StepRecorder()
        estimator.train(input_fn(plan, records, True, plan.replica_train_batch_size), max_steps=args.steps,
                        hooks=[recorder])
    shutil.rmtree(output_dir, ignore_errors=True)
    rows = recorder.rows
    tail = [loss for _, loss, _ in rows[-20:]]
    return {"variant": variant, "seed": seed, "steps": rows, "schedule_steps": plan.num_train_steps,
            "warmup_steps": plan.num_warmup_steps, "tail_mean_loss": sum(tail) / len(tail),
            "seconds": time.perf_counter() - started, "loadavg_after": os.getloadavg()}


def write_png(path: str, runs: List[Dict], smooth: int = 5) -> None:
    """One panel per variant, a line per seed: batch loss (moving mean over `smooth` steps), log scale."""
    plt = quality._pyplot()
    variants = list(dict.fromkeys(r["variant"] for r in runs))
    columns = min(3, len(variants))
    rows = (len(variants) + columns - 1) // columns
    figure, axes = plt.subplots(rows, columns, figsize=(4.6 * columns, 3.4 * rows), squeeze=False, sharey=True)
    for ax, variant in zip(axes.flat, variants):
        for run in (r for r in runs if r["variant"] == variant):
            steps = [s for s, _, _ in run["steps"]]
            losses = [loss for _, loss, _ in run["steps"]]
            mean = [sum(losses[max(0, i - smooth + 1):i + 1]) / len(losses[max(0, i - smooth + 1):i + 1])
                    for i in range(len(losses))]
            ax.plot(steps, mean, lw=1.2, label="seed %d" % run["seed"])
        ax.set_title(variant, fontsize=10)
        ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.legend(fontsize=8)
    for ax in list(axes.flat)[len(variants):]:
        ax.axis("off")
    axes[0][0].set_ylabel("batch loss (mean of %d steps)" % smooth)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="1,2")
    parser.add_argument("--variants", default="base,bias_correction")
    parser.add_argument("--steps", type=int, default=80, help="steps of the 3-epoch schedule to run (default 80)")
    parser.add_argument("--data_dir", default=ner.DEFAULT_DATA_DIR)
    parser.add_argument("--results_dir", default=ner.DEFAULT_RESULTS_DIR)
    parser.add_argument("--name", default="ner_collapse", help="output file name stem (default: %(default)s)")
    args = parser.parse_args(argv)
    unknown = [v for v in args.variants.split(",") if v not in VARIANTS]
    if unknown:
        parser.error("--variants: unknown %s (choose from %s)" % (",".join(unknown), ", ".join(VARIANTS)))
    # bench.ner's defaults for everything else.
    defaults, _ = ner.parse_args(["--parts", "quality", "--data_dir", args.data_dir])
    defaults.__dict__.update(steps=args.steps)
    if not ner.wnut_present(args.data_dir, parser):
        return 0
    quality.console_logging("bench.ner_collapse")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow.compat.v1 as tf

    tf.logging.set_verbosity(tf.logging.ERROR)
    from pretrained.fetch import fetch

    pretrained = fetch()
    work = tempfile.mkdtemp(prefix="bench-ner-collapse-")
    os.makedirs(args.results_dir, exist_ok=True)
    json_path = os.path.join(args.results_dir, args.name + ".json")
    runs = []
    if os.path.exists(json_path):  # add to an earlier run's results (same steps)
        with open(json_path) as f:
            runs = [r for r in json.load(f)["runs"] if len(r["steps"]) == args.steps]
    try:
        for variant in args.variants.split(","):
            for seed in (int(s) for s in args.seeds.split(",")):
                load = os.getloadavg()
                run = probe(defaults, pretrained, variant, seed, work)
                run["loadavg_before"] = load
                runs = [r for r in runs if (r["variant"], r["seed"]) != (variant, seed)] + [run]
                log.info("%s seed %d: mean batch loss over the last 20 of %d steps %.4f (%.0f s, load %.2f before)",
                         variant, seed, args.steps, run["tail_mean_loss"], run["seconds"], load[0])
                with open(json_path, "w") as f:
                    json.dump({"runs": runs}, f)
                write_png(os.path.join(args.results_dir, args.name + ".png"), runs)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print("| variant | seed | mean batch loss, last 20 of %d steps | median gradient norm | s |" % args.steps)
    print("|---|---:|---:|---:|---:|")
    for run in runs:
        norms = sorted(n for _, _, n in run["steps"])
        print("| %s | %d | %.4f | %.2f | %.0f |" % (run["variant"], run["seed"], run["tail_mean_loss"],
                                                   norms[len(norms) // 2], run["seconds"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
