"""Server down, slow or answering 503; partial failures in a large input.

Each fault ends in one `ServingClientError` whose one-line message names the
URL and the last error, after exactly the retries the policy allows (waits
recorded by the `sleeps` fixture, never slept). With `on_error="collect"` a
failed batch becomes `FailedPrediction`s in place and the other rows survive.
"""

import io
import json

import pytest

from client_fakes import LocalServer, closed_port
from featurizer import Featurizer
from serving_client import (
    ConnectError,
    FailedPrediction,
    HTTPTransport,
    MockTransport,
    Prediction,
    ProtocolError,
    ReadTimeout,
    Response,
    Retry,
    ServerError,
    ServingClient,
    Transport,
    cli,
)
from serving_client import _client as client_module

UNAVAILABLE = {"error": "Servable is unavailable, try again later"}


class Counting(Transport):
    """Counts the requests that reach the inner transport (i.e. attempts, retries included)."""

    def __init__(self, inner):
        self.inner = inner
        self.sent = []

    def send(self, request):
        self.sent.append(request)
        return self.inner.send(request)


def real_client(url, vocab, **options):
    return ServingClient(url, "m", vocab, connect_timeout=2.0, **options)


# -- whole-run failures: one error, bounded retries ---------------------------------------


def test_server_down_is_retried_then_one_connect_error_naming_the_url(tiny_vocab_file, sleeps):
    port = closed_port()
    counting = Counting(HTTPTransport(timeout=(2.0, 2.0)))
    with real_client("http://127.0.0.1:%d" % port, tiny_vocab_file, transport=counting, retry=Retry(max_retries=3)) as client:
        with pytest.raises(ConnectError) as info:
            client.predict("hello")
    url = "http://127.0.0.1:%d/v1/models/m/metadata" % port
    assert len(counting.sent) == 4  # 1 + 3 retries
    assert sleeps == [0.25, 0.5, 1.0]
    message = str(info.value)
    assert message.startswith("cannot connect to %s: " % url) and message.endswith("(gave up after 3 retries)")
    assert "\n" not in message and info.value.url == url


def test_slow_server_is_a_read_timeout_naming_url_and_timeout_and_is_not_resent(tiny_vocab_file, sleeps):
    with LocalServer(hold=True) as server:
        with real_client(server.url, tiny_vocab_file, timeout=0.3, retry=Retry(max_retries=3)) as client:
            with pytest.raises(ReadTimeout) as info:
                client.predict("hello")
        assert server.requests == ["GET /v1/models/m/metadata"]  # resending would only add load
    assert sleeps == []
    assert str(info.value) == "no answer from %s/v1/models/m/metadata within 0.3s (read timeout)" % server.url


def test_503_is_retried_with_bounded_backoff_then_one_server_error(tiny_vocab_file, sleeps):
    with LocalServer(503, UNAVAILABLE) as server:
        retry = Retry(max_retries=5, backoff_factor=0.25, max_backoff=1.0)
        with real_client(server.url, tiny_vocab_file, retry=retry) as client:
            with pytest.raises(ServerError) as info:
                client.load()
        assert len(server.requests) == 6
    assert sleeps == [0.25, 0.5, 1.0, 1.0, 1.0]  # capped at max_backoff
    error = info.value
    assert (error.status_code, error.server_message, error.retries) == (503, UNAVAILABLE["error"], 5)
    assert str(error) == "HTTP 503 from GET %s/v1/models/m/metadata: %s (gave up after 5 retries)" % (
        server.url, UNAVAILABLE["error"])


def test_503_on_predict_names_the_predict_url_and_the_retries(make_client, fake, sleeps):
    fail_batches_containing(fake, "good", Response(503, json=UNAVAILABLE))
    with pytest.raises(ServerError) as info:
        make_client(retry=Retry(max_retries=2)).predict("good")
    assert len(fake.predict_bodies()) == 3
    assert sleeps == [0.25, 0.5]
    assert str(info.value) == (
        "HTTP 503 from POST http://serving/v1/models/sms/versions/7:predict: %s (gave up after 2 retries)"
        % UNAVAILABLE["error"]
    )


