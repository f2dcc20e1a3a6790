"""The pure helpers of bench/finetune.py: CoLA writer, subset, log and result parsing (no training)."""

import csv
import json
import os

import pytest

import bench_modules  # tests/helpers

finetune = bench_modules.load("finetune")


def _read_like_the_reference(path):
    # bert.run_classifier.DataProcessor._read_tsv: csv.reader(delimiter="\t", quotechar=None).
    with open(path, encoding="utf-8") as f:
        return list(csv.reader(f, delimiter="\t", quotechar=None))


def test_cola_dir_reads_back_as_the_reference_colaprocessor_does(tmp_path):
    texts = ['Free "prize" now!!', "see you at 5 &lt;3", "ok"]
    labels = ["spam", "ham", "ham"]
    finetune.write_cola_dir(str(tmp_path), {"train": (texts, labels), "dev": (texts[:2], labels[:2]),
                                            "test": (texts, labels)})
    train = _read_like_the_reference(str(tmp_path / "train.tsv"))
    # ColaProcessor: label = line[1], text = line[3]; no header in train/dev.
    assert [(row[1], row[3]) for row in train] == [("1", texts[0]), ("0", texts[1]), ("0", texts[2])]
    assert len(_read_like_the_reference(str(tmp_path / "dev.tsv"))) == 2
    test = _read_like_the_reference(str(tmp_path / "test.tsv"))
    # test: a header row it skips, then text = line[1].
    assert test[0] == ["index", "sentence"]
    assert [row[1] for row in test[1:]] == texts


def test_cola_writer_rejects_what_an_unquoted_tsv_cannot_hold():
    with pytest.raises(finetune.BenchError, match="train row 2: .*tab"):
        finetune.cola_lines("train", ["fine", "a\tb"], ["ham", "ham"])
    with pytest.raises(finetune.BenchError, match="dev row 1: label 'maybe'"):
        finetune.cola_lines("dev", ["fine"], ["maybe"])


def test_generic_tsv_has_the_sms_layout(tmp_path):
    path = str(tmp_path / "train.tsv")
    finetune.write_generic_tsv(path, ["hello", 'say "hi"'], ["ham", "spam"])
    with open(path, encoding="utf-8") as f:
        assert f.read() == 'label\ttext\nham\thello\nspam\tsay "hi"\n'


def test_stratified_subset_keeps_label_shares_and_order():
    labels = ["ham"] * 860 + ["spam"] * 140
    rows = finetune.stratified_subset(labels, 200, seed=3)
    assert rows == sorted(rows) and len(set(rows)) == len(rows)
    picked = [labels[i] for i in rows]
    assert (picked.count("ham"), picked.count("spam")) == (172, 28)
    assert finetune.stratified_subset(labels, 200, seed=3) == rows
    assert finetune.stratified_subset(labels, 200, seed=4) != rows


def test_eval_results_of_either_runner_parse_to_numbers():
    text = "eval_accuracy = 0.98924731\neval_loss = 0.04112\nglobal_step = 139\nloss = 0.0411\n"
    assert finetune.parse_eval_results(text) == {
        "eval_accuracy": 0.98924731, "eval_loss": 0.04112, "global_step": 139.0, "loss": 0.0411}


def test_quality_figures_from_probabilities(tmp_path):
    (tmp_path / "eval_results.txt").write_text("eval_accuracy = 0.75\neval_loss = 0.5\n")
    # Columns follow the label order; rows: spam, ham, spam(missed), ham.
    (tmp_path / "test_results.tsv").write_text("0.1\t0.9\n0.8\t0.2\n0.6\t0.4\n0.7\t0.3\n")
    figures = finetune.quality_figures(str(tmp_path), ["ham", "spam"], ["spam", "ham", "spam", "ham"])
    assert figures["dev_accuracy"] == 0.75
    assert figures["test_accuracy"] == 0.75
    assert figures["test_spam_precision"] == 1.0
    assert figures["test_spam_recall"] == 0.5
    assert figures["test_errors"] == 1
    with pytest.raises(finetune.BenchError, match="4 rows for 3 test examples"):
        finetune.quality_figures(str(tmp_path), ["ham", "spam"], ["spam", "ham", "spam"])


def _lines(*texts):
    return [finetune.LogLine(float(i), text) for i, text in enumerate(texts)]


def _progress(step, seconds):
    return finetune.LogLine(seconds, "I1123 hooks.py:70] step %d/25 (4%%)  loss 0.5  9.0 examples/sec (9.0 overall)"
                            % step)


