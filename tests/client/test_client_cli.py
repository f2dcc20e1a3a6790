"""`bert-classify`: output formats, input files, and one-line errors with exit codes."""

import json
import os
import subprocess
import sys

import pytest

from client_fakes import closed_port
from serving_client import MockTransport, Response, cli
from serving_client import _client as client_module

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


@pytest.fixture
def run(fake, tiny_vocab_file, monkeypatch, capsys):
    """Runs the CLI in-process against `fake`; returns (exit code, stdout, stderr)."""
    monkeypatch.setattr(client_module, "_default_transport", lambda *args: MockTransport(fake.handler))

    def run_cli(*args):
        code = cli.main(["--server", "http://serving", "--model", "sms", "--vocab", tiny_vocab_file] + list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run_cli


def test_table_for_one_text(run):
    code, out, err = run("good movie")
    assert code == 0 and err == ""
    header, row = out.splitlines()
    assert header.split() == ["label", "score", "p(ham)", "p(spam)", "text"]
    assert row.split() == ["spam", "0.8000", "0.2000", "0.8000", "good", "movie"]


def test_json_for_a_pair(run):
    code, out, _ = run("--format", "json", "is it good", "yes")
    assert code == 0
    record = json.loads(out)
    assert record["text"] == "is it good" and record["text_b"] == "yes"
    assert record["label"] == "spam"
    assert set(record["probabilities"]) == {"ham", "spam"}
    assert record["score"] == record["probabilities"]["spam"]


def test_jsonl_for_a_text_file_keeps_order_and_skips_blank_lines(run, tmp_path):
    path = tmp_path / "texts.txt"
    path.write_text("good\n\nthe film is bad\nlol\n", encoding="utf-8")
    code, out, _ = run("--file", str(path), "--format", "jsonl", "--batch-size", "1", "--in-flight", "3")
    assert code == 0
    assert [json.loads(line)["text"] for line in out.splitlines()] == ["good", "the film is bad", "lol"]


def test_tsv_file_with_named_columns_for_pairs(run, fake, tmp_path):
    path = tmp_path / "pairs.tsv"
    path.write_text("id\tquestion\tanswer\n1\tis it good\tyes\n2\tis it bad\tno it is not\n", encoding="utf-8")
    code, out, _ = run("--file", str(path), "--text-column", "question", "--text-b-column", "answer", "--format", "json")
    assert code == 0
    records = json.loads(out)
    assert [(r["text"], r["text_b"]) for r in records] == [("is it good", "yes"), ("is it bad", "no it is not")]
    assert 1 in fake.predict_bodies()[0]["inputs"]["segment_ids"][0]


def test_jsonl_file_and_table_of_several_rows(run, tmp_path):
    path = tmp_path / "texts.jsonl"
    path.write_text('{"text": "good"}\n{"text": "bad", "other": 1}\n', encoding="utf-8")
    code, out, _ = run("--file", str(path))
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == 3 and lines[1].endswith("good") and lines[2].endswith("bad")


def test_table_shortens_long_texts(run):
    code, out, _ = run(" ".join(["good"] * 40))
    assert out.splitlines()[1].endswith("...")


def test_server_error_is_one_line_with_status_and_message(run, fake):
    fake.before = lambda request: Response(404, json={"error": "Servable not found for request: Latest(sms)"})
    code, out, err = run("good")
    assert code == 1 and out == ""
    assert err == (
        "bert-classify: error: HTTP 404 from GET http://serving/v1/models/sms/metadata: "
        "Servable not found for request: Latest(sms)\n"
    )


def test_mismatch_is_one_line(run, fake):
    code, _, err = run("--cased", "good")
    assert code == 1
    assert err.count("\n") == 1 and "do_lower_case=False but the model was trained with do_lower_case=True" in err


def test_foreign_export_warns_in_one_line_and_uses_labels(run, fake):
    fake.with_metadata = False
    code, out, err = run("--labels", "neg,pos", "good")
    assert code == 0
    assert err.startswith("bert-classify: warning: model 'sms' version 7 has no 'metadata' signature")
    assert err.count("\n") == 1
    assert out.splitlines()[1].split()[0] == "pos"


def test_input_file_errors_name_file_and_line(run, tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"text": "good"}\n{"text": 3}\n', encoding="utf-8")
    code, _, err = run("--file", str(path), "--format", "jsonl")
    assert code == 1
    assert err == "bert-classify: error: %s:2: field 'text' must be a string, got int\n" % path


@pytest.mark.parametrize(
    "args, words",
    [
        ([], "give either TEXT [TEXT_B] or --file"),
        (["a", "--file", "x"], "give either TEXT [TEXT_B] or --file"),
        (["--batch-size", "0", "a"], "must be >= 1"),
        (["--labels", "a,a", "x"], "distinct"),
        (["--format", "xml", "a"], "invalid choice"),
    ],
)
def test_usage_errors_exit_2(run, capsys, args, words):
    with pytest.raises(SystemExit) as info:
        run(*args)
    assert info.value.code == 2
    assert words in capsys.readouterr().err


def test_module_entry_point_reports_connection_failure_in_one_line(tiny_vocab_file):
    """A real process: no traceback, exit 1, even when nothing listens on the port."""
    port = closed_port()
    env = dict(os.environ, PYTHONPATH=REPO)
    result = subprocess.run(
        [sys.executable, "-m", "serving_client", "--server", "http://127.0.0.1:%d" % port, "--model", "m",
         "--vocab", tiny_vocab_file, "--retries", "0", "hello"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True, env=env, timeout=60,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith("bert-classify: error: cannot connect to http://127.0.0.1:%d/v1/models/m/metadata" % port)
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


def test_unknown_scheme_is_one_line(tiny_vocab_file, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["--server", "ftp://x", "--model", "m", "--vocab", tiny_vocab_file, "hi"])
    assert "must start with http://, https:// or grpc://" in str(info.value.code)


def test_a_second_text_for_a_model_trained_on_single_texts_is_refused(run, fake):
    fake.info = fake.info._replace(text_pairs=False)
    code, out, err = run("is it good", "yes")
    assert code == 1 and out == ""
    assert err.strip() == "bert-classify: error: the model was trained on single texts; it takes no second text"
    assert fake.predict_bodies() == []
