"""The reporting helpers of bench/quality.py: scores, dedup, table, loss curve sources (no training)."""

import logging

import pytest

import bench_modules  # tests/helpers

quality = bench_modules.load("quality")


def test_unseen_mask_is_exact_text_match():
    train = ["Free entry now", "see you at 5"]
    test = ["Free entry now", "free entry now", "see you at 5 ", "see you at 5", "new"]
    assert quality.unseen_mask(test, train) == [False, True, True, False, True]
    assert quality.select(["a", "b", "c", "d", "e"], quality.unseen_mask(test, train)) == ["b", "c", "e"]


def test_dedup_subset_of_the_sms_split_matches_its_readme(sms_dir):
    train_texts, _ = quality.read_split(sms_dir, "train")
    test_texts, test_labels = quality.read_split(sms_dir, "test")
    unseen = quality.unseen_mask(test_texts, train_texts)
    # README "Caveat: duplicates": 55 test rows (15 of them spam) have an exact copy in train.
    assert len(test_texts) - sum(unseen) == 55
    assert sum(1 for label, keep in zip(test_labels, unseen) if label == "spam" and not keep) == 15


def test_headline_figures_from_label_lists():
    true = ["ham", "ham", "ham", "spam", "spam", "spam", "spam", "ham"]
    predicted = ["ham", "spam", "ham", "spam", "spam", "ham", "spam", "ham"]
    report = quality.score(true, predicted)
    assert report["confusion_matrix"] == [[3, 1], [1, 3]]
    figures = quality.headline(report)
    assert figures["accuracy"] == pytest.approx(6 / 8)
    assert figures["spam_precision"] == pytest.approx(3 / 4)
    assert figures["spam_recall"] == pytest.approx(3 / 4)
    assert figures["spam_f1"] == pytest.approx(3 / 4)
    assert figures["mcc"] == pytest.approx(0.5)
    assert figures["errors"] == 2


def test_score_keeps_both_labels_when_one_is_never_predicted():
    report = quality.score(["ham", "spam"], ["ham", "ham"])
    assert report["labels"] == ["ham", "spam"]
    assert report["confusion_matrix"] == [[1, 0], [1, 0]]
    assert quality.headline(report)["spam_f1"] == 0.0


def test_table_shows_each_model_and_the_signed_difference_to_the_first():
    model = {"accuracy": 0.991, "spam_precision": 0.98, "spam_recall": 0.95, "spam_f1": 0.965, "mcc": 0.96, "errors": 5}
    baseline = {"accuracy": 0.98, "spam_precision": 1.0, "spam_recall": 0.85, "spam_f1": 0.92, "mcc": 0.91, "errors": 11}
    tuned = dict(baseline, accuracy=0.995, errors=3)
    assert quality.difference(model, baseline)["errors"] == -6
    table = quality.format_table("== test", [("BERT", model), ("TF-IDF", baseline), ("tuned", tuned)]).split("\n")
    assert table[0] == "== test"
    assert table[1].split() == ["BERT", "TF-IDF", "diff", "tuned", "diff"]
    rows = {line[:16].strip(): line[16:].split() for line in table[2:]}
    assert list(rows) == ["accuracy", "spam precision", "spam recall", "spam F1", "MCC", "errors"]
    assert rows["accuracy"] == ["0.9910", "0.9800", "+0.0110", "0.9950", "-0.0040"]
    assert rows["spam precision"][:3] == ["0.9800", "1.0000", "-0.0200"]
    assert rows["errors"] == ["5", "11", "-6", "3", "+2"]


def test_side_by_side_pads_shorter_blocks():
    text = quality.side_by_side(["a\nbbb\ncc", "x", "yy\nz"], gap=2)
    assert text.split("\n") == ["a    x  yy", "bbb     z", "cc"]


def test_tuned_baseline_picks_c_by_cross_validation_and_reports_spam_probabilities():
    spam = ["WIN a FREE prize now, text WIN to 80086", "FREE entry: claim your cash prize, call now",
            "URGENT you have won a prize, call 0800 now", "Claim your FREE ringtone, text TONE now",
            "You won cash! Reply WIN to claim", "Free prize draw, call now to claim"]
    ham = ["see you at lunch", "are you coming home tonight", "ok thanks, talk later",
           "running late, be there soon", "what time is the film", "love you, sleep well"]
    search = quality.fit_tuned_baseline(spam + ham, ["spam"] * 6 + ["ham"] * 6)
    assert search.best_params_["logisticregression__C"] in quality.BASELINE_CS
    predictions = quality.baseline_predictions(search, ["FREE prize, call now to claim", "see you tonight"])
    assert predictions.labels == ["spam", "ham"]
    assert predictions.spam_probability[0] > 0.5 > predictions.spam_probability[1]


