"""A collapsed fine-tune (an all-O tagger, a one-label classifier) says so, and its export is refused."""

import json
import logging
import os

import pytest

import tiny_bert

pytestmark = pytest.mark.needs_tf

TAGS = ["O", "B-loc", "I-loc", "B-per", "I-per"]


@pytest.fixture
def all_o_files(tiny_model_files, tmp_path):
    """Training data whose every tag is O (dev and test keep their names): the tagger learns to say O only."""
    data_dir = tiny_bert.write_ner_dataset(str(tmp_path / "data"), train=32, dev=8, test=4)
    train = [[(word, "O") for word, _ in sentence] for sentence in tiny_bert.ner_sentences(32, seed=11)]
    tiny_bert.write_conll(os.path.join(data_dir, "train.conll"), train)
    return dict(tiny_model_files, data_dir=data_dir)


def run_ner(files, output_dir, **overrides):
    from bert_runner.run import run
    from bert_runner.token_classification import TokenClassification

    # 40 steps of 8 sentences at a high rate: the all-O data's tagger says O for every word.
    settings = dict(task_name="ner", labels=TAGS, learning_rate=1e-2, num_train_epochs=10.0, do_train=True, do_eval=True)
    settings.update(overrides)
    return run(tiny_bert.run_options(files, output_dir, **settings), TokenClassification())


def test_an_all_o_tagger_warns_everywhere_and_its_export_is_refused_without_the_flag(all_o_files, tmp_path, caplog):
    from bert_runner.errors import RunnerError

    output_dir = tmp_path / "run"
    export_dir = tmp_path / "export"
    with caplog.at_level(logging.WARNING, logger="bert_runner"):
        with pytest.raises(RunnerError, match=r"--do_export: the model at step 40 collapsed on the dev set "
                                              r"\(every dev word is tagged O .*\)\. Pass --export_collapsed_model"):
            run_ner(all_o_files, output_dir, do_export=True, export_dir=str(export_dir))
    assert not export_dir.exists()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("the model collapsed at step 40: every dev word is tagged O" in w for w in warnings)

    text = (output_dir / "eval_results.txt").read_text()
    assert text.startswith("collapsed = the model collapsed at step 40: every dev word is tagged O")
    assert "entity_f1 = 0.0" in text  # the family's lines are kept
    for name in ("eval_results.json", "train_summary-local.json"):
        with open(output_dir / name) as f:
            assert json.load(f)["collapsed"].startswith("every dev word is tagged O"), name

    # An export alone reads the verdict from eval_results.json (same step), and the flag lets it through.
    with pytest.raises(RunnerError, match=r"collapsed on the dev set"):
        run_ner(all_o_files, output_dir, do_train=False, do_eval=False, do_export=True, export_dir=str(export_dir))
    summary = run_ner(all_o_files, output_dir, do_train=False, do_eval=False, do_export=True,
                      export_dir=str(export_dir), export_collapsed_model=True)
    assert os.path.isfile(os.path.join(summary["export"]["path"], "saved_model.pb"))


def test_a_tagger_that_learned_is_not_marked_and_exports(tiny_model_files, tmp_path):
    data_dir = tiny_bert.write_ner_dataset(str(tmp_path / "data"), train=160, dev=24, test=4)
    output_dir = tmp_path / "run"
    summary = run_ner(dict(tiny_model_files, data_dir=data_dir), output_dir, learning_rate=1e-3, do_export=True,
                      export_dir=str(tmp_path / "export"))
    assert summary["eval"]["micro"]["f1"] > 0.5
    assert summary["eval"]["collapsed"] is None
    assert "collapsed" not in (output_dir / "eval_results.txt").read_text()
    with open(output_dir / "train_summary-local.json") as f:
        assert json.load(f)["collapsed"] is None
    assert os.path.isdir(summary["export"]["path"])


@pytest.mark.parametrize("matrix,reason", [
    ([[5, 0], [3, 0]], "every one of the 8 dev examples is predicted 'ham' (the dev set has 2 labels)"),
    ([[4, 1], [3, 0]], None),  # wrong often, but not one label for everything
    ([[8, 0], [0, 0]], None),  # the dev set has one label: nothing to tell
])
def test_classification_calls_one_predicted_label_a_collapse(matrix, reason):
    from bert_runner.classification import SequenceClassification
    from bert_runner.metrics import scores

    assert SequenceClassification().collapse_reason(scores(matrix, ["ham", "spam"])) == reason


def test_token_classification_calls_entity_f1_zero_a_collapse():
    from bert_runner.token_classification import TokenClassification
    from tagging import entity_scores

    gold = [["B-per", "O", "B-loc"], ["O", "O"]]
    report = entity_scores(gold, [["O", "B-loc", "O"], ["O", "O"]])
    report["num_sentences"] = 2
    assert TokenClassification().collapse_reason(report) == (
        "dev entity F1 is 0 (none of the 1 predicted entities matches one of the 2 in dev)")
    report = entity_scores(gold, [["B-per", "O", "O"], ["O", "O"]])
    report["num_sentences"] = 2
    assert TokenClassification().collapse_reason(report) is None
