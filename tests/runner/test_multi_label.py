"""Multi-label classification (`--task_name=multilabel|goemotions`): readers, thresholds, scores, a tiny run."""

import json
import os

import numpy as np
import pytest

import tiny_bert

pytestmark = pytest.mark.needs_tf

GOEMOTIONS_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data", "goemotions"))


def write(path, text):
    with open(str(path), "w", encoding="utf-8") as f:
        f.write(text)
    return str(path)


# ---------------------------------------------------------------- readers


def test_the_generic_reader_takes_label_sets_by_name_and_allows_none(tmp_path):
    from bert_runner.multi_label import MultiLabelTsvTask

    write(tmp_path / "train.tsv", "labels\ttext\nfood,happy\ta good food day\n\tthe day\nsad\tbad\n")
    task = MultiLabelTsvTask(str(tmp_path), label_column=("label", "labels"))
    examples = task.get_examples("train")
    assert [e.labels for e in examples] == [("food", "happy"), (), ("sad",)]
    assert examples[1].source == "%s:3" % (tmp_path / "train.tsv")
    assert task.get_labels() == ["food", "happy", "sad"]


def test_the_goemotions_reader_maps_ids_to_labels_txt_names(tmp_path):
    from bert_runner.multi_label import GoEmotionsTask

    write(tmp_path / "labels.txt", "admiration\namusement\nneutral")  # no final newline, as GoEmotions ships it
    write(tmp_path / "train.tsv", "so good\t0,1\tid1\nmeh\t2\tid2\n")
    task = GoEmotionsTask(str(tmp_path))
    assert task.get_labels() == ["admiration", "amusement", "neutral"]
    examples = task.get_examples("train")
    assert [(e.text_a, e.labels, e.guid) for e in examples] == [("so good", ("admiration", "amusement"), "id1"),
                                                              ("meh", ("neutral",), "id2")]


@pytest.mark.parametrize("row,message", [
    ("text\t0\n", "expected 3 tab-separated columns (text, label ids, comment id), got 2"),
    ("text\t0,7\tid\n", "label id '7' is not an index into labels.txt (0-2)"),
    ("text\tjoy\tid\n", "label id 'joy' is not an index into labels.txt (0-2)"),
])
def test_goemotions_errors_name_file_and_line(tmp_path, row, message):
    from bert_runner.errors import RunnerError
    from bert_runner.multi_label import GoEmotionsTask

    write(tmp_path / "labels.txt", "a\nb\nc\n")
    path = write(tmp_path / "train.tsv", "fine\t0\tid0\n" + row)
    with pytest.raises(RunnerError) as error:
        GoEmotionsTask(str(tmp_path)).get_examples("train")
    assert str(error.value) == "%s:2: %s" % (path, message)


def test_an_unknown_label_name_is_refused_before_training(tiny_model_files, tmp_path):
    from bert_runner.errors import RunnerError
    from bert_runner.run import run

    data = tiny_bert.write_multi_label_dataset(str(tmp_path / "data"))
    train = os.path.join(data, "train.tsv")
    with open(train, "a") as f:
        f.write("happy,joyful\tthe day\n")
    options = tiny_bert.run_options(tiny_model_files, tmp_path / "run", task_name="multilabel", data_dir=data,
                                    labels=tiny_bert.MULTI_LABELS, do_train=True)
    with pytest.raises(RunnerError) as error:
        run(options)
    assert str(error.value) == "%s:258: label 'joyful' is not in the label list [food, happy, sad]" % train
    assert not os.path.exists(os.path.join(str(tmp_path / "run"), "features"))


# ---------------------------------------------------------------- thresholds and scores


def test_scores_match_scikit_learn():
    from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

    from bert_runner.multi_label import multi_label_scores

    rng = np.random.RandomState(0)
    gold = rng.rand(200, 5) < 0.3
    predicted = rng.rand(200, 5) < 0.35
    predicted[:, 4] = False  # a label never predicted: F1 0
    report = multi_label_scores(gold, predicted, list("abcde"))
    assert report["micro_f1"] == pytest.approx(f1_score(gold, predicted, average="micro"))
    assert report["macro_f1"] == pytest.approx(f1_score(gold, predicted, average="macro", zero_division=0))
    assert report["subset_accuracy"] == pytest.approx(accuracy_score(gold, predicted))
    p, r, f, support = precision_recall_fscore_support(gold, predicted, zero_division=0)
    for i, label in enumerate("abcde"):
        assert [report["per_label"][label][k] for k in ("precision", "recall", "f1")] == pytest.approx([p[i], r[i], f[i]])
        assert report["per_label"][label]["support"] == support[i]