def test_errors_that_are_not_retried_say_nothing_about_retries(make_client, fake, sleeps):
    fake.before = lambda request: Response(500, json={"error": "boom"})
    with pytest.raises(ServerError) as info:
        make_client().load()
    assert str(info.value) == "HTTP 500 from GET http://serving/v1/models/sms/metadata: boom"
    assert sleeps == [] and info.value.retries == 0


# -- partial failures: the library ------------------------------------------------------


def fail_batches_containing(fake, word, response=None, error=None):
    """Predict batches with a text containing `word` fail with `response` or by raising `error`."""
    token_ids = set()

    def before(request):
        if request.method != "POST" or request.json.get("signature_name") == "metadata":
            return None
        if not token_ids:
            token_ids.update(_ids_of(fake, word))
        if any(token_ids & set(row) for row in request.json["inputs"]["input_ids"]):
            if error is not None:
                raise error(request)
            return response
        return None

    fake.before = before


def _ids_of(fake, word):
    return set(Featurizer(fake.vocab_file, True, 16).encode(word).input_ids[1:-1])  # without [CLS], [SEP]


@pytest.fixture
def texts():
    # batch_size=2: batches [good, bad], [the film, bad movie], [lol]; "bad" fails two of them.
    return ["good", "bad", "the film", "bad movie", "lol"]


def test_collect_keeps_other_batches_and_puts_failed_rows_in_place(make_client, fake, texts):
    fail_batches_containing(fake, "bad", Response(400, json={"error": "Invalid argument: input_ids"}))
    results = make_client(batch_size=2, max_in_flight=3).predict_batch(texts, on_error="collect")
    assert [r.text for r in results] == texts
    assert [type(r) for r in results] == [FailedPrediction] * 4 + [Prediction]
    assert [r.index for r in results[:4]] == [0, 1, 2, 3]
    assert results[0].error is results[1].error and results[2].error is not results[0].error
    assert isinstance(results[0].error, ServerError) and results[0].error.status_code == 400
    assert str(results[0].error).endswith(":predict: Invalid argument: input_ids")
    assert results[4].error is None and results[4].label == "spam"


def test_raise_is_the_default_and_stops_at_the_first_failed_batch(make_client, fake, texts):
    fail_batches_containing(fake, "movie", Response(400, json={"error": "bad row"}))
    with pytest.raises(ServerError):
        make_client(batch_size=2).predict_batch(texts)


def test_a_batch_that_exhausts_retries_is_collected_after_its_attempts(make_client, fake, texts, sleeps):
    fail_batches_containing(fake, "movie", Response(503, json=UNAVAILABLE))
    results = make_client(batch_size=2, max_in_flight=1, retry=Retry(max_retries=2)).predict_batch(
        texts, on_error="collect")
    assert [r.error is None for r in results] == [True, True, False, False, True]
    assert "(gave up after 2 retries)" in str(results[2].error)
    assert len(fake.predict_bodies()) == 3 + 2  # the failing batch 3 times, the two others once
    assert sleeps == [0.25, 0.5]


@pytest.mark.parametrize(
    "error, kind",
    [
        (lambda request: ReadTimeout("no answer from %s within 1s (read timeout)" % request.url, request), ReadTimeout),
        (lambda request: ConnectError("cannot connect to %s: reset" % request.url, request), ConnectError),
    ],
)
def test_transport_failures_of_one_batch_are_collected(make_client, fake, texts, error, kind):
    fail_batches_containing(fake, "lol", error=error)
    results = make_client(batch_size=2, retry=Retry(max_retries=0)).predict_batch(texts, on_error="collect")
    assert [r.error is None for r in results] == [True, True, True, True, False]
    assert isinstance(results[4].error, kind) and results[4].error.url.endswith(":predict")