def test_ours_steady_rate_leaves_the_warm_up_steps_out():
    # Steps 2-6 warm up (5 s each), steps 7-25 take 1 s each.
    times = {1: 40.0}
    for step in range(2, 26):
        times[step] = times[step - 1] + (5.0 if step <= finetune.STEADY_FROM_STEP else 1.0)
    lines = [finetune.LogLine(0.0, "I1123 run.py:250] training: 800 examples, batch size 32, 25 steps")]
    lines += [_progress(step, seconds) for step, seconds in sorted(times.items())]
    assert finetune.STEADY_FROM_STEP == 6
    assert finetune.ours_steady_rate(lines, 32) == pytest.approx(32.0)
    # A run too short for the warm-up is measured from its first progress line.
    assert finetune.ours_steady_rate([_progress(1, 10.0), _progress(3, 14.0)], 32) == pytest.approx(16.0)
    assert finetune.ours_steady_rate(_lines("no progress here"), 32) is None


def test_reference_steady_rate_prefers_global_step_per_sec():
    warm_up = ["INFO:tensorflow:global_step/sec: 0.1"] * (finetune.STEADY_FROM_STEP - 1)
    lines = _lines(
        "INFO:tensorflow:Saving checkpoints for 0 into /tmp/x/model.ckpt.",
        *(warm_up + ["INFO:tensorflow:global_step/sec: 0.25",
                     "INFO:tensorflow:global_step/sec: 0.5",
                     "INFO:tensorflow:examples/sec: 12.384",
                     "INFO:tensorflow:Saving checkpoints for 139 into /tmp/x/model.ckpt.",
                     "INFO:tensorflow:Loss for final step: 0.02."]))
    rate, source = finetune.reference_steady_rate(lines, 32)
    assert rate == pytest.approx(32 * 2 / (4 + 2))  # 2 steps in 6 s, after the warm-up steps
    assert "global_step/sec" in source and "after step 6" in source
    assert finetune.first_time(lines, finetune.REFERENCE_TRAIN_DONE) == 10.0
    # Fewer lines than warm-up steps: all of them.
    rate, source = finetune.reference_steady_rate(lines[4:10], 32)
    assert rate == pytest.approx(32 * 4 / (10 + 10 + 4 + 2)) and "after step 1" in source


def test_reference_steady_rate_falls_back_to_checkpoint_times():
    lines = [finetune.LogLine(10.0, "INFO:tensorflow:Saving checkpoints for 0 into m/model.ckpt."),
             finetune.LogLine(60.0, "INFO:tensorflow:Saving checkpoints for 25 into m/model.ckpt.")]
    rate, source = finetune.reference_steady_rate(lines, 32)
    assert rate == pytest.approx(25 * 32 / 50.0)
    assert "first step included" in source
    assert finetune.reference_steady_rate(lines[:1], 32) == (None, "not in the log")


def test_cpu_cost_per_step_comes_from_the_spans_between_progress_lines():
    line = finetune.LogLine
    ours = [line(3.0, "I1123 run.py:222] training: 4460 examples", cpu=5.0),
            line(30.0, "I1123 hooks.py:70] step 11/139 (8%)  loss 0.5  20.0 examples/sec (20.0 overall)", cpu=50.0),
            line(90.0, "I1123 hooks.py:70] step 139/139 (100%)  loss 0.1  40.0 examples/sec (35.0 overall)", cpu=178.0),
            line(95.0, "I1123 records.py:101] featurized 558 examples", cpu=185.0)]
    span = finetune.ours_step_span(ours)
    assert span == finetune.Span(steps=128, seconds=60.0, cpu_seconds=128.0)
    reference = [line(float(10 + i), "INFO:tensorflow:global_step/sec: 0.3", cpu=2.0 * i) for i in range(10)]
    # One line per step after the first: 10 lines for 11 steps; the line of step 6 is the 5th,
    # 5 steps between it and the last.
    assert finetune.reference_step_span(reference, 11) == finetune.Span(steps=5, seconds=5.0, cpu_seconds=10.0)
    # Too few lines for the warm-up: from the first.
    assert finetune.reference_step_span(reference[:4], 5) == finetune.Span(steps=3, seconds=3.0, cpu_seconds=6.0)
    # Each message of the reference also comes through absl's handler; counted once.
    doubled = [copy for l in reference for copy in (l, l._replace(text="I1123 10:00:00.1 1 tpu_estimator.py:2307] "
                                                                      + l.text.split(":", 2)[2]))]
    assert finetune.reference_step_span(doubled, 11) == finetune.reference_step_span(reference, 11)
    assert finetune.reference_step_rates(doubled) == [0.3] * 10
    assert finetune.cpu_at(ours, 91.0) == 185.0
    assert finetune.cpu_at(ours, None) is None
    figures = finetune.speed_figures(
        finetune.ProcessRun([], ours, 0.0, 100.0, 190.0, 0.5, (1.0, 1.0), 0), 91.0, 35.0, "log", span, 139, 32)
    assert figures["steady_examples_per_cpu_second"] == pytest.approx(128 * 32 / 128.0)
    assert figures["steady_cpu_cores_used"] == pytest.approx(128.0 / 60.0)
    assert figures["train_phase_cpu_seconds"] == 185.0
    assert figures["outside_steps_seconds"] == pytest.approx(91.0 - 138 * 32 / 35.0)


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux /proc")
def test_process_cpu_seconds_reads_a_live_process():
    spent = finetune.process_cpu_seconds(os.getpid())
    assert spent is not None and spent > 0
    assert finetune.process_cpu_seconds(2 ** 22 + 12345) is None  # no such process


