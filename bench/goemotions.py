"""Multi-label classification on GoEmotions: fine-tuned all-MiniLM-L6-v2 vs TF-IDF + logistic regression.

    .venv/bin/python -m bench.goemotions --parts baseline,training      # ~10 min on 2 cores
    .venv/bin/python -m bench.goemotions --parts bert --seed 1           # one seed (~20-30 min); repeat for 2, 3
    .venv/bin/python -m bench.goemotions --parts report                  # the table over what has finished
    .venv/bin/python -m bench.goemotions --parts serving                 # client + server texts/s, gateway vs direct (~5 min)
    .venv/bin/python -m bench.goemotions --quick --parts baseline,bert,training,serving   # smoke run; figures meaningless

Data: ../shared/data/goemotions (train 43,410 / dev 5,426, 28 labels; the test split is
not there on purpose). Everything is chosen on dev and dev figures are reported; each
part writes bench/results/goemotions-<part>.json, so the parts can run (and hold
/work/bench.lock) one at a time, and `report` reads what is there.

- baseline: TF-IDF (word 1-2 grams, sublinear tf, min_df 2) + one-vs-rest logistic
  regression (liblinear); C and ONE global decision threshold chosen together on dev
  (macro F1), as the issue's reference point (~43 dev macro F1).
- bert: all-MiniLM-L6-v2 (`python -m pretrained fetch`) fine-tuned with the library code
  of `run_classifier.py --task_name=goemotions --tune_thresholds` (the multi-label family,
  `bert_runner/multi_label.py`), one seed per run. Reported at three threshold choices
  from the same dev probabilities: 0.5 for every label; one global threshold chosen on
  dev; one per label chosen on dev (the runner's `--tune_thresholds`, the exported
  choice). The last two are chosen and scored on the same rows, so they flatter; the
  per-label choice is also scored two-fold (thresholds tuned on one half of dev, scored on
  the other, and back), an estimate of what they give on unseen text. The dev probabilities
  are kept as bench/results/goemotions-bert-seed-<n>-dev-probabilities.tsv.
- training: steady training examples/sec (after the runner's warm-up steps) of the default
  input (length-aware: batches padded to their longest, 4 micro-batches) against every
  batch padded to 128 and run whole, alternated, same code and settings
  (`bench.ner.training_part`). Target >= 3x.
- serving: a multi-label export with a dynamic sequence length (a 5-step fine-tune,
  built once under <results_dir>/goemotions_serving_model and reused: speed does not
  depend on the weights; or `--export_dir`) served as bench/serving.py's variant (c).
  Dev texts, one per request, through the real client (`ServingClient.predict_batch`:
  featurize, HTTP, decide each label at its threshold) at 1 and 32 in flight, and the
  same requests replayed by bench/loadgen.py (the server alone): `bench.ner.serving_part`.
  Then the text gateway against those direct requests at concurrency 32, alternated
  rounds (`bench.gateway.compare`). Target: gateway >= 0.8x direct; texts/s have none.
- report: mean, sample sd and minimum over the seeds that finished; the table for
  bench/README.md.
"""

import argparse
import dataclasses
import datetime
import glob
import json
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
from typing import Dict, List, Sequence

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

from bench import ner, quality  # noqa: E402
from bench import serving as serving_bench  # noqa: E402  (TF-free: exports' versions)
from bench.quality import Timer, _shown  # noqa: E402

DEFAULT_DATA_DIR = os.path.normpath(os.path.join(REPO, "..", "shared", "data", "goemotions"))
DEFAULT_RESULTS_DIR = os.path.join(HERE, "results")
# Chosen on dev (bench/README.md): 3 epochs gave seed 1 dev macro F1 51.34 against 2 epochs' 48.00;
# the rare labels need the extra updates.
GOEMOTIONS_EPOCHS = 3.0
PARTS = ("baseline", "bert", "training", "serving", "report")
MACRO_F1_TARGET = 0.48
MARGIN_TARGET = 0.05  # BERT - baseline, dev macro F1
C_GRID = (1.0, 4.0, 16.0)
SERVING_STEPS = 5  # fine-tune steps of the serving export (its speed does not depend on the weights)
SERVING_MODEL_NAME = "goemotions"
QUICK_SERVING_TEXTS = 200