def test_a_malformed_answer_for_one_batch_is_collected(make_client, fake, texts):
    fail_batches_containing(fake, "lol", Response(200, json={"outputs": []}))
    results = make_client(batch_size=2).predict_batch(texts, on_error="collect")
    assert isinstance(results[4].error, ProtocolError)


def test_progress_counts_failed_rows_too(make_client, fake, texts):
    fail_batches_containing(fake, "bad", Response(400, json={"error": "x"}))
    done = []
    list(make_client(batch_size=2).iter_predict(texts, done.append, on_error="collect"))
    assert sum(done) == len(texts)


def test_unknown_on_error_is_refused(make_client):
    with pytest.raises(ValueError, match="on_error must be one of raise, collect"):
        make_client().predict_batch(["a"], on_error="ignore")


# -- partial failures: the CLI ----------------------------------------------------------


@pytest.fixture
def run(fake, tiny_vocab_file, monkeypatch, capsys):
    monkeypatch.setattr(client_module, "_default_transport", lambda *args: MockTransport(fake.handler))

    def run_cli(*args):
        code = cli.main(["--server", "http://serving", "--model", "sms", "--vocab", tiny_vocab_file, "--no-progress"]
                        + list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run_cli


@pytest.fixture
def text_file(tmp_path):
    path = tmp_path / "texts.txt"
    # File lines 1..6 with a blank line 3: rows good(1) bad(2) the film(4) bad movie(5) lol(6).
    path.write_text("good\nbad\n\nthe film\nbad movie\nlol\n", encoding="utf-8")
    return str(path)


PREDICT_URL = "http://serving/v1/models/sms/versions/7:predict"


def test_cli_reports_failed_lines_keeps_the_rest_and_exits_1(run, fake, text_file):
    fail_batches_containing(fake, "movie", Response(400, json={"error": "Invalid argument: too long"}))
    code, out, err = run("--file", text_file, "--format", "jsonl", "--batch-size", "2")
    assert code == 1
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["text"] for r in records] == ["good", "bad", "the film", "bad movie", "lol"]
    assert [("label" in r, "error" in r) for r in records] == [(True, False)] * 2 + [(False, True)] * 2 + [(True, False)]
    assert records[2] == {
        "error": "HTTP 400 from POST %s: Invalid argument: too long" % PREDICT_URL, "line": 4, "text": "the film"}
    assert records[3]["line"] == 5
    assert err.splitlines() == [
        "bert-classify: error: %s lines 4-5 failed: HTTP 400 from POST %s: Invalid argument: too long"
        % (text_file, PREDICT_URL),
        "bert-classify: error: 2 of 5 rows failed; the other 3 were written",
    ]


def test_cli_names_each_failed_batch_once_with_its_own_error(run, fake, text_file):
    fail_batches_containing(fake, "bad", Response(400, json={"error": "nope"}))
    code, out, err = run("--file", text_file, "--format", "json", "--batch-size", "1")
    assert code == 1
    records = json.loads(out)
    assert ["error" in r for r in records] == [False, True, False, True, False]
    lines = err.splitlines()
    assert [line.split(" failed:")[0] for line in lines[:2]] == [
        "bert-classify: error: %s line 2" % text_file, "bert-classify: error: %s line 5" % text_file]
    assert lines[2] == "bert-classify: error: 2 of 5 rows failed; the other 3 were written"


def test_cli_tsv_line_numbers_count_the_header(run, fake, tmp_path):
    path = tmp_path / "texts.tsv"
    path.write_text("id\ttext\n1\tgood\n2\tlol\n", encoding="utf-8")
    fail_batches_containing(fake, "lol", Response(400, json={"error": "nope"}))
    code, out, err = run("--file", str(path), "--format", "jsonl", "--batch-size", "1")
    assert code == 1
    assert json.loads(out.splitlines()[1])["line"] == 3
    assert "%s line 3 failed" % path in err


