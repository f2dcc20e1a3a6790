"""Named entity recognition on WNUT-17: fine-tuned all-MiniLM-L6-v2 vs a CRF, training and serving speed.

    .venv/bin/python -m bench.ner               # everything (~25-40 min on 2 shared cores)
    .venv/bin/python -m bench.ner --quick       # smoke run: 0.2 epoch, short speed runs; figures meaningless
    .venv/bin/python -m bench.ner --parts quality --num_train_epochs 3 --learning_rate 5e-5   # one setting
    .venv/bin/python -m bench.ner --parts quality --seeds 1,2,3,4,5   # over seeds: mean ± sd, minimum, collapses

Data: ../shared/data/wnut17 (train 3,394 / dev 1,009 / test 1,287 sentences, six
entity types; skips with a message when absent). All choices are made on dev; test
is scored once per model.

Parts (`--parts`, all by default):

- quality: BERT = all-MiniLM-L6-v2 (`python -m pretrained fetch`) fine-tuned with
  the library code of `run_ner.py` (`bert_runner.run.run` with the token
  classification family) on train, scored on dev and test; CRF = sklearn-crfsuite
  on classic word-shape features (`token_features`), L1/L2 weights picked on dev
  from a small grid. Both are scored with `tagging.entity_scores` (strict entity
  F1: exact span and type, equal to seqeval's strict IOB2 mode), micro and per type.
  BERT is fine-tuned once per `--seeds` seed (default: `--seed`): per-seed dev and
  test F1, their mean ± sd and minimum, how many seeds collapsed (the runner's
  verdict: no entity, or dev F1 0), and each seed's training loss curve side by
  side (ner_loss.png). The per-type table is the best seed on dev's.
  Targets (issues #13, #27): BERT test F1 >= 35 on every seed and >= 5 points
  above the CRF; mean >= 41.86, the best entity F1 of the WNUT-17 shared task
  (UH-RiTUAL, 2017).
- training: steady training examples/sec (after the runner's warm-up steps) of the default input (batches padded to
  their longest example) against `--dynamic_padding=false` (every batch padded to
  max_seq_length 128), the same code and settings, short runs alternated
  (length, fixed, length, fixed, ...). Target >= 3x.
- serving: the fine-tuned model exported with a dynamic sequence length, served by
  the local model server with the length-aware batching of bench/serving.py's
  variant (c); WNUT-17 test sentences sent (one text per request) by the real
  client (`ServingClient.entities_batch`: featurize, HTTP, decode to entity spans)
  with 1 and 32 requests in flight, and the same requests replayed by
  bench/loadgen.py without the client (the server's share). Texts/sec, and the
  CPU milliseconds the client and the server spent per text. The reference: a
  classifier with the same encoder (bench/serving.py's SMS export, or
  --reference_export_dir) served the same way beside it and sent the same texts
  (`predict_batch`), passes alternated model, reference, model, reference
  (--serving_rounds); the ratio token classification / classifier, target >= 0.8x
  at concurrency 32 (issue #23).

Prints the tables and writes bench/results/ner.json (and ner_loss.png).
"""

import argparse
import collections
import dataclasses
import datetime
import json
import logging
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

from bench import quality  # noqa: E402  (TF-free)
from bench.quality import Timer, _shown  # noqa: E402  (TF-free)
from tagging import IOB2, entity_scores, read_conll  # noqa: E402  (TF-free)

DEFAULT_DATA_DIR = os.path.normpath(os.path.join(REPO, "..", "shared", "data", "wnut17"))
DEFAULT_RESULTS_DIR = os.path.join(HERE, "results")
PARTS = ("quality", "training", "serving")
F1_TARGET = 0.35
MARGIN_TARGET = 0.05  # BERT - CRF, test entity F1
SPEED_TARGET = 3.0  # length-aware / fixed-128 training examples/sec
# Best entity F1 (exact span and type) on the WNUT-17 test set in the 2017 shared task:
# UH-RiTUAL (P 57.5, R 32.9; Derczynski et al., W-NUT 2017).
PUBLISHED_BEST_F1 = 0.4186
# The fine-tune's peak rate, chosen on dev mean entity F1 over seeds 1-5 (1e-4 and 2e-4, both with Adam's
# bias correction; bench/README.md, "Collapsed NER seeds").
NER_LEARNING_RATE = 2e-4
# (c1, c2), the L1 and L2 weights: the best on dev of 0.05/0.05, 0.1/0.1 and 0.25/0.01 (bench/README.md);
# --crf_grid repeats the search (2-4 min a fit on 2 shared cores).
CRF_GRID = "0.25/0.01"
SERVING_CONCURRENCY = (1, 32)
# Token classification / the classifier, client + server texts/s at concurrency 32, same texts (issue #23).
SERVING_REFERENCE_TARGET = 0.8
REFERENCE_MODEL_NAME = "classifier"
QUICK_SERVING_TEXTS = 200  # --quick: the first test texts only
MODEL_NAME = "ner"

log = logging.getLogger("bench.ner")


# ---------------------------------------------------------------- CRF features


def word_shape(word: str) -> str:
    """Characters mapped to X (upper), x (lower), d (digit), kept otherwise: "iPhone7" -> "xXxxxxd"."""
    return "".join("X" if c.isupper() else "x" if c.islower() else "d" if c.isdigit() else c for c in word)


def short_shape(word: str) -> str:
    """`word_shape` with runs collapsed: "iPhone7" -> "xXxd"."""
    shape = word_shape(word)
    return "".join(c for i, c in enumerate(shape) if i == 0 or c != shape[i - 1])


