"""bench/ner.py's helpers: CRF features, the predictions file, tables and verdicts (no BERT training)."""

import argparse

import pytest

import bench_modules  # tests/helpers
from tagging import Sentence, format_predictions

ner = bench_modules.load("ner")


def test_word_shapes():
    assert ner.word_shape("iPhone7") == "xXxxxxd"
    assert ner.short_shape("iPhone7") == "xXxd"
    assert ner.short_shape("@Bieber_fan") == "@Xx_x"
    assert ner.short_shape("") == ""


def test_token_features_see_the_word_its_neighbours_and_the_sentence_ends():
    words = ["Saw", "@taylor", "in", "NYC", "#tour"]
    first = ner.token_features(words, 0)
    assert first["BOS"] and "EOS" not in first and "-1:lower" not in first
    assert first["+1:lower"] == "@taylor" and first["+1:mention"] and first["+2:lower"] == "in"
    nyc = ner.token_features(words, 3)
    assert nyc["is_upper"] and nyc["lower"] == "nyc" and nyc["-2:lower"] == "@taylor" and nyc["+1:hashtag"]
    last = ner.token_features(words, 4)
    assert last["EOS"] and last["hashtag"] and "+1:lower" not in last
    assert len(ner.sentence_features(words)) == len(words)


def test_crf_learns_a_tiny_tagging_rule():
    sentences = [Sentence(w.split(), t.split(), list(range(1, len(w.split()) + 1)), "x") for w, t in [
        ("I met Alice today", "O O B-person O"),
        ("Bob likes Paris", "B-person O B-location"),
        ("we saw Alice in Rome", "O O B-person O B-location"),
        ("Rome is big", "B-location O O"),
    ] * 5]
    crf = ner.fit_crf(sentences, c1=0.0, c2=0.01, max_iterations=50)
    predicted = ner.crf_tags(crf, sentences[:4])
    assert ner.scores_of(sentences[:4], predicted)["micro"]["f1"] == 1.0


def test_predicted_tags_are_read_back_from_the_runners_predictions_file(tmp_path):
    sentences = [Sentence(["New", "York", "rocks"], ["B-location", "I-location", "O"], [1, 2, 3], "t"),
                 Sentence(["hi"], ["O"], [5], "t")]
    predicted = [["B-location", "O", "O"], ["B-person"]]
    path = tmp_path / "test_predictions.conll"
    path.write_text("".join(format_predictions(s, p) for s, p in zip(sentences, predicted)), encoding="utf-8")
    assert ner.read_predicted_tags(str(path)) == predicted
    scores = ner.scores_of(sentences, predicted)
    assert scores["micro"]["correct"] == 0 and scores["micro"]["predicted"] == 2


def test_comparison_table_lists_every_type_of_either_model_with_the_difference_in_points():
    gold = [["B-person", "O", "B-location"], ["B-group", "I-group"]]
    bert = ner.entity_scores(gold, [["B-person", "O", "B-location"], ["O", "O"]])
    crf = ner.entity_scores(gold, [["B-person", "O", "O"], ["B-product", "O"]])
    table = ner.comparison_table(bert, crf).split("\n")
    assert table[2].startswith("| micro (all) | 3 | 80.00 (100.0 / 66.7) | 40.00 (50.0 / 33.3) | +40.00 |")
    assert [row.split(" | ")[0] for row in table[3:]] == ["| group", "| location", "| person", "| product"]
    assert table[4].endswith("| +100.00 |")