log = logging.getLogger("bench.goemotions")


def read_splits(data_dir: str):
    """(texts, multi-hot gold, label names) per split, read by the runner's own GoEmotions reader."""
    from bert_runner.multi_label import GoEmotionsTask, multi_hot

    task = GoEmotionsTask(data_dir)
    labels = task.get_labels()
    splits = {}
    for split in ("train", "dev"):
        examples = task.get_examples(split)
        splits[split] = ([e.text_a for e in examples], np.array(multi_hot(examples, labels), bool))
    return splits, labels


# ---------------------------------------------------------------- threshold choices (shared by both models)


def best_global_threshold(probabilities, gold, labels) -> Dict:
    """The one threshold of the runner's grid with the best macro F1 on these rows (ties: nearest 0.5)."""
    from bert_runner.multi_label import THRESHOLD_GRID, decide, multi_label_scores

    best = None
    for t in THRESHOLD_GRID:
        f1 = multi_label_scores(gold, decide(probabilities, [t] * len(labels)), labels)["macro_f1"]
        if best is None or f1 > best[1] + 1e-12 or (abs(f1 - best[1]) <= 1e-12 and abs(t - 0.5) < abs(best[0] - 0.5)):
            best = (t, f1)
    return {"threshold": best[0], "scores": multi_label_scores(gold, decide(probabilities, [best[0]] * len(labels)), labels)}