def _own_features(word: str) -> Dict:
    lower = word.lower()
    return {
        "lower": lower,
        "prefix3": lower[:3],
        "suffix2": lower[-2:],
        "suffix3": lower[-3:],
        "shape": word_shape(word)[:12],
        "short_shape": short_shape(word),
        "is_title": word.istitle(),
        "is_upper": word.isupper(),
        "is_lower": word.islower(),
        "is_digit": word.isdigit(),
        "has_digit": any(c.isdigit() for c in word),
        "has_hyphen": "-" in word,
        "is_punct": not any(c.isalnum() for c in word),
        "mention": word.startswith("@"),
        "hashtag": word.startswith("#"),
        "url": lower.startswith(("http:", "https:", "www.")),
        "length": min(len(word), 10),
    }


NEIGHBOUR_KEYS = ("lower", "short_shape", "is_title", "is_upper", "mention", "hashtag")


def token_features(words: Sequence[str], i: int) -> Dict:
    """Classic CRF features of word i: its own shape and affixes, neighbours' words and shapes (+-2)."""
    features = {"bias": 1.0}
    features.update(_own_features(words[i]))
    for offset in (-2, -1, 1, 2):
        j = i + offset
        if 0 <= j < len(words):
            own = _own_features(words[j])
            features.update(("%+d:%s" % (offset, key), own[key]) for key in NEIGHBOUR_KEYS)
        elif abs(offset) == 1:
            features["BOS" if offset < 0 else "EOS"] = True
    return features


def sentence_features(words: Sequence[str]) -> List[Dict]:
    return [token_features(words, i) for i in range(len(words))]


def fit_crf(train, c1: float, c2: float, max_iterations: int):
    import sklearn_crfsuite

    crf = sklearn_crfsuite.CRF(algorithm="lbfgs", c1=c1, c2=c2, max_iterations=max_iterations,
                               all_possible_transitions=True)
    crf.fit([sentence_features(s.words) for s in train], [s.tags for s in train])
    return crf


def crf_tags(crf, sentences) -> List[List[str]]:
    return [list(tags) for tags in crf.predict([sentence_features(s.words) for s in sentences])]


def crf_part(args, splits, timer: Timer) -> Dict:
    """The CRF with (c1, c2) picked on dev, scored on dev and test."""
    tried = []
    best = None
    for c1, c2 in args.crf_grid:
        crf = timer("CRF: fit c1=%g c2=%g" % (c1, c2), fit_crf, splits["train"], c1, c2, args.crf_iterations)
        dev = scores_of(splits["dev"], crf_tags(crf, splits["dev"]))
        tried.append({"c1": c1, "c2": c2, "dev_f1": dev["micro"]["f1"]})
        log.info("CRF c1=%g c2=%g: dev entity F1 %.4f", c1, c2, dev["micro"]["f1"])
        if best is None or dev["micro"]["f1"] > best[1]["micro"]["f1"]:
            best = (crf, dev, c1, c2)
    crf, dev, c1, c2 = best
    test = timer("CRF: predict test", lambda: scores_of(splits["test"], crf_tags(crf, splits["test"])))
    return {"settings": {"c1": c1, "c2": c2, "max_iterations": args.crf_iterations, "grid": tried},
            "dev": dev, "test": test}


# ---------------------------------------------------------------- scoring and tables


def scores_of(sentences, predicted: Sequence[Sequence[str]]) -> Dict:
    return entity_scores([s.tags for s in sentences], predicted)


def read_predicted_tags(path: str) -> List[List[str]]:
    """The predicted column of the runner's test_predictions.conll (`token gold predicted`, blank-separated)."""
    sentences, current = [], []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if not line.strip():
                if current:
                    sentences.append(current)
                    current = []
                continue
            current.append(line.rsplit(" ", 2)[2])
    if current:
        sentences.append(current)
    return sentences


