"""`bert-classify` against a token classifier: entity tables and JSON lines with exact offsets."""

import json

import pytest

from featurizer import Featurizer
from serving_client import MockTransport, cli
from serving_client import _client as client_module
from tagging_fakes import FakeTagger


@pytest.fixture
def run(tiny_vocab_file, monkeypatch, capsys):
    vocab = Featurizer(tiny_vocab_file).vocab
    fake = FakeTagger(tiny_vocab_file, {vocab["good"]: "B-per", vocab["movie"]: "I-per", vocab["day"]: "B-loc"})
    monkeypatch.setattr(client_module, "_default_transport", lambda *args: MockTransport(fake.handler))

    def run_cli(*args):
        code = cli.main(["--server", "http://serving", "--model", "ner", "--vocab", tiny_vocab_file] + list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run_cli


def test_table_for_one_text(run):
    code, out, err = run("A G\u00f6od   MOVIE, one d\u00e1y")
    assert code == 0 and err == ""
    assert [line.split() for line in out.splitlines()] == [
        ["start", "end", "label", "score", "text"],
        ["2", "14", "per", "0.8000", "G\u00f6od", "MOVIE"],
        ["20", "23", "loc", "0.8000", "d\u00e1y"],
    ]


def test_no_entities(run):
    code, out, _ = run("nothing here")
    assert code == 0 and out == "start  end    label           score   text\n(no entities)\n"


def test_jsonl_for_a_file_gives_exact_offsets_per_line(run, tmp_path):
    texts = ["good movie \U0001f600 today", "", "the DAY\u200b!", "nothing"]
    path = tmp_path / "texts.txt"
    path.write_text("\n".join(texts) + "\n", encoding="utf-8")
    code, out, _ = run("--file", str(path), "--format", "jsonl", "--batch-size", "1")
    assert code == 0
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["text"] for r in records] == [texts[0], texts[2], texts[3]]
    assert records[0]["entities"] == [
        {"start": 0, "end": 10, "label": "per", "text": "good movie", "score": pytest.approx(0.8)}]
    assert [(e["label"], e["text"]) for e in records[1]["entities"]] == [("loc", "DAY")]
    assert records[2]["entities"] == []
    for record in records:
        for entity in record["entities"]:
            assert record["text"][entity["start"]:entity["end"]] == entity["text"]


def test_table_for_a_file_names_input_lines(run, tmp_path):
    path = tmp_path / "texts.txt"
    path.write_text("good\n\nday day\n", encoding="utf-8")
    code, out, _ = run("--file", str(path), "--aggregation", "max", "--doc-stride", "2")
    assert code == 0
    assert [line.split()[:4] for line in out.splitlines()] == [
        ["line", "start", "end", "label"], ["1", "0", "4", "per"], ["3", "0", "3", "loc"], ["3", "4", "7", "loc"]]


def test_a_second_text_is_refused(run):
    code, out, err = run("good", "movie")
    assert code == 1 and out == ""
    assert err.strip() == "bert-classify: error: the model tags entities in single texts; it takes no second text"