def two_fold_per_label(probabilities, gold, labels, seed: int = 0) -> Dict:
    """Per-label thresholds tuned on one random half of dev and scored on the other, both ways, pooled."""
    from bert_runner.multi_label import decide, multi_label_scores, tune_thresholds

    order = np.random.RandomState(seed).permutation(len(gold))
    halves = [order[: len(order) // 2], order[len(order) // 2:]]
    decided = np.zeros_like(gold)
    for tune, score in (halves, halves[::-1]):
        decided[score] = decide(probabilities[score], tune_thresholds(probabilities[tune], gold[tune]))
    return multi_label_scores(gold, decided, labels)


def threshold_choices(probabilities, gold, labels) -> Dict:
    """Each threshold choice's dev scores; `per_label_without_low_end` is the runner's grid before LOW_THRESHOLDS."""
    from bert_runner.multi_label import STEP_THRESHOLDS, decide, multi_label_scores, tune_thresholds

    per_label = tune_thresholds(probabilities, gold)
    coarse = tune_thresholds(probabilities, gold, grid=STEP_THRESHOLDS)
    best = best_global_threshold(probabilities, gold, labels)
    return {
        "default_0.5": multi_label_scores(gold, decide(probabilities, [0.5] * len(labels)), labels),
        "global_on_dev": dict(best["scores"], threshold=best["threshold"]),
        "per_label_on_dev": dict(multi_label_scores(gold, decide(probabilities, per_label), labels),
                                 thresholds=per_label),
        "per_label_two_fold": two_fold_per_label(probabilities, gold, labels),
        "per_label_without_low_end": dict(multi_label_scores(gold, decide(probabilities, coarse), labels),
                                          thresholds=coarse),
    }


# ---------------------------------------------------------------- baseline


def baseline_part(args, splits, labels, timer: Timer) -> Dict:
    """TF-IDF 1-2 grams + one-vs-rest logistic regression; C and one global threshold chosen on dev."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    train_texts, train_gold = splits["train"]
    dev_texts, dev_gold = splits["dev"]
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, lowercase=True)
    x_train = timer("baseline: TF-IDF fit", vectorizer.fit_transform, train_texts)
    x_dev = vectorizer.transform(dev_texts)
    tried, best = [], None
    for c in args.c_grid:
        model = OneVsRestClassifier(LogisticRegression(C=c, solver="liblinear", max_iter=1000))
        timer("baseline: fit C=%g" % c, model.fit, x_train, train_gold.astype(int))
        probabilities = model.predict_proba(x_dev)
        choice = best_global_threshold(probabilities, dev_gold, labels)
        tried.append({"C": c, "threshold": choice["threshold"], "dev_macro_f1": choice["scores"]["macro_f1"]})
        log.info("baseline C=%g: dev macro F1 %.4f at threshold %.2f", c, choice["scores"]["macro_f1"],
                 choice["threshold"])
        if best is None or choice["scores"]["macro_f1"] > best[1]["scores"]["macro_f1"]:
            best = (c, choice, probabilities)
    c, choice, probabilities = best
    return {"settings": {"C": c, "threshold": choice["threshold"], "grid": tried, "features": len(vectorizer.vocabulary_),
                         "vectorizer": "TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True)",
                         "classifier": "OneVsRestClassifier(LogisticRegression(solver='liblinear'))"},
            "dev": choice["scores"], "dev_choices": threshold_choices(probabilities, dev_gold, labels)}


# ---------------------------------------------------------------- BERT


def run_options(args, output_dir: str, pretrained: Dict, **overrides):
    """bench/quality.py's settings (same argument names) for `--task_name=goemotions`."""
    options = quality.run_options(args, output_dir, pretrained)
    return dataclasses.replace(options, task_name="goemotions", labels=[], save_checkpoints_steps=100000, **overrides)


def _run(options):
    from bert_runner.run import run

    return run(options)


def bert_part(args, splits, labels, pretrained, work: str, timer: Timer) -> Dict:
    """Fine-tune on train with one seed; dev probabilities (predicted as a "test" file) scored at each threshold choice."""
    model_dir = os.path.join(work, "bert-seed-%d" % args.seed)
    options = run_options(args, model_dir, pretrained, do_train=True, do_eval=True, do_predict=True,
                          tune_thresholds=True, test_file=os.path.join(args.data_dir, "dev.tsv"))
    load = os.getloadavg()
    summary = timer("BERT seed %d: fine-tune, evaluate and predict dev" % args.seed, _run, options)
    probabilities = np.loadtxt(summary["predict"]["results_file"], delimiter="\t", ndmin=2)
    kept = os.path.join(args.results_dir, "goemotions-bert-seed-%d-dev-probabilities.tsv" % args.seed)
    shutil.copyfile(summary["predict"]["results_file"], kept)  # to score other threshold choices without training
    dev_gold = splits["dev"][1]
    choices = threshold_choices(probabilities, dev_gold, labels)
    exported = summary["eval"]["thresholds"]
    assert np.allclose(exported, choices["per_label_on_dev"]["thresholds"]), "the runner tuned other thresholds"
    settings = {key: getattr(options, key) for key in (
        "max_seq_length", "train_batch_size", "learning_rate", "num_train_epochs", "warmup_proportion", "seed",
        "dynamic_padding", "train_micro_batches")}
    settings.update(pretrained=pretrained.get("origin"), train_steps=summary["train"]["steps"],
                    pooling=summary["train"]["pooling"], adam_bias_correction=summary["train"]["adam_bias_correction"])
    return {"settings": settings, "dev_choices": choices, "eval": summary["eval"], "loadavg_before": load,
            "training_examples_per_sec": summary["train"]["examples_per_sec"],
            "steady_examples_per_sec": summary["train"]["steady_examples_per_sec"]}


# ---------------------------------------------------------------- serving


def serving_export(args, fetch, timer: Timer) -> str:
    """A dynamic-length multi-label export of a SERVING_STEPS-step fine-tune, built once and reused.

    As bench/serving.py's exports: speed does not depend on the weights, so a few steps on the
    first rows of train.tsv do; the model dir lives under --results_dir (git ignores it).
    """
    model_dir = os.path.join(os.path.abspath(args.results_dir), "goemotions_serving_model")
    export_dir = os.path.join(model_dir, "export_dynamic")
    if serving_bench.has_version(export_dir):
        log.info("serving: reusing %s", _shown(serving_bench.latest_version(export_dir)))
        return export_dir
    shutil.rmtree(model_dir, ignore_errors=True)  # a half-built one from an interrupted run
    os.makedirs(model_dir)
    train_file = os.path.join(model_dir, "train-head.tsv")
    with open(os.path.join(args.data_dir, "train.tsv"), encoding="utf-8") as f, open(train_file, "w", encoding="utf-8") as out:
        out.writelines(line for _, line in zip(range(SERVING_STEPS * args.batch_size), f))
    timer("serving: %d-step fine-tune and dynamic-length export" % SERVING_STEPS, _run, run_options(
        args, model_dir, fetch(), do_train=True, num_train_epochs=1.0, train_file=train_file, do_export=True,
        export_dir=export_dir, export_dynamic_seq_length=True))
    return export_dir


def labels_assigned(results) -> Dict:
    """What `predict_batch` decided, recorded beside its speed: the answers were decoded, not just received."""
    return {"labels_assigned": sum(len(r.labels) for r in results),
            "texts_without_label": sum(1 for r in results if not r.labels)}


def serving_part(args, texts: List[str], timer: Timer, fetch) -> Dict:
    """Client + local server and the server alone at each concurrency (bench.ner's), then gateway vs direct.

    `fetch()` gives the pretrained checkpoint, called only when the serving export is built.
    """
    from bench import gateway
    from bert_runner.errors import RunnerError

    gateway_args, gateway_server_args = gateway.parse_args(
        ["--seconds=%g" % args.serving_seconds] + (["--rounds=1", "--warmup_seconds=1"] if args.quick else []))
    if not os.path.exists(gateway_args.gateway_python):
        raise RunnerError("serving: no %s for the text gateway (make setup-gateway)" % gateway_args.gateway_python)
    export_dir = os.path.abspath(args.export_dir) if args.export_dir else serving_export(args, fetch, timer)
    texts = texts[:QUICK_SERVING_TEXTS] if args.quick else texts
    client = timer("serving: client + local server, server alone", ner.serving_part, args, export_dir, texts, timer,
                   method="predict_batch", model_name=SERVING_MODEL_NAME, tally=labels_assigned)
    versus = timer("serving: gateway vs direct, concurrency %d" % gateway_args.concurrency, gateway.compare,
                   export_dir, texts, gateway_args, gateway_server_args, SERVING_MODEL_NAME)
    log.info("serving: %s", versus["summary"])
    return {"export_dir": export_dir, "client": client, "gateway": dict(versus, settings={
        key: getattr(gateway_args, key) for key in ("seconds", "rounds", "warmup_seconds", "upstream_concurrency")})}


def serving_lines(serving: Dict, quick: bool = False) -> List[str]:
    """The report's serving rows and its one target (gateway >= 0.8x direct)."""
    versus = serving["gateway"]
    lines = ner.serving_table(serving["client"], "GoEmotions dev texts" + (" (--quick: figures meaningless)" if quick else ""))
    lines += ["- client + server texts/s at concurrency %s: no target (reported)"
              % " and ".join(str(row["concurrency"]) for row in serving["client"]["rows"]),
              "- gateway / direct at concurrency %d >= %.1fx: %.1f / %.1f texts/s = %.2fx -> %s; "
              "gateway CPU %.2f ms/text (alternated rounds: %d of %g s per side)"
              % (versus["concurrency"], versus["target"], versus["gateway_rps"], versus["direct_rps"], versus["ratio"],
                 "MET" if versus["target_met"] else "not met", versus["gateway_cpu_ms_per_text"],
                 versus["settings"]["rounds"], versus["settings"]["seconds"]),
              ""]
    return lines


# ---------------------------------------------------------------- report


CHOICES = (("default_0.5", "0.5 for every label"), ("global_on_dev", "one global threshold chosen on dev"),
           ("per_label_on_dev", "per label on dev (--tune_thresholds, exported)"),
           ("per_label_two_fold", "per label, two-fold on dev (unseen-half estimate)"))
FIGURES = (("macro_f1", "macro F1"), ("micro_f1", "micro F1"), ("subset_accuracy", "subset accuracy"))


def spread(values: Sequence[float]) -> Dict:
    return {"n": len(values), "mean": statistics.mean(values), "sd": statistics.stdev(values) if len(values) > 1 else None,
            "min": min(values), "values": list(values)}


def _cell(s: Dict) -> str:
    sd = "%.2f" % (100 * s["sd"]) if s["sd"] is not None else "-"
    return "%.2f ± %s (min %.2f, n=%d)" % (100 * s["mean"], sd, 100 * s["min"], s["n"])


def report(results_dir: str) -> Dict:
    """Mean/sd/min over the finished seeds, the baseline, the speed ratio; a markdown text."""
    parts = {}
    for path in sorted(glob.glob(os.path.join(results_dir, "goemotions-*.json"))):
        with open(path) as f:
            parts[os.path.basename(path)[len("goemotions-"):-len(".json")]] = json.load(f)
    seeds = [parts[k]["bert"] for k in sorted(parts) if k.startswith("bert-seed-")]
    baseline = parts.get("baseline", {}).get("baseline")
    lines = []
    summary = {"seeds": [s["settings"]["seed"] for s in seeds]}
    if seeds:
        s0 = seeds[0]["settings"]
        differ = sorted({key for s in seeds for key in set(s["settings"]) | set(s0)
                         if key != "seed" and s["settings"].get(key) != s0.get(key)})
        if differ:  # e.g. a result file left from before --pooling
            lines += ["**The seeds ran with different settings** (%s): the figures below mix them." % "; ".join(
                "%s: %s" % (key, ", ".join("%s for seed %s" % (s["settings"].get(key), s["settings"]["seed"])
                                           for s in seeds)) for key in differ), ""]
            summary["mixed_settings"] = differ
        lines += ["BERT: %s, %g epochs (%d steps), lr %g, batch %d, max_seq_length %d, %s pooling, seeds %s"
                  % (s0["pretrained"], s0["num_train_epochs"], s0["train_steps"], s0["learning_rate"],
                     s0["train_batch_size"], s0["max_seq_length"], s0.get("pooling") or "cls",
                     ", ".join(str(x) for x in summary["seeds"])), "",
                  "| dev, threshold choice | model | macro F1 | micro F1 | subset accuracy |", "|---|---|---:|---:|---:|"]
        for key, name in CHOICES:
            figures = {f: spread([s["dev_choices"][key][f] for s in seeds]) for f, _ in FIGURES}
            summary[key] = figures
            lines.append("| %s | BERT | %s |" % (name, " | ".join(_cell(figures[f]) for f, _ in FIGURES)))
            if baseline:
                b = baseline["dev_choices"][key]
                lines.append("| %s | TF-IDF + LR | %s |" % (name, " | ".join("%.2f" % (100 * b[f]) for f, _ in FIGURES)))
        if all("per_label_without_low_end" in s["dev_choices"] for s in seeds):
            coarse = spread([s["dev_choices"]["per_label_without_low_end"]["macro_f1"] for s in seeds])
            summary["per_label_without_low_end"] = {"macro_f1": coarse}
            lines += ["", "per label on dev without the grid's low end (0.05..0.95 only, the grid before "
                          "2026-12-07): macro F1 %s" % _cell(coarse)]
        globals_chosen = [s["dev_choices"]["global_on_dev"]["threshold"] for s in seeds]
        lines += ["", "global threshold chosen on dev per seed: %s" % ", ".join("%.2f" % t for t in globals_chosen)]
        exported = summary["per_label_on_dev"]["macro_f1"]
        lines.append("- BERT dev macro F1 (per label, exported) >= %.0f: mean %.2f, min %.2f -> %s"
                     % (100 * MACRO_F1_TARGET, 100 * exported["mean"], 100 * exported["min"],
                        "MET" if exported["min"] >= MACRO_F1_TARGET else "not met"))
        if baseline:
            margin = exported["min"] - baseline["dev_choices"]["global_on_dev"]["macro_f1"]
            lines.append("- BERT (min over seeds) - baseline (C and one threshold on dev) >= %.0f points: %+.2f -> %s"
                         % (100 * MARGIN_TARGET, 100 * margin, "MET" if margin >= MARGIN_TARGET else "not met"))
        labels = seeds[0]["eval"]["labels"]
        lines += ["", "| label | dev support | BERT F1, per-label thresholds (mean over seeds) | threshold (seed %s) | "
                      "TF-IDF + LR F1 (its global threshold) |" % summary["seeds"][0], "|---|---:|---:|---:|---:|"]
        for i, label in enumerate(labels):
            f1 = statistics.mean(s["dev_choices"]["per_label_on_dev"]["per_label"][label]["f1"] for s in seeds)
            support = seeds[0]["dev_choices"]["per_label_on_dev"]["per_label"][label]["support"]
            base = baseline["dev"]["per_label"][label]["f1"] if baseline else float("nan")
            lines.append("| %s | %d | %.2f | %.2f | %.2f |" % (
                label, support, 100 * f1, seeds[0]["dev_choices"]["per_label_on_dev"]["thresholds"][i], 100 * base))
        lines.append("")
    if baseline:
        b = baseline["settings"]
        lines += ["baseline: %s + %s, %d features; C=%g and threshold %.2f chosen on dev (grid: %s)"
                  % (b["vectorizer"], b["classifier"], b["features"], b["C"], b["threshold"],
                     ", ".join("C=%g: %.2f at %.2f" % (g["C"], 100 * g["dev_macro_f1"], g["threshold"]) for g in b["grid"])),
                  ""]
    training = parts.get("training", {}).get("training")
    if training:
        lines.append("training examples/sec (steady, after step %s), batch %d, max_seq_length %d:"
                     % (training["runs"][0].get("steady_from_step", 1), training["batch_size"], training["max_seq_length"]))
        for i, run in enumerate(training["runs"]):
            lines.append("  run %d %-6s padding: %7.1f  (load %.2f before)"
                         % (i + 1, run["padding"], run["examples_per_sec"] or 0, run["loadavg_before"][0]))
        rates = training["median_examples_per_sec"]
        if training["ratio"]:
            lines.append("- length-aware / fixed-128: %.1f / %.1f = %.2fx (target >= %.0fx) -> %s" % (
                rates["length"], rates["fixed"], training["ratio"], ner.SPEED_TARGET,
                "MET" if training["target_met"] else "not met"))
        summary["training"] = {"ratio": training["ratio"], "rates": rates}
    serving = parts.get("serving", {}).get("serving")
    if serving:
        lines += [""] + serving_lines(serving, parts["serving"].get("quick", False))
        summary["serving"] = {"rows": serving["client"]["rows"],
                              "gateway": {k: serving["gateway"][k] for k in ("direct_rps", "gateway_rps", "ratio",
                                                                             "target_met", "gateway_cpu_ms_per_text")}}
    summary["text"] = "\n".join(lines)
    return summary


# ---------------------------------------------------------------- main


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data_dir", default=DEFAULT_DATA_DIR, help="GoEmotions train.tsv, dev.tsv, labels.txt")
    parser.add_argument("--results_dir", default=DEFAULT_RESULTS_DIR, help="where goemotions-*.json go")
    parser.add_argument("--work_dir", help="keep models here (default: a temporary directory, deleted)")
    parser.add_argument("--parts", default="baseline,training,bert,report", help="comma list of %s" % ", ".join(PARTS))
    parser.add_argument("--quick", action="store_true", help="smoke run: 0.02 epoch, tiny speed runs")
    ner.add_fine_tune_arguments(parser, "default %g, chosen on dev (--quick: 0.02)" % GOEMOTIONS_EPOCHS)
    parser.add_argument("--log_every_steps", type=int, default=100, help="(default: %(default)s)")
    parser.add_argument("--c_grid", default=",".join("%g" % c for c in C_GRID), help="baseline C values")
    parser.add_argument("--speed_rounds", type=int, default=1, help="(length, fixed) pairs (default: %(default)s)")
    parser.add_argument("--speed_epochs", type=float, help="epochs of each speed run (default 0.03, --quick 0.005)")
    ner.add_serving_arguments(parser, "serving: serve this multi-label export (a base directory of numbered versions, "
                              "exported with --export_dynamic_seq_length) instead of the cached 5-step one")
    args = parser.parse_args(argv)
    args.parts = [p for p in args.parts.split(",") if p]
    unknown = sorted(set(args.parts) - set(PARTS))
    if unknown:
        parser.error("--parts: unknown %s (choose from %s)" % (",".join(unknown), ", ".join(PARTS)))
    args.epochs = args.epochs or (0.02 if args.quick else GOEMOTIONS_EPOCHS)
    args.speed_epochs = args.speed_epochs or (0.005 if args.quick else 0.03)
    args.c_grid = [float(c) for c in args.c_grid.split(",")]
    ner.serving_settings(args, parser)
    if args.export_dir and not serving_bench.has_version(args.export_dir):
        parser.error("--export_dir=%s: expected a SavedModel base directory with numbered versions (e.g. .../export, "
                     "holding 1733580000/saved_model.pb)" % args.export_dir)
    return args, parser


def main(argv=None) -> int:
    args, parser = parse_args(argv)
    if not all(os.path.isfile(os.path.join(args.data_dir, f)) for f in ("train.tsv", "dev.tsv", "labels.txt")):
        if args.data_dir == parser.get_default("data_dir"):
            print("skipped: GoEmotions is not at %s (the ../shared checkout is absent)" % args.data_dir)
            return 0
        parser.error("--data_dir=%s must hold train.tsv, dev.tsv and labels.txt" % args.data_dir)
    quality.console_logging("bench.goemotions")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow.compat.v1 as tf

    tf.logging.set_verbosity(tf.logging.ERROR)
    from bert_runner.errors import RunnerError
    from pretrained.fetch import fetch

    os.makedirs(args.results_dir, exist_ok=True)
    command = " ".join(["python -m bench.goemotions"] + (list(argv) if argv is not None else sys.argv[1:]))
    work = args.work_dir or tempfile.mkdtemp(prefix="bench-goemotions-")
    try:
        splits, labels = read_splits(args.data_dir)
        for part in [p for p in PARTS if p in args.parts and p != "report"]:
            timer = Timer()
            started = time.perf_counter()
            result = {"date": datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"), "command": command,
                      "loadavg_before": os.getloadavg(), "quick": args.quick}
            if part == "baseline":
                result["baseline"] = baseline_part(args, splits, labels, timer)
                name = "baseline"
            elif part == "bert":
                result["bert"] = bert_part(args, splits, labels, fetch(), work, timer)
                name = "bert-seed-%d" % args.seed
            elif part == "serving":
                result["serving"] = serving_part(args, splits["dev"][0], timer, fetch)
                name = "serving"
            else:
                pretrained = fetch()
                result["training"] = ner.training_part(
                    args, pretrained, work, timer,
                    run_one=lambda output_dir, **settings: _run(run_options(args, output_dir, pretrained, **settings)))
                name = "training"
            result.update(wall_seconds=dict(timer.seconds, total=time.perf_counter() - started),
                          loadavg_after=os.getloadavg())
            path = os.path.join(args.results_dir, "goemotions-%s.json" % name)
            with open(path, "w") as f:
                json.dump(result, f, indent=1, default=str)
                f.write("\n")
            log.info("wrote %s", _shown(path))
    except RunnerError as e:
        print("error: %s" % e, file=sys.stderr)
        return 1
    finally:
        if not args.work_dir:
            shutil.rmtree(work, ignore_errors=True)
    if "report" in args.parts:
        summary = report(args.results_dir)
        print(summary["text"])
        with open(os.path.join(args.results_dir, "goemotions.json"), "w") as f:
            json.dump(summary, f, indent=1, default=str)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