def comparison_table(bert: Dict, crf: Dict) -> str:
    """Markdown rows: micro then each type, F1 (P/R) of BERT and the CRF, and the difference in points."""
    lines = ["| entities | support | BERT F1 (P / R) | CRF F1 (P / R) | BERT - CRF |", "|---|---:|---:|---:|---:|"]
    types = sorted(set(bert["types"]) | set(crf["types"]))
    empty = {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    rows = [("micro (all)", bert["micro"], crf["micro"])]
    rows += [(t, bert["per_type"].get(t, empty), crf["per_type"].get(t, empty)) for t in types]
    for name, b, c in rows:
        lines.append("| %s | %d | %.2f (%.1f / %.1f) | %.2f (%.1f / %.1f) | %+.2f |" % (
            name, max(b["support"], c["support"]), 100 * b["f1"], 100 * b["precision"], 100 * b["recall"],
            100 * c["f1"], 100 * c["precision"], 100 * c["recall"], 100 * (b["f1"] - c["f1"])))
    return "\n".join(lines)


def spread(values: Sequence[float]) -> Dict:
    """Mean, sample sd (0 for one value), minimum and maximum."""
    return {"mean": statistics.mean(values), "sd": statistics.stdev(values) if len(values) > 1 else 0.0,
            "min": min(values), "max": max(values), "n": len(values)}


def quality_verdict(bert_f1s: Sequence[float], crf_f1: float, collapsed: int = 0) -> Dict:
    """The targets over seeds: every seed >= 35 and >= 5 above the CRF; the mean against the published best."""
    bert = spread(bert_f1s)
    return {
        "bert_f1": bert,
        "crf_f1": crf_f1,
        "collapsed_seeds": collapsed,
        "f1_target_met": bert["min"] >= F1_TARGET,
        "margin_target_met": bert["min"] - crf_f1 >= MARGIN_TARGET,
        "published_best_f1": PUBLISHED_BEST_F1,
        "mean_above_published": bert["mean"] >= PUBLISHED_BEST_F1,
        "behind_published_points": 100 * (PUBLISHED_BEST_F1 - bert["mean"]),
    }


def seed_table(seeds: Sequence[Dict]) -> str:
    """Markdown rows: each seed's dev and test entity F1 (test P / R), collapse, then mean ± sd and minimum."""
    lines = ["| seed | dev entity F1 | test entity F1 (P / R) | collapsed |", "|---|---:|---:|---|"]
    for run in seeds:
        test = run["test"]["micro"]
        lines.append("| %s | %.2f | %.2f (%.1f / %.1f) | %s |" % (
            run["seed"], 100 * run["dev"]["micro"]["f1"], 100 * test["f1"], 100 * test["precision"],
            100 * test["recall"], run["collapsed"] or "no"))
    dev = spread([r["dev"]["micro"]["f1"] for r in seeds])
    test = spread([r["test"]["micro"]["f1"] for r in seeds])
    lines.append("| mean ± sd | %.2f ± %.2f | %.2f ± %.2f | %d of %d |" % (
        100 * dev["mean"], 100 * dev["sd"], 100 * test["mean"], 100 * test["sd"],
        sum(1 for r in seeds if r["collapsed"]), len(seeds)))
    lines.append("| minimum | %.2f | %.2f | |" % (100 * dev["min"], 100 * test["min"]))
    return "\n".join(lines)


def write_loss_png(path: str, seeds: Sequence[Dict]) -> None:
    """Each seed's training loss (the runner's progress lines) in its own panel, side by side, same axes."""
    plt = quality._pyplot()
    figure, axes = plt.subplots(1, len(seeds), figsize=(3.2 * len(seeds) + 0.8, 3.4), squeeze=False,
                                sharey=True)
    for ax, run in zip(axes[0], seeds):
        points = run["loss_curve"]
        ax.plot([s for s, _ in points], [v for _, v in points], "-", lw=1,
                color="tab:red" if run["collapsed"] else "tab:blue")
        ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_title("seed %s: dev %.1f, test %.1f%s" % (
            run["seed"], 100 * run["dev"]["micro"]["f1"], 100 * run["test"]["micro"]["f1"],
            " (collapsed)" if run["collapsed"] else ""), fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].set_ylabel("batch loss (every %d steps)" % _log_step(seeds))
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def _log_step(seeds: Sequence[Dict]) -> int:
    points = seeds[0]["loss_curve"]
    return points[1][0] - points[0][0] if len(points) > 1 else 1


def speed_summary(runs: Sequence[Dict]) -> Dict:
    """Median steady examples/sec per padding and the ratio length / fixed (None when a side is missing)."""
    rates = {}
    for padding in ("length", "fixed"):
        values = [r["examples_per_sec"] for r in runs if r["padding"] == padding and r["examples_per_sec"]]
        rates[padding] = statistics.median(values) if values else None
    ratio = rates["length"] / rates["fixed"] if rates["length"] and rates["fixed"] else None
    return {"median_examples_per_sec": rates, "ratio": ratio,
            "target_met": None if ratio is None else ratio >= SPEED_TARGET}


def padding_order(rounds: int) -> List[str]:
    """Alternating runs, starting with the default: length, fixed, length, fixed, ..."""
    return [padding for _ in range(rounds) for padding in ("length", "fixed")]


# ---------------------------------------------------------------- BERT


def run_options(args, output_dir: str, pretrained: Dict, **overrides):
    """bench/quality.py's settings (same argument names) for the token classification family."""
    options = quality.run_options(args, output_dir, pretrained)
    if args.adam_bias_correction is not None:
        overrides = dict({"adam_bias_correction": args.adam_bias_correction}, **overrides)
    return dataclasses.replace(options, task_name="ner", labels=[], save_checkpoints_steps=100000, **overrides)


def _run(options):
    from bert_runner.run import run
    from bert_runner.token_classification import TokenClassification

    return run(options, TokenClassification())


def bert_seed(args, splits, pretrained, work: str, seed: int, timer: Timer) -> Dict:
    """Fine-tune with one seed on train, score dev and test; the runner's collapse verdict and loss curve."""
    model_dir = os.path.join(work, "bert-seed%d" % seed)
    recorder = quality.LossRecorder()
    logging.getLogger("bert_runner").addHandler(recorder)
    load = os.getloadavg()
    try:
        summary = timer("BERT seed %d: fine-tune (featurize + train), evaluate dev, predict test" % seed, _run,
                        run_options(args, model_dir, pretrained, seed=seed, do_train=True, do_eval=True,
                                    do_predict=True))
    finally:
        logging.getLogger("bert_runner").removeHandler(recorder)
    test = scores_of(splits["test"], read_predicted_tags(summary["predict"]["predictions_file"]))
    dev = {key: summary["eval"][key] for key in ("micro", "macro", "per_type", "types", "loss", "token_accuracy")}
    log.info("seed %d: dev entity F1 %.4f, test %.4f%s", seed, dev["micro"]["f1"], test["micro"]["f1"],
             " (collapsed: %s)" % summary["eval"]["collapsed"] if summary["eval"]["collapsed"] else "")
    return {"seed": seed, "model_dir": model_dir, "dev": dev, "test": test, "collapsed": summary["eval"]["collapsed"],
            "loss_curve": recorder.points, "train_steps": summary["train"]["steps"],
            "adam_bias_correction": summary["train"]["adam_bias_correction"],
            "training_examples_per_sec": summary["train"]["steady_examples_per_sec"],
            "loadavg_before": load, "loadavg_after": os.getloadavg()}


def bert_part(args, splits, pretrained, work: str, timer: Timer) -> Dict:
    """Each seed's fine-tune; the best on dev is kept (exported with a dynamic sequence length for serving)."""
    seeds, best = [], None
    for seed in args.seeds:
        run = bert_seed(args, splits, pretrained, work, seed, timer)
        seeds.append(run)
        if best is None or run["dev"]["micro"]["f1"] > best["dev"]["micro"]["f1"]:
            if best is not None:
                shutil.rmtree(best["model_dir"], ignore_errors=True)
            best = run
        else:
            shutil.rmtree(run["model_dir"], ignore_errors=True)
    if args.results_dir:
        os.makedirs(args.results_dir, exist_ok=True)
        write_loss_png(os.path.join(args.results_dir, "ner_loss.png"), seeds)
    export_dir = None
    if "serving" in args.parts and not args.export_dir:
        export_dir = os.path.join(work, "export")
        # An export-only run: the runner refuses it if the best seed collapsed too.
        timer("BERT: export seed %d (best on dev), dynamic sequence length" % best["seed"], _run, run_options(
            args, best["model_dir"], pretrained, seed=best["seed"], do_export=True, export_dir=export_dir,
            export_dynamic_seq_length=True))
    settings = {key: getattr(run_options(args, "", pretrained), key) for key in (
        "max_seq_length", "train_batch_size", "learning_rate", "num_train_epochs", "warmup_proportion",
        "dynamic_padding", "length_chunk_batches", "train_micro_batches")}
    settings.update(pretrained=pretrained.get("origin"), train_steps=best["train_steps"], seeds=list(args.seeds),
                    adam_bias_correction=best["adam_bias_correction"])
    return {"settings": settings, "seeds": [{k: v for k, v in r.items() if k != "model_dir"} for r in seeds],
            "best_dev_seed": best["seed"], "dev": best["dev"], "test": best["test"], "export_dir": export_dir,
            "dev_f1": spread([r["dev"]["micro"]["f1"] for r in seeds]),
            "test_f1": spread([r["test"]["micro"]["f1"] for r in seeds])}


# The baseline is the reference pipeline: every batch padded to max_seq_length and run whole
# (micro-batches would slice the padding away again).
FIXED_BASELINE = {"fixed": {"train_micro_batches": 1}}


def training_part(args, pretrained, work: str, timer: Timer, run_one=None) -> Dict:
    """Short fine-tunes with each padding, alternated; steady examples/sec of each (the runner's progress hook).

    `run_one(output_dir, **settings)` runs one (default: this bench's NER fine-tune; bench/goemotions.py
    passes its multi-label one).
    """
    if run_one is None:
        def run_one(output_dir, **settings):
            return _run(run_options(args, output_dir, pretrained, **settings))
    runs = []
    for index, padding in enumerate(padding_order(args.speed_rounds)):
        output_dir = os.path.join(work, "speed-%d-%s" % (index, padding))
        load = os.getloadavg()
        summary = timer("training speed, run %d: %s padding" % (index + 1, padding), run_one, output_dir,
                        do_train=True, num_train_epochs=args.speed_epochs, dynamic_padding=padding == "length",
                        log_every_steps=5, **FIXED_BASELINE.get(padding, {}))
        train = summary["train"]
        runs.append({"padding": padding, "examples_per_sec": train["steady_examples_per_sec"],
                     "steady_from_step": train["steady_from_step"],
                     "after_step_1_examples_per_sec": train["examples_per_sec"],
                     "steps": train["steps"], "loadavg_before": load})
        log.info("%s padding: %.1f examples/sec (steady, after step %d)", padding,
                 train["steady_examples_per_sec"] or 0, train["steady_from_step"])
        shutil.rmtree(output_dir, ignore_errors=True)
    result = speed_summary(runs)
    result.update(runs=runs, epochs_per_run=args.speed_epochs, max_seq_length=args.max_seq_length,
                  batch_size=args.batch_size)
    return result


# ---------------------------------------------------------------- serving


class Served(NamedTuple):
    """One model the serving part serves: its name on the server, export, client method and tally."""

    name: str
    export_dir: str
    method: str  # the `ServingClient` method that answers its kind
    tally: Callable[[List], Dict]  # a figure of what the client answered, e.g. entities found


def entities_found(results) -> Dict:
    """What `entities_batch` found, recorded beside its speed: the answers were decoded, not just received."""
    return {"entities_found": sum(len(t.entities) for t in results)}


def labels_predicted(results) -> Dict:
    """What the reference classifier's `predict_batch` answered (texts per label): its answers were decoded too."""
    return {"labels_predicted": dict(collections.Counter(r.label for r in results))}


def reference_export(args) -> Optional[str]:
    """The classifier to compare with: --reference_export_dir, else bench/serving.py's SMS export (built once).

    None, after saying why, when there is none to build (--reference_export_dir=none, or no SMS data).
    """
    from bench import serving

    if args.reference_export_dir == "none":
        return None
    if args.reference_export_dir:
        return os.path.abspath(args.reference_export_dir)
    if not os.path.isdir(serving.SMS_DIR):
        log.warning("serving: no classifier reference (%s is absent); pass --reference_export_dir", serving.SMS_DIR)
        return None
    # The same encoder (the converted all-MiniLM-L6-v2), a few fine-tuning steps: speed does not depend on the weights.
    return serving.build_exports(os.path.abspath(serving.parse_args([]).model_dir), args.max_seq_length)[1]


def client_pass(server, served: Served, texts: List[str], concurrency: int) -> Dict:
    """All `texts` through the real client, one text a request: texts/s and the CPU each side spent per text."""
    from bench import serving
    from serving_client import ServingClient

    load = os.getloadavg()
    server_cpu = serving.cpu_seconds(server.process.pid)
    with ServingClient(server.rest_url, served.name, batch_size=1, max_in_flight=concurrency) as client:
        started, cpu = time.perf_counter(), time.process_time()
        results = getattr(client, served.method)(texts)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    server_after = serving.cpu_seconds(server.process.pid)
    row = {"texts": len(results), "client_seconds": seconds, "client_server_texts_per_sec": len(results) / seconds,
           "client_cpu_ms_per_text": 1000 * cpu / len(results), "loadavg_before": load}
    if server_cpu and server_after:
        row["server_cpu_ms_per_text"] = 1000 * (server_after[0] - server_cpu[0]) / len(results)
    row.update(served.tally(results))
    return row


def median_row(passes: List[Dict]) -> Dict:
    """The rounds of one model at one concurrency as one row: the median of each figure, the first pass's tally."""
    row = dict(passes[0])
    for key in ("client_server_texts_per_sec", "client_cpu_ms_per_text", "server_cpu_ms_per_text", "client_seconds"):
        values = [p[key] for p in passes if key in p]
        if values:
            row[key] = statistics.median(values)
    row["rounds_texts_per_sec"] = [p["client_server_texts_per_sec"] for p in passes]
    return row


def reference_ratios(row: Dict, reference: Dict) -> Dict:
    """The model against the classifier on the same texts: client + server and server-alone texts/s ratios."""
    return {"ratio": row["client_server_texts_per_sec"] / reference["client_server_texts_per_sec"],
            "server_alone_ratio": (row["server_alone_texts_per_sec"] / reference["server_alone_texts_per_sec"]
                                   if reference["server_alone_texts_per_sec"] else None)}


def serving_part(args, export_dir: str, texts: List[str], timer: Timer, method: str = "entities_batch",
                 model_name: str = MODEL_NAME, tally: Callable[[List], Dict] = entities_found,
                 reference: Optional[Served] = None) -> Dict:
    """Texts/sec through the client + local server, and the server alone (bench/loadgen.py), per concurrency.

    `method` is the `ServingClient` method that answers the model's kind (`entities_batch` here,
    `predict_batch` for bench/goemotions.py's multi-label model); `tally(results)` adds a
    figure of what it answered to each row. With a `reference` (a classifier), it is served
    beside the model the same way and driven with the same texts, alternating model and
    reference pass by pass (`args.serving_rounds` each), so both see the same machine.
    """
    import contextlib

    from bench import serving
    from bench.loadgen import drive
    from model_server.launch import running_server
    from serving_client import ServingClient

    models = [Served(model_name, export_dir, method, tally)] + ([reference] if reference else [])
    rounds = args.serving_rounds or (2 if reference else 1)
    work = tempfile.mkdtemp(prefix="bench-%s-serving-" % model_name)
    # bench/serving.py's variant (c): dynamic export, length-aware batching, its thread settings.
    options = serving.parse_args([])
    rows, flags = [], []
    try:
        with contextlib.ExitStack() as stack:
            servers, bodies = [], []
            for served in models:
                flags.append(serving.server_flags("c", None, served.export_dir, work, options, model_name=served.name))
                server = stack.enter_context(running_server(flags[-1], timeout=300))
                with ServingClient(server.rest_url, served.name, batch_size=1, max_in_flight=8) as warm:
                    getattr(warm, served.method)(texts[:64])
                servers.append(server)
                # The very bodies the client sends (its decoder's requests), one text a request.
                bodies.append(serving.client_bodies(server.rest_url, served.name, texts))
            for concurrency in args.serving_concurrency:
                passes = [[] for _ in models]
                for _ in range(rounds):  # model, reference, model, reference, ...
                    for i, served in enumerate(models):
                        passes[i].append(client_pass(servers[i], served, texts, concurrency))
                measured = []
                for i, served in enumerate(models):
                    row = dict(median_row(passes[i]), concurrency=concurrency)
                    alone = drive(servers[i].rest_port, "/v1/models/%s:predict" % served.name, bodies[i], concurrency,
                                  args.serving_seconds)
                    row.update(server_alone_texts_per_sec=alone["rps"], server_alone_errors=alone["errors"],
                               server_alone_p50_ms=alone["p50_ms"], server_alone_p99_ms=alone["p99_ms"])
                    measured.append(row)
                    log.info("%s, concurrency %d: client+server %.1f texts/s (rounds %s; client CPU %.2f ms/text); "
                             "server alone %.1f texts/s (p50 %.1f ms, %d errors)", served.name, concurrency,
                             row["client_server_texts_per_sec"],
                             ", ".join("%.1f" % r for r in row["rounds_texts_per_sec"]),
                             row["client_cpu_ms_per_text"], alone["rps"], alone["p50_ms"], alone["errors"])
                row = measured[0]
                if reference:
                    row["reference"] = measured[1]
                    row.update(reference_ratios(row, measured[1]))
                rows.append(row)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result = {"rows": rows, "server_flags": flags[0], "texts": len(texts), "server_alone_seconds": args.serving_seconds,
              "client_method": method, "rounds": rounds}
    if reference:
        result["reference"] = {"model": reference.name, "export_dir": reference.export_dir,
                               "client_method": reference.method, "target": SERVING_REFERENCE_TARGET}
    return result


# ---------------------------------------------------------------- output


def serving_table(serving: Dict, texts: str) -> List[str]:
    """`serving_part`'s rows: client + server and server-alone texts/s per concurrency (bench/goemotions.py's too).

    With a reference classifier: its figures on the same texts beside them, the ratios, and the target's verdict.
    """
    reference = serving.get("reference")
    lines = ["serving (%d %s, one per request, dynamic export, length-aware batching; client: %s%s):"
             % (serving["texts"], texts, serving.get("client_method", "entities_batch"),
                "; median of %d alternated passes per model" % serving["rounds"] if serving.get("rounds", 1) > 1 else "")]
    if not reference:
        lines += ["| in flight | client + server texts/s | server alone texts/s (p50 ms) | load before |",
                  "|---:|---:|---:|---:|"]
        for row in serving["rows"]:
            lines.append("| %d | %.1f | %.1f (%.1f) | %.2f |" % (
                row["concurrency"], row["client_server_texts_per_sec"], row["server_alone_texts_per_sec"],
                row["server_alone_p50_ms"], row["loadavg_before"][0]))
        return lines
    lines += ["| in flight | model | client + server texts/s (passes) | CPU ms/text: client, server | "
              "server alone texts/s (p50 ms) | load before |", "|---:|---|---:|---:|---:|---:|"]
    for row in serving["rows"]:
        for name, r in (("token classification", row), ("classifier (reference)", row["reference"])):
            lines.append("| %d | %s | %.1f (%s) | %.2f, %s | %.1f (%.1f) | %.2f |" % (
                row["concurrency"], name, r["client_server_texts_per_sec"],
                ", ".join("%.1f" % v for v in r["rounds_texts_per_sec"]), r["client_cpu_ms_per_text"],
                "%.2f" % r["server_cpu_ms_per_text"] if "server_cpu_ms_per_text" in r else "-",
                r["server_alone_texts_per_sec"], r["server_alone_p50_ms"], r["loadavg_before"][0]))
        lines.append("| %d | ratio | **%.2fx** | | %s | |" % (
            row["concurrency"], row["ratio"],
            "%.2fx" % row["server_alone_ratio"] if row["server_alone_ratio"] is not None else "-"))
    verdict = reference_verdict(serving)
    if verdict:
        lines += ["", "- token classification / classifier, client + server texts/s at concurrency %d >= %.1fx: "
                  "%.2fx -> %s" % (verdict["concurrency"], reference["target"], verdict["ratio"],
                                   "MET" if verdict["met"] else "not met")]
    return lines


def reference_verdict(serving: Dict) -> Optional[Dict]:
    """The issue's target at concurrency 32 (else the highest measured), or None without a reference."""
    rows = [row for row in serving["rows"] if "ratio" in row]
    if not rows or not serving.get("reference"):
        return None
    row = next((r for r in rows if r["concurrency"] == 32), max(rows, key=lambda r: r["concurrency"]))
    return {"concurrency": row["concurrency"], "ratio": row["ratio"],
            "met": row["ratio"] >= serving["reference"]["target"]}


def report_text(results: Dict) -> str:
    lines = []
    quality = results.get("quality")
    if quality:
        bert, crf = quality["bert"], quality["crf"]
        b = bert["settings"]
        lines += ["BERT: %s, %g epochs (%d steps), lr %g, batch %d, max_seq_length %d, warm-up %g, "
                  "%d micro-batches, Adam bias correction %s, seeds %s"
                  % (b["pretrained"], b["num_train_epochs"], b["train_steps"], b["learning_rate"],
                     b["train_batch_size"], b["max_seq_length"], b["warmup_proportion"], b["train_micro_batches"],
                     "on" if b["adam_bias_correction"] else "off", ",".join(map(str, b["seeds"]))),
                  "CRF:  sklearn-crfsuite lbfgs, c1=%g c2=%g (picked on dev from %s), %d iterations"
                  % (crf["settings"]["c1"], crf["settings"]["c2"],
                     ", ".join("%g/%g" % (g["c1"], g["c2"]) for g in crf["settings"]["grid"]),
                     crf["settings"]["max_iterations"]),
                  "",
                  "BERT per seed (strict entity F1, in points):",
                  seed_table(bert["seeds"]),
                  "",
                  "dev entity F1: BERT seed %s (the best on dev) %.2f, CRF %.2f" % (
                      bert["best_dev_seed"], 100 * bert["dev"]["micro"]["f1"], 100 * crf["dev"]["micro"]["f1"]),
                  "",
                  "test, BERT seed %s (strict entity F1, exact span and type, in points):" % bert["best_dev_seed"],
                  comparison_table(bert["test"], crf["test"]),
                  ""]
        v = quality["verdict"]
        f1 = v["bert_f1"]
        lines += ["- BERT test F1 >= %.0f on every seed: minimum %.2f -> %s" % (
                      100 * F1_TARGET, 100 * f1["min"], "MET" if v["f1_target_met"] else "not met"),
                  "- BERT - CRF >= %.0f points on every seed: %+.2f -> %s" % (
                      100 * MARGIN_TARGET, 100 * (f1["min"] - v["crf_f1"]), "MET" if v["margin_target_met"] else "not met"),
                  "- mean over %d seeds %.2f ± %.2f against the WNUT-17 shared task's best (UH-RiTUAL, %.2f): "
                  "%+.2f points -> %s" % (f1["n"], 100 * f1["mean"], 100 * f1["sd"], 100 * PUBLISHED_BEST_F1,
                                          -v["behind_published_points"], "MET" if v["mean_above_published"] else "not met"),
                  "- collapsed seeds: %d of %d" % (v["collapsed_seeds"], f1["n"]),
                  ""]
    training = results.get("training")
    if training:
        lines.append("training examples/sec (steady, after step %s), batch %d, max_seq_length %d:"
                     % (training["runs"][0].get("steady_from_step", 1), training["batch_size"],
                        training["max_seq_length"]))
        for i, run in enumerate(training["runs"]):
            lines.append("  run %d %-6s padding: %7.1f  (load %.2f before)" % (
                i + 1, run["padding"], run["examples_per_sec"] or 0, run["loadavg_before"][0]))
        rates = training["median_examples_per_sec"]
        if training["ratio"]:
            lines.append("- length-aware / fixed-128: %.1f / %.1f = %.2fx (target >= %.0fx) -> %s" % (
                rates["length"], rates["fixed"], training["ratio"], SPEED_TARGET,
                "MET" if training["target_met"] else "not met"))
        lines.append("")
    serving = results.get("serving")
    if serving:
        lines += serving_table(serving, "WNUT-17 test texts") + [""]
    lines.append("wall time:")
    lines += ["  %-76s %7.1f s" % (name, seconds) for name, seconds in results["wall_seconds"].items()]
    return "\n".join(lines)


# ---------------------------------------------------------------- main


def _bool(text: str) -> bool:
    if text.lower() not in ("true", "false", "1", "0"):
        raise argparse.ArgumentTypeError("expected true or false, got %r" % text)
    return text.lower() in ("true", "1")


def add_fine_tune_arguments(parser: argparse.ArgumentParser, epochs_help: str, learning_rate: float = 1e-4) -> None:
    """The fine-tune settings `quality.run_options` reads (bench/goemotions.py shares them)."""
    parser.add_argument("--num_train_epochs", dest="epochs", type=float, help=epochs_help)
    parser.add_argument("--learning_rate", type=float, default=learning_rate, help="(default: %(default)g)")
    parser.add_argument("--train_batch_size", dest="batch_size", type=int, default=32, help="(default: %(default)s)")
    parser.add_argument("--eval_batch_size", type=int, default=64, help="(default: %(default)s)")
    parser.add_argument("--max_seq_length", type=int, default=128, help="(default: %(default)s)")
    parser.add_argument("--warmup_proportion", dest="warmup", type=float, default=0.1, help="(default: %(default)s)")
    parser.add_argument("--seed", type=int, default=1, help="(default: %(default)s)")


def add_serving_arguments(parser: argparse.ArgumentParser, export_help: str) -> None:
    """The serving part's settings (bench/goemotions.py shares them); `serving_settings` fills their defaults."""
    parser.add_argument("--serving_seconds", type=float, help="per server-alone point (default 10, --quick 3)")
    parser.add_argument("--export_dir", help=export_help)
    parser.add_argument("--serving_concurrency", default=",".join(map(str, SERVING_CONCURRENCY)),
                        help="comma list (default: %(default)s)")
    parser.add_argument("--serving_rounds", type=int,
                        help="client passes per model and concurrency, alternated with the reference's "
                             "(default 2 with a reference, 1 without; --quick 1)")


def serving_settings(args, parser: argparse.ArgumentParser) -> None:
    args.serving_seconds = args.serving_seconds or (3.0 if args.quick else 10.0)
    if args.serving_rounds is not None and args.serving_rounds < 1:
        parser.error("--serving_rounds=%d: must be >= 1" % args.serving_rounds)
    if args.quick and args.serving_rounds is None:
        args.serving_rounds = 1
    try:
        args.serving_concurrency = [int(c) for c in args.serving_concurrency.split(",")]
    except ValueError:
        parser.error("--serving_concurrency=%s: expected a comma list of integers, e.g. 1,32" % args.serving_concurrency)
    if any(c < 1 for c in args.serving_concurrency):
        parser.error("--serving_concurrency=%s: every value must be >= 1" % ",".join(map(str, args.serving_concurrency)))


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data_dir", default=DEFAULT_DATA_DIR,
                        help="holds train.conll, dev.conll and test.conll (default: %(default)s)")
    parser.add_argument("--results_dir", default=DEFAULT_RESULTS_DIR, help="where ner.json goes (default: %(default)s)")
    parser.add_argument("--work_dir", help="keep models and exports here (default: a temporary directory, deleted)")
    parser.add_argument("--parts", default=",".join(PARTS), help="comma list of %s (default: all)" % ", ".join(PARTS))
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 0.2 epoch, one speed round of 0.05 epoch, 3 s per serving point, "
                             "the first %d test texts served" % QUICK_SERVING_TEXTS)
    add_fine_tune_arguments(parser, "default 3 (--quick: 0.2)", learning_rate=NER_LEARNING_RATE)
    parser.add_argument("--seeds", help="comma list: fine-tune BERT once per seed (default: --seed)")
    parser.add_argument("--adam_bias_correction", type=_bool,
                        help="true/false: the runner's --adam_bias_correction (default: the runner's default)")
    parser.add_argument("--log_every_steps", type=int, default=5,
                        help="the loss curves' resolution (default: %(default)s)")
    parser.add_argument("--crf_grid", default=CRF_GRID,
                        help="comma list of c1/c2 settings; the best on dev is scored on test (default: %(default)s)")
    parser.add_argument("--crf_iterations", type=int, default=100, help="L-BFGS iterations (default: %(default)s)")
    parser.add_argument("--speed_rounds", type=int, help="(length, fixed) pairs of speed runs (default 2, --quick 1)")
    parser.add_argument("--speed_epochs", type=float, help="epochs of each speed run (default 0.1, --quick 0.05)")
    add_serving_arguments(parser, "serve this NER export (e.g. <work_dir>/export of an earlier --parts=quality run) "
                          "instead of the one the quality part writes")
    parser.add_argument("--reference_export_dir",
                        help="serving: the classifier served beside the NER model on the same texts (a base directory "
                             "of numbered versions; default: bench/serving.py's dynamic SMS export, built once under "
                             "bench/results/serving_model; 'none': no reference)")
    args = parser.parse_args(argv)
    args.parts = [p for p in args.parts.split(",") if p]
    unknown = sorted(set(args.parts) - set(PARTS))
    if unknown:
        parser.error("--parts: unknown %s (choose from %s)" % (",".join(unknown), ", ".join(PARTS)))
    if "serving" in args.parts and "quality" not in args.parts and not args.export_dir:
        parser.error("--parts: serving needs quality (it serves the model quality fine-tunes) or --export_dir")
    try:
        args.seeds = [int(s) for s in args.seeds.split(",")] if args.seeds else [args.seed]
    except ValueError:
        parser.error("--seeds=%s: expected a comma list of integers, e.g. 1,2,3" % args.seeds)
    args.epochs = args.epochs or (0.2 if args.quick else 3.0)
    args.speed_rounds = args.speed_rounds or (1 if args.quick else 2)
    args.speed_epochs = args.speed_epochs or (0.05 if args.quick else 0.1)
    serving_settings(args, parser)
    try:
        args.crf_grid = [tuple(float(x) for x in pair.split("/")) for pair in args.crf_grid.split(",")]
    except ValueError:
        parser.error("--crf_grid=%s: expected c1/c2 pairs, e.g. 0.1/0.1,0.25/0.01" % args.crf_grid)
    if any(len(pair) != 2 for pair in args.crf_grid):
        parser.error("--crf_grid=%s: expected c1/c2 pairs, e.g. 0.1/0.1,0.25/0.01" % args.crf_grid)
    return args, parser


