"""bench/goemotions.py's threshold choices and report over per-part result files (no BERT training)."""

import json

import numpy as np
import pytest

import bench_modules  # tests/helpers

pytestmark = pytest.mark.needs_tf  # the scores come from bert_runner.multi_label

goemotions = bench_modules.load("goemotions")
LABELS = ["a", "b", "c"]


def data(seed=0, rows=400):
    rng = np.random.RandomState(seed)
    gold = rng.rand(rows, 3) < [0.3, 0.1, 0.5]
    # Informative but noisy, and badly calibrated for label b (its positives sit near 0.2).
    probabilities = np.clip(gold * [0.6, 0.2, 0.5] + rng.rand(rows, 3) * [0.4, 0.15, 0.5], 0, 1)
    return probabilities, gold


def test_the_global_choice_is_the_grid_value_with_the_best_macro_f1():
    from bert_runner.multi_label import THRESHOLD_GRID, decide, multi_label_scores

    probabilities, gold = data()
    best = goemotions.best_global_threshold(probabilities, gold, LABELS)
    every = [multi_label_scores(gold, decide(probabilities, [t] * 3), LABELS)["macro_f1"] for t in THRESHOLD_GRID]
    assert best["scores"]["macro_f1"] == pytest.approx(max(every))
    assert best["threshold"] in THRESHOLD_GRID


def test_two_fold_scores_every_row_once_and_in_sample_tuning_flatters():
    probabilities, gold = data()
    choices = goemotions.threshold_choices(probabilities, gold, LABELS)
    assert choices["per_label_two_fold"]["num_examples"] == len(gold)
    assert choices["per_label_on_dev"]["macro_f1"] >= choices["per_label_two_fold"]["macro_f1"]
    assert choices["per_label_on_dev"]["macro_f1"] > choices["default_0.5"]["macro_f1"]  # b needs a low threshold
    assert choices["per_label_on_dev"]["thresholds"][1] < 0.5


def test_the_report_aggregates_the_finished_seeds(tmp_path):
    probabilities, gold = data()
    seeds = []
    for seed in (1, 2):
        choices = goemotions.threshold_choices(*data(seed), LABELS)
        seeds.append(choices)
        part = {"bert": {"settings": {"seed": seed, "pretrained": "m", "num_train_epochs": 2, "train_steps": 10,
                                      "learning_rate": 1e-4, "train_batch_size": 32, "max_seq_length": 128},
                         "dev_choices": choices, "eval": {"labels": LABELS}}}
        (tmp_path / ("goemotions-bert-seed-%d.json" % seed)).write_text(json.dumps(part))
    baseline = goemotions.threshold_choices(probabilities, gold, LABELS)
    (tmp_path / "goemotions-baseline.json").write_text(json.dumps({"baseline": {
        "settings": {"vectorizer": "v", "classifier": "c", "features": 9, "C": 4, "threshold": 0.1,
                     "grid": [{"C": 4, "dev_macro_f1": 0.4, "threshold": 0.1}]},
        "dev": baseline["global_on_dev"], "dev_choices": baseline}}))
    summary = goemotions.report(str(tmp_path))
    values = [s["per_label_on_dev"]["macro_f1"] for s in seeds]
    exported = summary["per_label_on_dev"]["macro_f1"]
    assert summary["seeds"] == [1, 2] and exported["n"] == 2
    assert exported["mean"] == pytest.approx(np.mean(values)) and exported["min"] == pytest.approx(min(values))
    assert exported["sd"] == pytest.approx(np.std(values, ddof=1))
    assert "| per label on dev (--tune_thresholds, exported) | BERT |" in summary["text"]
    assert "| one global threshold chosen on dev | TF-IDF + LR |" in summary["text"]