def test_tuning_takes_each_labels_best_f1_and_keeps_the_default_where_nothing_is_learnt():
    from bert_runner.multi_label import tune_thresholds

    gold = np.array([[1, 0, 0, 1], [1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 0]], bool)
    probabilities = np.array([
        [0.30, 0.10, 0.9, 0.70],
        [0.25, 0.20, 0.1, 0.70],
        [0.10, 0.80, 0.1, 0.10],
        [0.12, 0.60, 0.1, 0.10],
    ])
    thresholds = tune_thresholds(probabilities, gold)
    # label 0: anything in (0.12, 0.25] separates; the grid's nearest to 0.5 of those is 0.25.
    # label 1: best F1 at (0.6, 0.8]: 0.65..0.8 tie, nearest 0.5 is 0.65.
    # label 2: no positive row: the default. label 3: every threshold in (0.1, 0.7] ties at F1 2/3, 0.5 among them.
    assert thresholds == [0.25, 0.65, 0.5, 0.5]


def test_a_rare_label_whose_positives_score_below_005_gets_a_threshold_from_the_low_end():
    from bert_runner.multi_label import tune_thresholds

    gold = np.array([[1], [1], [0], [0], [0]], bool)
    probabilities = np.array([[0.03], [0.035], [0.012], [0.004], [0.001]])
    # 0.05 would find none of them; (0.012, 0.03] separates, and 0.03 is the nearest 0.5 of 0.02, 0.03.
    assert tune_thresholds(probabilities, gold) == [0.03]


# ---------------------------------------------------------------- a tiny run


@pytest.fixture(scope="module")
def multi_label_run(tiny_model_files, tmp_path_factory):
    from bert_runner.run import run

    root = tmp_path_factory.mktemp("multi_label")
    data = tiny_bert.write_multi_label_dataset(str(root / "data"))
    options = tiny_bert.run_options(tiny_model_files, root / "run", task_name="multilabel", data_dir=data,
                                    num_train_epochs=60.0, learning_rate=5e-4, do_train=True, do_eval=True,
                                    do_predict=True, do_export=True, tune_thresholds=True)
    return options, run(options)


def test_a_tiny_bert_learns_label_sets_and_writes_the_reports(multi_label_run):
    options, summary = multi_label_run
    report = summary["eval"]
    # Predicting each label's base rate scores macro F1 0.54 and subset accuracy 0.41 here.
    assert report["macro_f1"] > 0.8 and report["subset_accuracy"] > 0.6, report
    with open(os.path.join(options.output_dir, "eval_results.json")) as f:
        saved = json.load(f)
    assert set(saved["per_label"]) == set(tiny_bert.MULTI_LABELS)
    assert len(saved["thresholds"]) == 3 and "per label" in saved["threshold_choice"]
    with open(os.path.join(options.output_dir, "eval_results.txt")) as f:
        text = f.read()
    assert "eval_loss = " in text and "macro avg" in text and "subset acc" in text
    with open(os.path.join(options.output_dir, "thresholds.json")) as f:
        assert json.load(f)["thresholds"] == saved["thresholds"]
    # Predictions: the reference's probabilities file and a labelled one with the chosen sets.
    gold = [labels for labels, _ in tiny_bert.multi_label_rows(16, seed=23)]
    with open(summary["predict"]["predictions_file"]) as f:
        header, *rows = f.read().splitlines()
    assert header.split("\t") == ["labels"] + tiny_bert.MULTI_LABELS
    assert sum(row.split("\t")[0] == labels for row, labels in zip(rows, gold)) >= 9
    assert len(np.loadtxt(summary["predict"]["results_file"], delimiter="\t")) == 16


