"""The vocab an export carries: used when no vocab file is given, checked against the metadata."""

import json

import pytest

from client_fakes import FakeServing
from featurizer import Featurizer, pad_batch
from serving_client import ModelMismatchError, MockTransport, ServingClient, cli
from serving_client import _client as client_module


def client_for(fake, **options):
    return ServingClient("http://serving", fake.model, transport=MockTransport(fake.handler), **options)


def test_without_a_vocab_file_the_exported_vocab_gives_the_same_ids(tiny_vocab_file):
    fake = FakeServing(tiny_vocab_file, with_vocab=True)
    with client_for(fake) as client:
        prediction = client.predict("the movie was good")
    (body,) = fake.predict_bodies()
    expected = pad_batch(Featurizer(tiny_vocab_file, True, 16).encode_batch(["the movie was good"]), 16)
    assert body["inputs"]["input_ids"] == expected["input_ids"]
    assert prediction.label == "spam"
    assert [json.loads(json.dumps(b)).get("signature_name") for b in fake.predict_bodies("vocab")] == ["vocab"]


def test_a_given_vocab_file_is_still_accepted_when_it_matches(tiny_vocab_file):
    fake = FakeServing(tiny_vocab_file, with_vocab=True)
    with client_for(fake, vocab_file=tiny_vocab_file) as client:
        client.predict("good")
    assert fake.predict_bodies("vocab") == []  # the local file is checked against the metadata instead


def test_a_given_vocab_that_differs_is_refused(tiny_vocab_file, tmp_path):
    fake = FakeServing(tiny_vocab_file, with_vocab=True)
    other = tmp_path / "vocab.txt"
    other.write_bytes(open(tiny_vocab_file, "rb").read() + b"extra\n")
    with pytest.raises(ModelMismatchError, match="vocab sha256"):
        client_for(fake, vocab_file=str(other)).predict("good")
    assert fake.predict_bodies() == []


def test_an_exported_vocab_that_does_not_match_its_metadata_is_refused(tiny_vocab_file):
    fake = FakeServing(tiny_vocab_file, with_vocab=True)
    fake.vocab_bytes += b"tampered\n"
    with pytest.raises(ModelMismatchError, match="the vocab it carries has sha256 .* but its metadata says"):
        client_for(fake).predict("good")
    assert fake.predict_bodies() == []


def test_an_export_without_a_vocab_needs_a_vocab_file(tiny_vocab_file):
    fake = FakeServing(tiny_vocab_file)
    with pytest.raises(ModelMismatchError, match="carries no vocabulary .*pass the vocab.txt"):
        client_for(fake).predict("good")
    with client_for(fake, vocab_file=tiny_vocab_file) as client:
        assert client.predict("good").label == "spam"


def test_cli_without_vocab_and_with_a_mismatched_one(tiny_vocab_file, tmp_path, monkeypatch, capsys):
    fake = FakeServing(tiny_vocab_file, with_vocab=True)
    monkeypatch.setattr(client_module, "_default_transport", lambda *args: MockTransport(fake.handler))
    assert cli.main(["--server", "http://serving", "--model", "sms", "--format", "json", "good movie"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["label"] == "spam" and err == ""
    other = tmp_path / "vocab.txt"
    other.write_bytes(b"[PAD]\n[UNK]\n[CLS]\n[SEP]\ngood\n")
    assert cli.main(["--server", "http://serving", "--model", "sms", "--vocab", str(other), "good movie"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and len(err.splitlines()) == 1
    assert err.startswith("bert-classify: error: ") and "vocab sha256" in err and str(other) in err