def test_verdicts_over_seeds_and_speed_summary():
    verdict = ner.quality_verdict([0.40, 0.42, 0.44], 0.34)
    assert verdict["f1_target_met"] and verdict["margin_target_met"] and verdict["mean_above_published"]
    assert verdict["bert_f1"]["mean"] == pytest.approx(0.42) and verdict["bert_f1"]["sd"] == pytest.approx(0.02)
    assert verdict["behind_published_points"] == pytest.approx(-0.14)
    assert not ner.quality_verdict([0.40, 0.50], 0.36)["margin_target_met"]  # the minimum decides
    collapsed = ner.quality_verdict([0.0, 0.50, 0.50], 0.16, collapsed=1)
    assert not collapsed["f1_target_met"] and not collapsed["mean_above_published"]
    assert collapsed["collapsed_seeds"] == 1 and collapsed["bert_f1"]["min"] == 0.0
    assert ner.padding_order(2) == ["length", "fixed", "length", "fixed"]
    runs = [{"padding": "length", "examples_per_sec": 90.0}, {"padding": "fixed", "examples_per_sec": 20.0},
            {"padding": "length", "examples_per_sec": 70.0}, {"padding": "fixed", "examples_per_sec": 30.0}]
    summary = ner.speed_summary(runs)
    assert summary["median_examples_per_sec"] == {"length": 80.0, "fixed": 25.0}
    assert summary["ratio"] == pytest.approx(3.2) and summary["target_met"]
    assert ner.speed_summary(runs[:1])["ratio"] is None