def test_the_export_takes_multi_hot_label_ids_and_carries_the_thresholds(multi_label_run):
    from bert_contract import LABEL_IDS, MULTI_LABEL_CLASSIFICATION
    from export_calls import run_export
    from featurizer import Featurizer, pad_batch

    options, summary = multi_label_run
    texts = [text for _, text in tiny_bert.multi_label_rows(16, seed=23)]
    featurizer = Featurizer(options.vocab_file, max_seq_length=options.max_seq_length)
    batch = {k: np.array(v, np.int32) for k, v in pad_batch(featurizer.encode_batch(texts), options.max_seq_length).items()}
    batch[LABEL_IDS] = np.zeros([len(texts), 3], np.int32)
    answer = run_export(summary["export"]["path"], batch)
    assert answer.label_ids_dims == [-1, 3]
    assert answer.output_dims == [-1, 3]
    served, info = answer.served, answer.info
    assert (info.task_kind, info.labels) == (MULTI_LABEL_CLASSIFICATION, tiny_bert.MULTI_LABELS)
    assert info.thresholds == summary["eval"]["thresholds"]
    predicted = np.loadtxt(summary["predict"]["results_file"], delimiter="\t")
    np.testing.assert_allclose(served, predicted, atol=1e-5)
    assert not np.allclose(served.sum(axis=1), 1.0)  # sigmoids, not a softmax


def test_an_export_alone_reuses_the_tuned_thresholds_only_for_their_checkpoint(multi_label_run, tmp_path):
    from bert_runner.errors import RunnerError
    from bert_runner.run import run

    options, summary = multi_label_run
    export_dir = str(tmp_path / "export")
    again = run(tiny_bert.run_options_like(options, do_train=False, do_eval=False, do_predict=False,
                                           export_dir=export_dir))
    assert again["export"]["model_info"]["thresholds"] == summary["eval"]["thresholds"]
    plain = run(tiny_bert.run_options_like(options, do_train=False, do_eval=False, do_predict=False,
                                           export_dir=export_dir, tune_thresholds=False))
    assert plain["export"]["model_info"]["thresholds"] == [0.5, 0.5, 0.5]
    with pytest.raises(RunnerError, match="--tune_thresholds chooses the thresholds on dev after training: add --do_eval"):
        run(tiny_bert.run_options_like(options, do_eval=False, do_predict=False, export_dir=export_dir))
    thresholds = os.path.join(options.output_dir, "thresholds.json")
    with open(thresholds) as f:
        saved = json.load(f)
    write(thresholds, json.dumps(dict(saved, labels=["x", "y", "z"])))
    with pytest.raises(RunnerError, match=r"holds thresholds for the labels \['x', 'y', 'z'\], not \['food', 'happy', 'sad'\]"):
        run(tiny_bert.run_options_like(options, do_train=False, do_eval=False, do_predict=False, export_dir=export_dir))
    write(thresholds, json.dumps(dict(saved, global_step=1)))
    try:
        with pytest.raises(RunnerError, match="was tuned at step 1, the exported checkpoint is .*; add --do_eval"):
            run(tiny_bert.run_options_like(options, do_train=False, do_eval=False, do_predict=False,
                                           export_dir=export_dir))
    finally:
        write(thresholds, json.dumps(saved))


def test_a_classifier_command_refuses_the_multi_label_run(multi_label_run):
    from bert_runner.errors import RunnerError
    from bert_runner.run import run

    options, _ = multi_label_run
    with pytest.raises(RunnerError, match="holds a multi label classification model; this command trains a "
                                          "sequence classification model \\(use run_classifier.py --task_name=multilabel"):
        run(tiny_bert.run_options_like(options, task_name="generic", do_train=False, do_eval=False, do_predict=False,
                                       tune_thresholds=False))


def test_one_label_is_a_model_for_multi_label_but_none_is_not(tiny_model_files, tmp_path):
    from bert_runner.errors import RunnerError
    from bert_runner.multi_label import MultiLabelClassification
    from bert_runner.plan import Plan

    data = tiny_bert.write_multi_label_dataset(str(tmp_path / "data"))
    options = tiny_bert.run_options(tiny_model_files, tmp_path / "run", task_name="multilabel", data_dir=data,
                                    do_train=True, labels=["happy", "sad", "food"])
    plan = Plan(tiny_bert.run_options_like(options, labels=["food"], do_train=False, do_eval=True,
                                           dev_file=write(tmp_path / "food.tsv", "labels\ttext\nfood\tfood\n\tday\n")),
                MultiLabelClassification())
    assert plan.labels == ["food"]
    write(tmp_path / "empty.tsv", "labels\ttext\n\tday\n")
    with pytest.raises(RunnerError, match=r"the label list has 0 label\(s\) \[\]; a multi-label classifier needs at least 1"):
        Plan(tiny_bert.run_options_like(options, output_dir=str(tmp_path / "run2"), labels=[],
                                        train_file=str(tmp_path / "empty.tsv")), MultiLabelClassification())


