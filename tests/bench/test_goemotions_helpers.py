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
    # The grid's low end can only help the rows it is tuned on.
    assert choices["per_label_on_dev"]["macro_f1"] >= choices["per_label_without_low_end"]["macro_f1"]
    assert min(choices["per_label_without_low_end"]["thresholds"]) >= 0.05


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
    assert "mixed_settings" not in summary and "different settings" not in summary["text"]
    coarse = [s["per_label_without_low_end"]["macro_f1"] for s in seeds]
    assert summary["per_label_without_low_end"]["macro_f1"]["mean"] == pytest.approx(np.mean(coarse))
    assert "without the grid's low end" in summary["text"]

    # A result file from another configuration (e.g. before --pooling) is named, not silently averaged in.
    part = json.loads((tmp_path / "goemotions-bert-seed-2.json").read_text())
    part["bert"]["settings"]["pooling"] = "mean"
    (tmp_path / "goemotions-bert-seed-2.json").write_text(json.dumps(part))
    summary = goemotions.report(str(tmp_path))
    assert summary["mixed_settings"] == ["pooling"]
    assert "**The seeds ran with different settings** (pooling: None for seed 1, mean for seed 2)" in summary["text"]


def gateway_rounds(direct, through):
    """bench/gateway.compare's rows: alternated direct and gateway rounds."""
    rows = []
    for i, (d, g) in enumerate(zip(direct, through)):
        rows += [{"side": "direct", "round": i, "rps": d},
                 {"side": "gateway", "round": i, "rps": g, "gateway_cpu_ms_per_text": 2.0 + i}]
    return rows


def serving_result(direct, through, quick=False):
    gateway = bench_modules.load("gateway")
    rows = [{"concurrency": c, "client_server_texts_per_sec": rate, "server_alone_texts_per_sec": rate + 10,
             "server_alone_p50_ms": 12.5, "loadavg_before": [1.5, 1, 1]} for c, rate in ((1, 57.0), (32, 89.5))]
    versus = gateway.summarize(gateway_rounds(direct, through), 32)
    versus["settings"] = {"rounds": len(direct), "seconds": 10.0}
    return {"quick": quick, "serving": {"export_dir": "/x", "client": {"rows": rows, "texts": 5426,
                                                                       "client_method": "predict_batch"},
                                        "gateway": versus}}


def test_the_gateway_ratio_is_the_mean_of_alternated_rounds_against_0_8x():
    gateway = bench_modules.load("gateway")
    met = gateway.summarize(gateway_rounds([100.0, 120.0], [90.0, 86.0]), 32)
    assert met["direct_rps"] == pytest.approx(110.0) and met["gateway_rps"] == pytest.approx(88.0)
    assert met["ratio"] == pytest.approx(0.8) and met["target_met"]
    assert met["gateway_cpu_ms_per_text"] == pytest.approx(2.5)
    missed = gateway.summarize(gateway_rounds([100.0, 120.0], [90.0, 80.0]), 32)
    assert missed["ratio"] == pytest.approx(85 / 110) and not missed["target_met"]
    assert "NOT met" in missed["summary"]


@pytest.mark.parametrize("through, verdict", [([95.0], "0.95x -> MET"), ([70.0], "0.70x -> not met")])
def test_the_report_shows_the_serving_rows_and_the_gateway_verdict(tmp_path, through, verdict):
    (tmp_path / "goemotions-serving.json").write_text(json.dumps(serving_result([100.0], through)))
    summary = goemotions.report(str(tmp_path))
    text = summary["text"]
    assert "serving (5426 GoEmotions dev texts, one per request" in text and "client: predict_batch" in text
    assert "| 1 | 57.0 | 67.0 (12.5) | 1.50 |" in text and "| 32 | 89.5 | 99.5 (12.5) | 1.50 |" in text
    assert "- gateway / direct at concurrency 32 >= 0.8x: %.1f / 100.0 texts/s = %s" % (through[0], verdict) in text
    assert "no target" in text and "meaningless" not in text
    assert summary["serving"]["gateway"]["ratio"] == pytest.approx(through[0] / 100.0)


def test_a_quick_serving_run_is_marked_in_the_report(tmp_path):
    (tmp_path / "goemotions-serving.json").write_text(json.dumps(serving_result([100.0], [90.0], quick=True)))
    assert "(--quick: figures meaningless)" in goemotions.report(str(tmp_path))["text"]