def test_cli_table_marks_failed_rows_even_before_the_first_prediction(run, fake, text_file):
    fail_batches_containing(fake, "good", Response(400, json={"error": "nope"}))
    code, out, err = run("--file", text_file, "--batch-size", "1")
    assert code == 1
    rows = [line.split() for line in out.splitlines()]
    assert rows[0] == ["label", "score", "p(ham)", "p(spam)", "text"]
    assert rows[1] == ["ERROR", "-", "-", "-", "good"]
    assert rows[2][0] == "spam" and rows[2][-1] == "bad"
    assert len(rows) == 6


def test_cli_table_when_every_row_failed(run, fake, text_file):
    fail_batches_containing(fake, "good", Response(400, json={"error": "nope"}))
    path = text_file.replace("texts.txt", "one.txt")
    with open(path, "w") as f:
        f.write("good\n")
    code, out, err = run("--file", path)
    assert code == 1
    assert [line.split() for line in out.splitlines()] == [["label", "score", "text"], ["ERROR", "-", "good"]]
    assert err.splitlines()[-1] == "bert-classify: error: 1 of 1 rows failed; the other 0 were written"


def test_cli_success_is_silent_and_exits_0(run, text_file):
    code, out, err = run("--file", text_file, "--format", "jsonl")
    assert (code, err) == (0, "")
    assert len(out.splitlines()) == 5


# -- whole-run failures: the CLI over real sockets ------------------------------------------


def run_real(server_url, vocab, capsys, *args):
    code = cli.main(["--server", server_url, "--model", "m", "--vocab", vocab, "--connect-timeout", "2"]
                    + list(args) + ["hello"])
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_server_down_is_one_line_after_the_retries(tiny_vocab_file, capsys, sleeps):
    port = closed_port()
    code, out, err = run_real("http://127.0.0.1:%d" % port, tiny_vocab_file, capsys, "--retries", "2")
    assert (code, out) == (1, "")
    assert err.startswith("bert-classify: error: cannot connect to http://127.0.0.1:%d/v1/models/m/metadata: " % port)
    assert err.endswith(" (gave up after 2 retries)\n") and err.count("\n") == 1
    assert sleeps == [0.25, 0.5]


def test_cli_slow_server_is_one_line_naming_the_timeout(tiny_vocab_file, capsys, sleeps):
    with LocalServer(hold=True) as server:
        code, out, err = run_real(server.url, tiny_vocab_file, capsys, "--timeout", "0.3")
        assert len(server.requests) == 1
    assert (code, out) == (1, "")
    assert err == "bert-classify: error: no answer from %s/v1/models/m/metadata within 0.3s (read timeout)\n" % server.url


def test_cli_503_is_one_line_with_the_server_message(tiny_vocab_file, capsys, sleeps):
    with LocalServer(503, UNAVAILABLE) as server:
        code, out, err = run_real(server.url, tiny_vocab_file, capsys, "--retries", "2")
        assert len(server.requests) == 3
    assert (code, out) == (1, "")
    assert err == "bert-classify: error: HTTP 503 from GET %s/v1/models/m/metadata: %s (gave up after 2 retries)\n" % (
        server.url, UNAVAILABLE["error"])


def test_line_ranges():
    assert cli._line_ranges([7]) == "line 7"
    assert cli._line_ranges([2, 3, 4, 7, 9, 10]) == "lines 2-4, 7, 9-10"


def test_help_documents_retries_partial_failures_and_exit_status(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "(0.25, 0.5, 1 s, ... at most 8 s)" in text
    assert "read timeouts (--timeout) are not resent" in text
    assert "one line per failed batch naming its file lines" in text
    assert "1 serving or input error, or any row failed" in text


def test_cli_names_standard_input_in_failure_lines(run, fake, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO("good\nlol\n"))
    fail_batches_containing(fake, "lol", Response(400, json={"error": "nope"}))
    code, out, err = run("--file", "-", "--format", "jsonl", "--batch-size", "1")
    assert code == 1
    assert err.splitlines()[0].startswith("bert-classify: error: <stdin> line 2 failed: HTTP 400")
