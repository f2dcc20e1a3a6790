"""Bad input ends in one clear line naming the file, line, column or flag, before any training."""

import json
import os
import shutil
import subprocess
import sys

import pytest

import tiny_bert

pytestmark = pytest.mark.needs_tf

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def files(tiny_model_files, tmp_path):
    """A private copy of the tiny model files that each test may break."""
    data_dir = tmp_path / "data"
    shutil.copytree(tiny_model_files["data_dir"], str(data_dir))
    return dict(tiny_model_files, data_dir=str(data_dir), output_dir=str(tmp_path / "out"))


def run_error(files, **overrides):
    from bert_runner.errors import RunnerError
    from bert_runner.run import run

    options = tiny_bert.run_options(files, files["output_dir"], do_train=True, do_eval=True, **overrides)
    with pytest.raises(RunnerError) as error:
        run(options)
    # Nothing was trained: the error came before the first checkpoint.
    assert not os.path.exists(os.path.join(files["output_dir"], "checkpoint"))
    return str(error.value)


def append(path, text, mode="a"):
    with open(path, mode) as f:
        f.write(text)


def test_missing_data_file(files):
    os.remove(os.path.join(files["data_dir"], "dev.tsv"))
    message = run_error(files)
    assert message.startswith("cannot read data file %s" % os.path.join(files["data_dir"], "dev.tsv"))
    assert "No such file" in message


def test_wrong_column_count_names_file_and_line(files):
    train = os.path.join(files["data_dir"], "train.tsv")
    append(train, "pos\tgood\textra column\n")
    assert run_error(files) == "%s:258: expected 2 columns like the header, got 3" % train


def test_unknown_column_name_names_the_flag(files):
    message = run_error(files, text_column="sentence")
    assert message == "%s:1: no column named 'sentence' (the header has 'label', 'text'); set --text_column" % os.path.join(
        files["data_dir"], "train.tsv"
    )


def test_label_not_in_label_list(files):
    dev = os.path.join(files["data_dir"], "dev.tsv")
    append(dev, "neutral\tthe movie\n")
    assert run_error(files) == "%s:18: label 'neutral' is not in the label list [neg, pos]" % dev


def test_empty_split(files):
    dev = os.path.join(files["data_dir"], "dev.tsv")
    append(dev, "label\ttext\n", mode="w")
    assert run_error(files) == "%s: no dev examples in the file" % dev


def test_non_utf8_bytes(files):
    train = os.path.join(files["data_dir"], "train.tsv")
    with open(train, "ab") as f:
        f.write(b"pos\tcaf\xe9 good\n")
    assert run_error(files) == "%s:258: not valid UTF-8 (byte 0xe9 at column 8); save the file as UTF-8" % train


def test_max_seq_length_above_position_embeddings(files):
    assert run_error(files, max_seq_length=65) == (
        "--max_seq_length=65 is larger than max_position_embeddings=64 in %s" % files["bert_config_file"]
    )


def test_vocab_size_not_matching_config(files, tmp_path):
    config = str(tmp_path / "bert_config.json")
    tiny_bert.write_config(config, vocab_size=50)
    message = run_error(files, bert_config_file=config)
    assert message.startswith("--vocab_file=%s has " % files["vocab_file"])
    assert message.endswith("tokens but vocab_size=50 in %s: they must come from the same model" % config)


def test_init_checkpoint_missing(files, tmp_path):
    missing = str(tmp_path / "nowhere" / "bert_model.ckpt")
    assert run_error(files, init_checkpoint=missing) == (
        "--init_checkpoint=%s: no checkpoint found (expected %s.index)" % (missing, missing)
    )


def test_init_checkpoint_of_another_model(files, tmp_path):
    import featurizer

    other_config = tiny_bert.write_config(
        str(tmp_path / "other.json"), len(featurizer.load_vocab(files["vocab_file"])), hidden_size=16
    )
    checkpoint = tiny_bert.write_random_checkpoint(str(tmp_path / "other"), other_config)
    message = run_error(files, init_checkpoint=checkpoint)
    assert message.startswith("--init_checkpoint=%s does not fit --bert_config_file=%s:" % (checkpoint, files["bert_config_file"]))
    assert "differ in shape, e.g. bert/embeddings/LayerNorm/beta [16] in the checkpoint, [32] in the model" in message


def test_bad_config_json(files, tmp_path):
    config = tmp_path / "broken.json"
    config.write_text('{"vocab_size": 10,')
    message = run_error(files, bert_config_file=str(config))
    assert message.startswith("--bert_config_file=%s: not valid JSON" % config)


def test_export_alone_without_a_checkpoint(files):
    from bert_runner.errors import RunnerError
    from bert_runner.run import run

    os.makedirs(files["output_dir"])
    with pytest.raises(RunnerError, match="--output_dir=.*: the directory holds no checkpoint"):
        run(tiny_bert.run_options(files, files["output_dir"], do_export=True))


def test_command_line_prints_one_line_and_exits_2(files):
    """The user sees `error: ...` and no traceback."""
    result = subprocess.run(
        [
            sys.executable,
            os.path.join(REPO, "run_classifier.py"),
            "--task_name=generic",
            "--data_dir=" + files["data_dir"],
            "--vocab_file=" + files["vocab_file"],
            "--bert_config_file=" + files["bert_config_file"],
            "--output_dir=" + files["output_dir"],
            "--do_train",
            "--max_seq_length=1000",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        "error: --max_seq_length=1000 is larger than max_position_embeddings=64 in %s" % files["bert_config_file"]
    )


def test_unknown_task_lists_the_choices(files):
    assert run_error(files, task_name="sst2") == "--task_name=sst2 is not a known task (choose from cola, generic, goemotions, mnli, mrpc, multilabel, xnli)"


def test_too_few_steps(files):
    message = run_error(files, num_train_epochs=0.01)
    assert message == "256 training examples with --train_batch_size=8 and --num_train_epochs=0.01 make 0 training steps"


def test_labels_file_fixes_the_label_order(files, tmp_path):
    """A labels file makes unknown labels an error and fixes the id order."""
    labels = tmp_path / "labels.txt"
    labels.write_text("pos\n")
    message = run_error(files, labels_file=str(labels))
    assert message == "the label list has 1 label(s) ['pos']; a classifier needs at least 2"
    labels.write_text("pos\nneg\nneutral\n")
    from bert_runner.classification import SequenceClassification
    from bert_runner.plan import Plan

    plan = Plan(tiny_bert.run_options(files, files["output_dir"], do_train=True, labels_file=str(labels)), SequenceClassification())
    assert plan.labels == ["pos", "neg", "neutral"]
    with open(os.path.join(files["output_dir"], "label_list.txt")) as f:
        assert f.read().split() == ["pos", "neg", "neutral"]


def test_config_missing_keys(files, tmp_path):
    config = tmp_path / "partial.json"
    config.write_text(json.dumps({"hidden_size": 8}))
    assert run_error(files, bert_config_file=str(config)) == (
        "--bert_config_file=%s: missing vocab_size, num_hidden_layers, num_attention_heads" % config
    )


def test_export_onnx_without_do_export_names_both_flags(files):
    assert run_error(files, export_onnx=True) == "--export_onnx converts the export: add --do_export"
