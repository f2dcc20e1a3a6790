"""The client and the CLI against a multi-label classifier: label sets decided by the model's thresholds."""

import json

import pytest

from serving_client import LabelSet, MockTransport, ModelMismatchError, cli
from serving_client import _client as client_module
from multi_label_fakes import LABELS, FakeMultiLabel
from tagging_fakes import FakeTagger


@pytest.fixture
def fake(tiny_vocab_file):
    return FakeMultiLabel(tiny_vocab_file, with_vocab=True)


def test_a_text_gets_every_label_that_reaches_its_threshold_best_first(fake, connect):
    client = connect(fake)
    short, long = client.predict_batch(["good movie", "the movie was very good"])  # 4 and 11 tokens
    assert client.task_kind == "multi_label_classification" and client.model_info.thresholds == [0.5, 0.3, 0.9]
    assert short == LabelSet(("billing", "account"), pytest.approx(dict(zip(LABELS, [0.8, 0.4, 0.1]))), "good movie")
    assert long.labels == ("bug", "billing", "account")  # 0.95, 11/12, 0.4: ordered by score
    assert list(long.scores) == LABELS and long.error is None
    # label_ids went multi-hot: one zero per label per text.
    (body,) = fake.predict_bodies()
    assert body["inputs"]["label_ids"] == [[0, 0, 0], [0, 0, 0]]


def test_pairs_and_a_threshold_of_the_clients_own(fake, connect):
    pair = connect(fake).predict("good", "movie")  # [CLS] good [SEP] movie [SEP]: 5 tokens
    assert pair.text_b == "movie" and pair.labels == ("bug", "billing", "account")
    assert connect(fake, threshold=0.85).predict("the movie was very good").labels == ("bug", "billing")
    with pytest.raises(ValueError, match="threshold must be from 0 to 1"):
        connect(fake, threshold=1.5)


def test_a_model_without_tuned_thresholds_decides_at_the_default(tiny_vocab_file, connect):
    fake = FakeMultiLabel(tiny_vocab_file, thresholds=[], with_vocab=True)
    assert connect(fake).predict("good movie").labels == ("billing",)  # 0.8 >= 0.5; 0.4 and 0.1 are not


def test_the_other_kinds_methods_are_refused_before_sending(fake, connect, tiny_vocab_file):
    with pytest.raises(ModelMismatchError, match="is a multi-label classification model, not a token classification model"
                                                 ": use predict"):
        connect(fake).entities("good movie")
    tagger = FakeTagger(tiny_vocab_file, {}, with_vocab=True)
    with pytest.raises(ModelMismatchError, match="is a token classification model, not a sequence classification model "
                                                 "or a multi-label classification model: use entities"):
        connect(tagger).predict("good movie")
    assert fake.predict_bodies() == [] and tagger.predict_bodies() == []


@pytest.fixture
def run(fake, monkeypatch, capsys):
    monkeypatch.setattr(client_module, "_default_transport", lambda *args: MockTransport(fake.handler))

    def run_cli(*args):
        code = cli.main(["--server", "http://serving", "--model", fake.model] + list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run_cli


def test_cli_table_and_json_lines(run, tmp_path):
    code, out, err = run("the movie was very good")
    assert code == 0 and err == ""
    assert out.splitlines() == ["labels                                text",
                                "bug 0.9500, billing 0.9167, account 0.4000  the movie was very good"]
    path = tmp_path / "texts.txt"
    path.write_text("good movie\nthe movie was very good\n", encoding="utf-8")
    code, out, _ = run("--file", str(path), "--format", "jsonl", "--threshold", "0.85")
    assert code == 0
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["labels"] for r in records] == [[], ["bug", "billing"]]
    assert records[0] == {"labels": [], "scores": pytest.approx({"billing": 0.8, "account": 0.4, "bug": 0.1}),
                          "text": "good movie"}


def test_cli_refuses_a_threshold_out_of_range(run, capsys):
    with pytest.raises(SystemExit):
        run("good", "--threshold", "2")
    assert "--threshold: must be from 0 to 1" in capsys.readouterr().err
