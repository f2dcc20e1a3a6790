"""Reference task formats, feature caching and scores."""

import os

import numpy as np
import pytest

import tiny_bert

pytestmark = pytest.mark.needs_tf


def write(path, lines):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")


def test_reference_tasks_read_the_glue_layouts(tmp_path):
    from bert_runner.tasks import make_task

    root = str(tmp_path)
    write(os.path.join(root, "cola", "train.tsv"), ["gj04\t1\t\tOur friends won't buy this analysis.", "gj04\t0\t*\tThey drank the pub."])
    write(os.path.join(root, "cola", "test.tsv"), ["index\tsentence", "0\tBill whistled past the house."])
    cola = make_task("CoLA", os.path.join(root, "cola"))
    assert [(e.text_a, e.label) for e in cola.get_examples("train")] == [
        ("Our friends won't buy this analysis.", "1"),
        ("They drank the pub.", "0"),
    ]
    assert [(e.text_a, e.label) for e in cola.get_examples("test")] == [("Bill whistled past the house.", "0")]
    # What the export's metadata says, so that servers refuse a second text for CoLA's model.
    assert cola.text_pairs is False and make_task("xnli", root).text_pairs is True

    write(os.path.join(root, "mrpc", "dev.tsv"), ["Quality\t#1 ID\t#2 ID\t#1 String\t#2 String", '1\t1\t2\tHe said "yes.\tHe agreed.'])
    mrpc = make_task("mrpc", os.path.join(root, "mrpc"))
    example = mrpc.get_examples("dev")[0]
    assert (example.text_a, example.text_b, example.label) == ('He said "yes.', "He agreed.", "1")
    assert mrpc.text_pairs is True

    header = "\t".join(["index", "promptID", "pairID", "genre", "s1bp", "s2bp", "s1p", "s2p", "sentence1", "sentence2", "label1", "gold_label"])
    write(os.path.join(root, "mnli", "train.tsv"), [header, "\t".join(["7", "", "", "", "", "", "", "", "A man.", "A person.", "", "entailment"])])
    mnli = make_task("mnli", os.path.join(root, "mnli"))
    example = mnli.get_examples("train")[0]
    assert (example.guid, example.text_b, example.label) == ("train-7", "A person.", "entailment")
    assert mnli.get_labels() == ["contradiction", "entailment", "neutral"]


def test_reference_task_short_row_names_file_and_line(tmp_path):
    from bert_runner.errors import RunnerError
    from bert_runner.tasks import make_task

    write(str(tmp_path / "train.tsv"), ["Quality\t#1 ID\t#2 ID\t#1 String\t#2 String", "1\t1\t2\tonly one text"])
    with pytest.raises(RunnerError, match=r"train.tsv:2: expected at least 5 columns \(second text is column 5\), got 4"):
        make_task("mrpc", str(tmp_path)).get_examples("train")


def test_generic_task_reads_csv_pairs_by_column_name(tmp_path):
    from bert_runner.tasks import make_task

    write(str(tmp_path / "train.csv"), ["id,question,answer,verdict", '1,"Is it, really?",Yes,ok', "2,Why,Because,bad"])
    task = make_task("generic", str(tmp_path), text_column="question", text_b_column="answer", label_column="verdict")
    examples = task.get_examples("train")
    assert [(e.text_a, e.text_b, e.label) for e in examples] == [("Is it, really?", "Yes", "ok"), ("Why", "Because", "bad")]
    assert task.get_labels() == ["bad", "ok"]
    assert task.text_pairs is True and make_task("generic", str(tmp_path)).text_pairs is False


def test_generic_task_reads_the_sms_split(sms_dir):
    from bert_runner.tasks import make_task

    task = make_task("generic", sms_dir)
    assert len(task.get_examples("train")) == 4460
    assert len(task.get_examples("test")) == 556
    assert task.get_labels() == ["ham", "spam"]


def test_features_are_cached_and_rebuilt_when_an_input_changes(tiny_model_files, tmp_path):
    from bert_runner import records
    from bert_runner.classification import SequenceClassification
    from bert_runner.tasks import make_task
    from featurizer import Featurizer

    data_dir = tiny_bert.write_sentiment_dataset(str(tmp_path / "data"))
    featurizer = Featurizer(tiny_model_files["vocab_file"], max_seq_length=16)
    cache = str(tmp_path / "cache")
    family = SequenceClassification()

    def build(featurizer=featurizer, labels=("neg", "pos")):
        task = make_task("generic", data_dir)
        return records.cached_records(
            "train",
            task.get_examples("train"),
            task.split_path("train"),
            featurizer,
            list(labels),
            cache,
            {"task": "generic"},
            family.encode,
            family.record_schema,
        )

    first = build()
    mtime = os.path.getmtime(first.path)
    assert build() == first and os.path.getmtime(first.path) == mtime  # reused
    assert build(labels=("pos", "neg")).path != first.path
    assert build(Featurizer(tiny_model_files["vocab_file"], max_seq_length=20)).path != first.path
    assert build(Featurizer(tiny_model_files["vocab_file"], do_lower_case=False, max_seq_length=16)).path != first.path
    with open(os.path.join(data_dir, "train.tsv"), "a") as f:
        f.write("pos\tgood good\n")
    changed = build()
    assert changed.path != first.path and changed.num_examples == first.num_examples + 1

    # A record file without its completion marker (an interrupted write) is rewritten.
    os.remove(changed.path + ".json")
    with open(changed.path, "wb") as f:
        f.write(b"half-written")
    rebuilt = build()
    assert rebuilt == changed and os.path.getsize(rebuilt.path) > len(b"half-written")


def test_scores_match_scikit_learn():
    from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef, precision_recall_fscore_support

    from bert_runner.metrics import scores

    rng = np.random.RandomState(0)
    truth = rng.randint(0, 3, 200)
    predicted = np.where(rng.rand(200) < 0.7, truth, rng.randint(0, 3, 200))
    confusion = np.zeros((3, 3))
    for t, p in zip(truth, predicted):
        confusion[t, p] += 1
    report = scores(confusion, ["a", "b", "c"])
    precision, recall, f1, support = precision_recall_fscore_support(truth, predicted)
    assert report["accuracy"] == pytest.approx(accuracy_score(truth, predicted))
    assert report["mcc"] == pytest.approx(matthews_corrcoef(truth, predicted))
    assert report["macro_f1"] == pytest.approx(f1_score(truth, predicted, average="macro"))
    for i, label in enumerate("abc"):
        assert report["per_class"][label]["precision"] == pytest.approx(precision[i])
        assert report["per_class"][label]["recall"] == pytest.approx(recall[i])
        assert report["per_class"][label]["f1"] == pytest.approx(f1[i])
        assert report["per_class"][label]["support"] == support[i]