def wnut_present(data_dir: str, parser: argparse.ArgumentParser) -> bool:
    """False (after saying so) when the default copy is absent; a bad --data_dir is a usage error."""
    if all(os.path.isfile(os.path.join(data_dir, s + ".conll")) for s in ("train", "dev", "test")):
        return True
    if data_dir == parser.get_default("data_dir"):
        print("skipped: WNUT-17 is not at %s (the ../shared checkout is absent); pass --data_dir to use another copy"
              % data_dir)
        return False
    parser.error("--data_dir=%s must hold train.conll, dev.conll and test.conll" % data_dir)


def main(argv=None) -> int:
    args, parser = parse_args(argv)
    if not wnut_present(args.data_dir, parser):
        return 0
    quality.console_logging("bench.ner")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow.compat.v1 as tf

    tf.logging.set_verbosity(tf.logging.ERROR)
    from bert_runner.errors import RunnerError
    from pretrained.errors import PretrainedError
    from pretrained.fetch import fetch
    from tagging import TaggingError

    timer = Timer()
    started = time.perf_counter()
    results = {"date": datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"), "loadavg_before": os.getloadavg()}
    work = args.work_dir or tempfile.mkdtemp(prefix="bench-ner-")
    try:
        splits = {split: read_conll(os.path.join(args.data_dir, split + ".conll"), IOB2)
                  for split in ("train", "dev", "test")}
        log.info("WNUT-17: %s sentences", ", ".join("%s %d" % (k, len(v)) for k, v in splits.items()))
        pretrained = timer("BERT: pretrained checkpoint (python -m pretrained fetch)", fetch)
        if "quality" in args.parts:
            bert = bert_part(args, splits, pretrained, work, timer)
            crf = crf_part(args, splits, timer)
            results["quality"] = {"bert": bert, "crf": crf, "verdict": quality_verdict(
                [r["test"]["micro"]["f1"] for r in bert["seeds"]], crf["test"]["micro"]["f1"],
                sum(1 for r in bert["seeds"] if r["collapsed"]))}
        if "training" in args.parts:
            results["training"] = training_part(args, pretrained, work, timer)
        if "serving" in args.parts:
            texts = [" ".join(s.words) for s in splits["test"]]
            texts = texts[:QUICK_SERVING_TEXTS] if args.quick else texts
            export_dir = args.export_dir or results["quality"]["bert"]["export_dir"]
            reference = reference_export(args)
            results["serving"] = timer("serving: client + local server, server alone", serving_part, args,
                                       os.path.abspath(export_dir), texts, timer, reference=reference and Served(
                                           REFERENCE_MODEL_NAME, reference, "predict_batch", labels_predicted))
    except (RunnerError, PretrainedError, TaggingError) as e:
        print("error: %s" % e, file=sys.stderr)
        return 1
    finally:
        if not args.work_dir:
            shutil.rmtree(work, ignore_errors=True)
    results["wall_seconds"] = dict(timer.seconds, total=time.perf_counter() - started)
    results["loadavg_after"] = os.getloadavg()
    text = report_text(results)
    print()
    print(text)
    import tensorflow

    results.update(settings={k: v for k, v in vars(args).items()}, report=text,
                   command=" ".join(["python -m bench.ner"] + (list(argv) if argv is not None else sys.argv[1:])),
                   environment={"python": platform.python_version(), "tensorflow": tensorflow.__version__,
                                "cpus": os.cpu_count()})
    os.makedirs(args.results_dir, exist_ok=True)
    path = os.path.join(args.results_dir, "ner.json")
    with open(path, "w") as f:
        json.dump(results, f, indent=1, default=str)
        f.write("\n")
    print("wrote %s" % _shown(path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