@pytest.mark.needs_tf
def test_loss_is_read_from_the_runners_progress_lines():
    """Drives the runner's ProgressHook, so a change of its log format fails here."""
    import tensorflow.compat.v1 as tf
    from bert_runner.hooks import LOSS_COLLECTION, ProgressHook

    recorder = quality.LossRecorder()
    logger = logging.getLogger("bert_runner")
    old_level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(recorder)
    try:
        with tf.Graph().as_default():
            step = tf.train.get_or_create_global_step()
            tf.add_to_collection(LOSS_COLLECTION, tf.constant(0.0))
            advance = tf.assign_add(step, 1)
            hook = ProgressHook(batch_size=4, total_steps=5, every_steps=2)
            hook.begin()
            with tf.Session() as session:
                session.run(tf.global_variables_initializer())
                hook.after_create_session(session, None)
                for before, loss in enumerate((0.9, 0.7, 0.5, 0.25, 0.125)):
                    session.run(advance)
                    values = tf.train.SessionRunValues({"loss": loss, "step": before}, None, None)
                    hook.after_run(tf.train.SessionRunContext((), session), values)
    finally:
        logger.removeHandler(recorder)
        logger.setLevel(old_level)
    assert recorder.points == [(3, 0.5), (5, 0.125)]


def test_a_step_logged_twice_is_recorded_once():
    recorder = quality.LossRecorder()
    for message in ("step 410/418 (98%)  loss 0.0018  14.2 examples/sec",
                    "step 418/418 (100%)  loss 0.0125  13.6 examples/sec",
                    "step 418/418 (100%)  loss 0.0021  0.0 examples/sec"):
        recorder.handle(logging.LogRecord("bert_runner", logging.INFO, __file__, 1, message, None, None))
    assert recorder.points == [(410, 0.0018), (418, 0.0125)]


def test_progress_lines_without_a_loss_are_ignored():
    assert quality.parse_progress_loss("step 10/20 (50%)  12.0 examples/sec (11.0 overall)  ~5s left") is None
    assert quality.parse_progress_loss("training: 4460 examples, batch size 32") is None
    assert quality.parse_progress_loss("step 7/9 (78%)  loss 1.5e-03  3.0 examples/sec") == (7, 0.0015)


@pytest.mark.needs_tf
def test_loss_is_read_from_estimator_event_files(tmp_path):
    import tensorflow.compat.v1 as tf

    with tf.Graph().as_default():
        with tf.variable_scope("loss"):  # as in the model: the summary's tag becomes "loss_1"
            tf.constant(0.0)
        value = tf.placeholder(tf.float32)
        summary = tf.summary.scalar("loss", value)
        other = tf.summary.scalar("global_step/sec", value)
        assert summary.name.startswith("loss_1")
        writer = tf.summary.FileWriter(str(tmp_path))
        with tf.Session() as session:
            for step, loss in ((1, 0.69), (101, 0.05)):
                writer.add_summary(session.run(summary, {value: loss}), step)
                writer.add_summary(session.run(other, {value: 3.0}), step)
        writer.close()
    points = quality.event_file_losses(str(tmp_path))
    assert [step for step, _ in points] == [1, 101]
    assert [loss for _, loss in points] == pytest.approx([0.69, 0.05])


def test_skips_with_a_message_when_shared_is_absent(tmp_path, monkeypatch, capsys):
    missing = str(tmp_path / "shared" / "data" / "sms_spam")
    monkeypatch.setattr(quality, "DEFAULT_DATA_DIR", missing)
    assert quality.main(["--data_dir", missing, "--results_dir", str(tmp_path / "results")]) == 0
    assert "skipped" in capsys.readouterr().out
    assert not (tmp_path / "results").exists()


def test_a_named_data_dir_without_the_splits_is_an_error(tmp_path, capsys):
    (tmp_path / "train.tsv").write_text("label\ttext\n")
    with pytest.raises(SystemExit) as stopped:
        quality.main(["--data_dir", str(tmp_path)])
    assert stopped.value.code == 2
    assert "--data_dir=%s must hold train.tsv, dev.tsv and test.tsv" % tmp_path in capsys.readouterr().err


def test_a_model_dir_with_a_checkpoint_is_refused(tmp_path, sms_dir, capsys):
    (tmp_path / "checkpoint").write_text('model_checkpoint_path: "model.ckpt-10"\n')
    with pytest.raises(SystemExit):
        quality.main(["--data_dir", sms_dir, "--model_dir", str(tmp_path)])
    assert "already holds a checkpoint" in capsys.readouterr().err


def test_quick_changes_only_the_default_epochs():
    assert quality.parse_args([])[0].epochs == 3.0
    assert quality.parse_args(["--quick"])[0].epochs == quality.QUICK_EPOCHS
    assert quality.parse_args(["--quick", "--num_train_epochs", "2"])[0].epochs == 2.0


def test_plots_are_written_as_png(tmp_path):
    report = quality.score(["ham", "spam", "spam"], ["ham", "spam", "ham"])
    confusion, loss = tmp_path / "confusion.png", tmp_path / "loss.png"
    quality.write_confusion_png(str(confusion), [("a", report), ("b", report), ("c", report)])
    quality.write_loss_png(str(loss), [(10, 0.5), (20, 0.1), (30, 0.05)], [(1, 0.69), (21, 0.2)], 15.0, "title")
    for path in (confusion, loss):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