@pytest.mark.needs_shared
def test_goemotions_reads_whole(tmp_path):
    from bert_runner.multi_label import GoEmotionsTask

    if not os.path.isfile(os.path.join(GOEMOTIONS_DIR, "train.tsv")):
        pytest.skip("../shared/data/goemotions is not available")
    task = GoEmotionsTask(GOEMOTIONS_DIR)
    assert len(task.get_labels()) == 28 and task.get_labels()[-1] == "neutral"
    train, dev = task.get_examples("train"), task.get_examples("dev")
    assert (len(train), len(dev)) == (43410, 5426)
    assert sum(len(e.labels) > 1 for e in train) == 7102


def test_one_label_set_for_every_dev_text_is_a_collapse():
    from bert_runner.multi_label import MultiLabelClassification

    family = MultiLabelClassification()
    assert family.collapse_reason({"distinct_predicted_sets": 3, "distinct_gold_sets": 5, "num_examples": 9}) is None
    reason = family.collapse_reason({"distinct_predicted_sets": 1, "distinct_gold_sets": 5, "num_examples": 9,
                                     "only_predicted_set": []})
    assert reason == "every one of the 9 dev texts gets the label set {} (the dev set has 5 different sets)"


def test_the_label_declaration_decides_record_groups_placeholder_shapes_and_zeros():
    from bert_contract import INPUT_IDS, LABEL_IDS, SEGMENT_IDS
    from bert_runner.label_spec import MULTI_HOT, PER_EXAMPLE, PER_TOKEN, LABELS, LabelSpec
    from bert_runner.records import RecordSchema

    assert RecordSchema.for_label(PER_EXAMPLE) == RecordSchema((INPUT_IDS, SEGMENT_IDS), (LABEL_IDS,), (), ())
    assert RecordSchema.for_label(PER_TOKEN, ("w",)) == RecordSchema((INPUT_IDS, SEGMENT_IDS, LABEL_IDS, "w"), (), (), ())
    assert RecordSchema.for_label(MULTI_HOT) == RecordSchema((INPUT_IDS, SEGMENT_IDS), (), (LABEL_IDS,), ())
    assert [spec.shape(24, 5) for spec in (PER_EXAMPLE, PER_TOKEN, MULTI_HOT)] == [[None], [None, 24], [None, 5]]
    assert MULTI_HOT.zeros(2, 24, 3) == [[0, 0, 0], [0, 0, 0]] and PER_TOKEN.zeros(1, 2, 9) == [[0, 0]]
    assert (PER_EXAMPLE.min_labels, MULTI_HOT.min_labels) == (2, 1)
    soft = LabelSpec((LABELS,), dtype="float32", min_labels=1)
    assert RecordSchema.for_label(soft).floats == (LABEL_IDS,) and soft.zeros(1, 4, 2) == [[0.0, 0.0]]


def test_float_label_vectors_go_through_records_as_floats(tiny_vocab_file, tmp_path):
    """Not only int features: a family declaring float32 labels (soft targets) gets them back as float32."""
    import tensorflow.compat.v1 as tf

    from bert_contract import LABEL_IDS
    from bert_runner import records
    from bert_runner.label_spec import LABELS, LabelSpec
    from featurizer import Featurizer

    schema = records.RecordSchema.for_label(LabelSpec((LABELS,), dtype="float32", min_labels=1))
    featurizer = Featurizer(tiny_vocab_file, max_seq_length=12)

    def encode(featurizer, examples, labels):
        return [{"input_ids": e.input_ids, "segment_ids": e.segment_ids, LABEL_IDS: [0.25, 0.75]}
                for e in featurizer.encode_batch(examples)]

    record = records.write_records(["good day", "bad"], featurizer, ["a", "b"], str(tmp_path / "x.tf_record"),
                                   encode, schema)
    input_fn = records.input_fn_builder(record, schema, 12, is_training=False, batch_size=2, num_labels=2)
    with tf.Graph().as_default(), tf.Session() as session:
        batch = session.run(tf.data.make_one_shot_iterator(input_fn({})).get_next())
    assert batch[LABEL_IDS].dtype == np.float32 and batch[LABEL_IDS].tolist() == [[0.25, 0.75], [0.25, 0.75]]
    assert batch["input_ids"].dtype == np.int32
