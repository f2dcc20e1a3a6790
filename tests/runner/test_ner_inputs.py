"""run_ner's bad input: one error naming file and line, found before any training step."""

import os

import pytest

import tiny_bert

pytestmark = pytest.mark.needs_tf


@pytest.fixture
def ner_files(tiny_model_files, tmp_path):
    data_dir = tiny_bert.write_ner_dataset(str(tmp_path / "data"), train=16, dev=4, test=4)
    return dict(tiny_model_files, data_dir=data_dir)


def run_ner(files, output_dir, **overrides):
    from bert_runner.run import run
    from bert_runner.token_classification import TokenClassification

    settings = dict(task_name="ner", num_train_epochs=1.0, do_train=True, do_eval=True, do_predict=True)
    settings.update(overrides)
    return run(tiny_bert.run_options(files, output_dir, **settings), TokenClassification())


def break_file(files, split, text):
    path = os.path.join(files["data_dir"], split + ".conll")
    with open(path, "ab") as f:
        f.write(b"\n" + (text.encode("utf-8") if isinstance(text, str) else text))
    return path


@pytest.mark.parametrize("split,text,message", [
    ("train", "zed\n", r"train.conll:\d+: no tag column in 'zed'"),
    ("dev", "zed\tB-person\n", r"dev.conll:\d+: unknown tag 'B-person': type 'person' is not among the labels"),
    ("test", "the\tO\nlee\tI-per\n", r"test.conll:\d+: I-per after O is not valid IOB2"),
    ("train", b"caf\xe9\tO\n", r"train.conll:\d+: not valid UTF-8 \(byte 0xe9 at column 4\)"),
    ("dev", "\u200b\tO\n\ufe0f\tO\n", r"dev.conll:\d+: the sentence has no token the tokenizer keeps"),
])
def test_a_bad_line_stops_the_run_before_training(ner_files, tmp_path, split, text, message):
    from bert_runner.errors import RunnerError

    break_file(ner_files, split, text)
    output_dir = tmp_path / "run"
    with pytest.raises(RunnerError, match=message):
        run_ner(ner_files, output_dir)
    assert not (output_dir / "checkpoint").exists()


def test_an_empty_split_and_a_missing_one_name_the_file(ner_files, tmp_path):
    from bert_runner.errors import RunnerError

    open(os.path.join(ner_files["data_dir"], "dev.conll"), "w").close()
    with pytest.raises(RunnerError, match=r"dev.conll: no sentences"):
        run_ner(ner_files, tmp_path / "a")
    os.remove(os.path.join(ner_files["data_dir"], "test.conll"))
    with pytest.raises(RunnerError, match=r"no test file: expected one of .*test.conll, .*test.txt, .*test.tsv"):
        run_ner(ner_files, tmp_path / "b", do_eval=False)


def test_labels_flag_and_bioes_data(ner_files, tmp_path):
    from bert_runner.errors import RunnerError

    with pytest.raises(RunnerError, match=r"--labels: tag 'per' is not a IOB2 tag"):
        run_ner(ner_files, tmp_path / "a", labels=["O", "per"])
    with pytest.raises(RunnerError, match=r"--doc_stride=0 must be at least 1"):
        run_ner(ner_files, tmp_path / "b", doc_stride=0)
    # The same data in BIOES: read, trained on IOB2 tags, predictions written back in BIOES.
    from tagging import BIOES, from_iob2, read_conll

    bioes_dir = tmp_path / "bioes"
    bioes_dir.mkdir()
    for split in ("train", "dev", "test"):
        sentences = read_conll(os.path.join(ner_files["data_dir"], split + ".conll"))
        tiny_bert.write_conll(str(bioes_dir / (split + ".txt")),
                              [list(zip(s.words, from_iob2(s.tags, BIOES))) for s in sentences])
    output_dir = tmp_path / "run"
    summary = run_ner(dict(ner_files, data_dir=str(bioes_dir)), output_dir, tag_scheme="BIOES")
    with open(output_dir / "label_list.txt") as f:
        assert f.read().split() == ["O", "B-loc", "I-loc", "B-per", "I-per"]
    with open(summary["predict"]["predictions_file"]) as f:
        gold = {line.split(" ")[1] for line in f if line.strip()}
    assert "S-per" in gold or "E-per" in gold