def test_absent_default_data_skips_and_a_wrong_data_dir_is_a_usage_error(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    parser.add_argument("--data_dir", default=str(tmp_path / "absent"))
    assert ner.wnut_present(str(tmp_path / "absent"), parser) is False
    assert "skipped" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        ner.wnut_present(str(tmp_path), parser)
    with pytest.raises(SystemExit):
        ner.parse_args(["--parts", "serving"])
    assert ner.parse_args(["--parts", "serving", "--export_dir", "x"])[0].parts == ["serving"]


def _scores(f1):
    return {"micro": {"f1": f1, "precision": f1, "recall": f1}}


def test_seed_table_shows_each_seed_the_spread_minimum_and_collapses():
    seeds = [{"seed": 1, "dev": _scores(0.5), "test": _scores(0.4), "collapsed": None},
             {"seed": 2, "dev": _scores(0.0), "test": _scores(0.0), "collapsed": "every dev word is tagged O"}]
    table = ner.seed_table(seeds).split("\n")
    assert table[2] == "| 1 | 50.00 | 40.00 (40.0 / 40.0) | no |"
    assert table[3] == "| 2 | 0.00 | 0.00 (0.0 / 0.0) | every dev word is tagged O |"
    assert table[4] == "| mean ± sd | 25.00 ± 35.36 | 20.00 ± 28.28 | 1 of 2 |"
    assert table[5] == "| minimum | 0.00 | 0.00 | |"


def test_seeds_flag():
    assert ner.parse_args(["--seeds", "1,2,5"])[0].seeds == [1, 2, 5]
    assert ner.parse_args(["--seed", "3"])[0].seeds == [3]
    with pytest.raises(SystemExit):
        ner.parse_args(["--seeds", "1,x"])
    assert ner.parse_args(["--adam_bias_correction", "false"])[0].adam_bias_correction is False
    assert ner.parse_args([])[0].adam_bias_correction is None


def test_report_and_loss_png_over_seeds(tmp_path):
    gold = [["B-person", "O"], ["B-location"]]
    good = ner.entity_scores(gold, [["B-person", "O"], ["B-location"]])
    empty = ner.entity_scores(gold, [["O", "O"], ["O"]])
    seeds = [{"seed": 1, "dev": good, "test": good, "collapsed": None, "loss_curve": [(5, 2.0), (10, 0.5), (15, 0.1)]},
             {"seed": 2, "dev": empty, "test": empty, "collapsed": "every dev word is tagged O",
              "loss_curve": [(5, 2.0), (10, 0.4), (15, 0.35)]}]
    path = str(tmp_path / "ner_loss.png")
    ner.write_loss_png(path, seeds)
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    settings = {"pretrained": "x", "num_train_epochs": 3, "train_steps": 318, "learning_rate": 1e-4,
                "train_batch_size": 32, "max_seq_length": 128, "warmup_proportion": 0.1, "train_micro_batches": 4,
                "adam_bias_correction": True, "seeds": [1, 2]}
    crf = {"settings": {"c1": 0.25, "c2": 0.01, "grid": [{"c1": 0.25, "c2": 0.01}], "max_iterations": 100},
           "dev": empty, "test": empty}
    results = {"quality": {"bert": {"settings": settings, "seeds": seeds, "best_dev_seed": 1, "dev": good,
                                    "test": good},
                           "crf": crf, "verdict": ner.quality_verdict([1.0, 0.0], 0.0, collapsed=1)},
               "wall_seconds": {"total": 1.0}}
    text = ner.report_text(results)
    assert "| 2 | 0.00 | 0.00 (0.0 / 0.0) | every dev word is tagged O |" in text
    assert "- BERT test F1 >= 35 on every seed: minimum 0.00 -> not met" in text
    assert "- mean over 2 seeds 50.00 ± 70.71" in text and "- collapsed seeds: 1 of 2" in text


def _serving_row(concurrency, rate, reference_rate=None):
    row = {"concurrency": concurrency, "client_server_texts_per_sec": rate, "rounds_texts_per_sec": [rate],
           "client_cpu_ms_per_text": 3.0, "server_cpu_ms_per_text": 12.0, "server_alone_texts_per_sec": 2 * rate,
           "server_alone_p50_ms": 20.0, "loadavg_before": (1.5, 1.0, 1.0)}
    if reference_rate is not None:
        reference = _serving_row(concurrency, reference_rate)
        row["reference"] = reference
        row.update(ner.reference_ratios(row, reference))
    return row


def test_rounds_are_summed_up_by_their_median_and_kept():
    passes = [{"client_server_texts_per_sec": r, "client_cpu_ms_per_text": c, "client_seconds": 1.0, "texts": 9,
               "loadavg_before": (l, 0, 0)} for r, c, l in ((50.0, 3.0, 2.0), (70.0, 2.0, 1.0), (60.0, 4.0, 3.0))]
    row = ner.median_row(passes)
    assert row["client_server_texts_per_sec"] == 60.0 and row["client_cpu_ms_per_text"] == 3.0
    assert row["rounds_texts_per_sec"] == [50.0, 70.0, 60.0]
    assert row["loadavg_before"] == (2.0, 0, 0) and "server_cpu_ms_per_text" not in row


def test_the_reference_row_gives_ratios_and_the_verdict_at_concurrency_32():
    serving = {"texts": 10, "rounds": 2, "client_method": "entities_batch",
               "reference": {"model": "classifier", "target": 0.8},
               "rows": [_serving_row(1, 30.0, 60.0), _serving_row(32, 90.0, 100.0)]}
    assert serving["rows"][0]["ratio"] == 0.5 and serving["rows"][1]["server_alone_ratio"] == 0.9
    assert ner.reference_verdict(serving) == {"concurrency": 32, "ratio": 0.9, "met": True}
    lines = ner.serving_table(serving, "texts")
    assert "median of 2 alternated passes" in lines[0]
    assert "| 32 | ratio | **0.90x** | | 0.90x | |" in lines
    assert lines[-1].endswith("0.90x -> MET")
    serving["rows"][1] = _serving_row(32, 70.0, 100.0)
    assert ner.reference_verdict(serving)["met"] is False
    assert ner.serving_table(serving, "texts")[-1].endswith("0.70x -> not met")


def test_without_a_reference_the_table_is_the_model_alone():
    serving = {"texts": 10, "rows": [_serving_row(32, 90.0)]}
    assert ner.reference_verdict(serving) is None
    assert ner.serving_table(serving, "texts")[-1] == "| 32 | 90.0 | 180.0 (20.0) | 1.50 |"


def test_serving_rounds_flag():
    assert ner.parse_args(["--parts", "serving", "--export_dir", "x"])[0].serving_rounds is None
    assert ner.parse_args(["--parts", "serving", "--export_dir", "x", "--quick"])[0].serving_rounds == 1
    assert ner.parse_args(["--parts", "serving", "--export_dir", "x", "--serving_rounds", "3"])[0].serving_rounds == 3
    with pytest.raises(SystemExit):
        ner.parse_args(["--parts", "serving", "--export_dir", "x", "--serving_rounds", "0"])