def test_train_steps_match_the_runners_formula():
    assert finetune.train_steps(4460, 32, 1.0) == 139
    assert finetune.train_steps(800, 32, 1.0) == 25


def test_table_shows_ratio_for_speed_and_difference_for_quality():
    reference = {"steady_examples_per_sec": 12.0, "total_seconds": 400.0, "test_accuracy": 0.989, "test_errors": 6}
    ours = {"steady_examples_per_sec": 48.0, "total_seconds": 100.0, "test_accuracy": 0.991, "test_errors": 5}
    table = finetune.format_tables(reference, ours)
    assert "4.00x" in table and "0.25x" in table
    assert "+0.0020" in table and "-1" in table
    assert "n/a" in table  # figures a run did not produce


def test_skips_cleanly_without_the_shared_data(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(finetune, "DEFAULT_DATA_DIR", str(tmp_path / "shared" / "data" / "sms_spam"))
    assert finetune.main(["--results_dir", str(tmp_path / "results")]) == 0
    assert "skipped: the SMS spam split is not at" in capsys.readouterr().out
    assert not (tmp_path / "results").exists()


def test_refuses_a_work_dir_with_old_runs_in_it(sms_dir, tmp_path, capsys):
    (tmp_path / "reference").mkdir()
    with pytest.raises(SystemExit):
        finetune.main(["--data_dir", sms_dir, "--work_dir", str(tmp_path)])
    assert "--work_dir=%s is not empty" % tmp_path in capsys.readouterr().err


def _figures(errors, speed, cpu_speed=None):
    return {"test_errors": errors, "steady_examples_per_sec": speed,
            "steady_examples_per_cpu_second": cpu_speed or speed / 2.0, "test_spam_recall": 0.9}


def test_seed_summary_gives_mean_sd_and_speed_ratios_against_the_same_seeds_reference():
    runs = {
        1: {"reference": _figures(6, 20.0), "fixed": _figures(9, 18.0), "length": _figures(8, 80.0)},
        2: {"reference": _figures(7, 10.0), "fixed": _figures(9, 9.0), "length": _figures(10, 30.0)},
        3: {"reference": _figures(5, 20.0), "fixed": _figures(14, 20.0), "length": _figures(9, 60.0)},
    }
    summary = finetune.seed_summary(runs)
    assert list(summary) == ["reference", "fixed", "length"]
    length = summary["length"]
    assert length["test_errors"] == {1: 8, 2: 10, 3: 9}
    assert length["test_errors_spread"] == finetune.Spread(9.0, 1.0)
    # Ratios per seed (4x, 3x, 3x), then their mean: a loaded seed does not skew the others.
    assert length["steady_examples_per_sec_ratio"].mean == pytest.approx(10.0 / 3)
    fixed = summary["fixed"]["test_errors_spread"]
    assert fixed.mean == pytest.approx(32 / 3.0) and fixed.sd == pytest.approx(2.8867513)
    table = finetune.format_seed_table(summary, [1, 2, 3])
    assert table.splitlines()[0] == ("| variant | errors, seed 1 | errors, seed 2 | errors, seed 3 | errors, mean ± sd "
                                     "| whole process s | steady ex/s | x reference | x reference per CPU-s |")
    assert "| length | 8 | 10 | 9 | 9.0 ± 1.0 | - | 56.7 ± 25.2 | 3.33x | 3.33x |" in table
    assert "| reference | 6 | 7 | 5 | 6.0 ± 1.0 | - | 16.7 ± 5.8 | - | - |" in table
    verdict = finetune.seed_verdict(summary)
    assert verdict[0].startswith("quality target") and ": met (9.0 against 10.7 ± 2.9)" in verdict[0]
    assert verdict[1].startswith("speed target") and ": met" in verdict[1]
    runs[1]["length"]["test_errors"] = 74  # the collapse the issue reported
    assert "NOT met" in finetune.seed_verdict(finetune.seed_summary(runs))[0]


def test_seed_summary_of_one_seed_or_missing_variants():
    summary = finetune.seed_summary({3: {"reference": _figures(6, 20.0), "length": _figures(8, 80.0)}})
    assert list(summary) == ["reference", "length"]
    assert str(summary["length"]["test_errors_spread"]) == "8.0"  # no sd from one value
    assert "| length | 8 | 8.0 | - | 80.0 | 4.00x | 4.00x |" in finetune.format_seed_table(summary, [3])
    assert finetune.spread([None]) is None


def test_seeds_and_variants_flags():
    args, _ = finetune.parse_args(["--seeds", "3,1", "--variants", "length,reference"])
    assert args.seeds == [3, 1] and args.variants == ["reference", "length"]  # run in the table's order
    assert finetune.parse_args([])[0].seeds == [1, 2, 3]
    for bad in (["--seeds", "1,x"], ["--seeds", "2,2"], ["--variants", "buckets"]):
        with pytest.raises(SystemExit):
            finetune.parse_args(bad)


def test_our_variants_differ_only_in_their_padding_flags():
    args, _ = finetune.parse_args(["--seeds", "2", "--ours_flag=--length_chunk_batches=16"])
    args.seed = 2
    length = finetune.ours_command(args, None, "/out", ["--vocab_file=v"], "length")
    fixed = finetune.ours_command(args, None, "/out", ["--vocab_file=v"], "fixed")
    assert "--seed=2" in length and "--seed=2" in fixed
    whole = finetune.ours_command(args, None, "/out", ["--vocab_file=v"], "whole")
    assert [flag for flag in fixed if flag not in length] == ["--dynamic_padding=false", "--train_micro_batches=1"]
    assert [flag for flag in whole if flag not in length] == ["--train_micro_batches=1"]
    assert [flag for flag in length if flag not in fixed] == ["--length_chunk_batches=16"]


def test_the_seed_loop_writes_every_seed_and_the_table(sms_dir, tmp_path, monkeypatch, capsys):
    import json

    def fake_seed(args, work_dir, model_flags):
        assert os.path.basename(work_dir) == "seed-%d" % args.seed
        errors = {"reference": 6, "fixed": 9 + args.seed, "whole": 11, "length": 10}
        return {"seed": args.seed, "mode": "quick", "rows": {"train": 800, "dev": 558, "test": 556}, "train_steps": 25,
                "commands": {}, "figures": {v: _figures(errors[v], 20.0 if v == "reference" else 70.0)
                                            for v in args.variants}}

    monkeypatch.setattr(finetune, "_run_seed", fake_seed)
    monkeypatch.setattr(finetune, "pretrained_flags", lambda: ["--vocab_file=v"])
    monkeypatch.setattr(finetune, "write_png", lambda *a: None)
    results = tmp_path / "results"
    assert finetune.main(["--data_dir", sms_dir, "--results_dir", str(results), "--seeds", "2,1"]) == 0
    out = capsys.readouterr().out
    assert "| fixed | 11 | 10 | 10.5 ± 0.7 | - | 70.0 ± 0.0 | 3.50x | 3.50x |" in out
    assert "quality target (length-aware mean errors within one sd of fixed padding's, or below): met" in out
    written = json.loads((results / "finetune.json").read_text())
    assert sorted(written["seeds"]) == ["1", "2"] and written["settings"]["seeds"] == [2, 1]
    assert written["summary"]["length"]["test_errors_spread"] == {"mean": 10.0, "sd": 0.0}


def test_both_runners_get_a_config_the_reference_can_run(tmp_path):
    """An imported Hugging Face config says gelu_exact, which Google's modeling.py refuses: the bench gives tanh "gelu"."""
    exact = tmp_path / "exact.json"
    exact.write_text(json.dumps({"hidden_act": "gelu_exact", "hidden_size": 8}))
    google = tmp_path / "google.json"
    google.write_text(json.dumps({"hidden_act": "gelu", "hidden_size": 8}))
    work = tmp_path / "work"
    work.mkdir()
    flags = finetune.reference_compatible(["--bert_config_file=%s" % exact, "--vocab_file=v.txt"], str(work))
    assert flags[1] == "--vocab_file=v.txt" and flags[0] == "--bert_config_file=%s" % (work / "bert_config.json")
    assert json.loads((work / "bert_config.json").read_text()) == {"hidden_act": "gelu", "hidden_size": 8}
    unchanged = ["--bert_config_file=%s" % google]
    assert finetune.reference_compatible(unchanged, str(work)) == unchanged
