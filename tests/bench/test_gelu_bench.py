"""bench/gelu.py runs every form on a small tensor and reports their accuracy truthfully (no timing claims)."""

import json

import pytest

import bench_modules  # tests/helpers

pytestmark = pytest.mark.needs_tf


def test_every_form_runs_and_the_accuracies_tell_the_forms_apart(tmp_path, monkeypatch, capsys):
    gelu = bench_modules.load("gelu")
    monkeypatch.setattr(gelu, "RESULTS", str(tmp_path / "gelu.json"))
    assert gelu.main(["--rows", "8", "--cols", "16", "--rounds", "1", "--runs", "1"]) == 0
    with open(str(tmp_path / "gelu.json")) as f:
        forms = {row["form"]: row for row in json.load(f)["forms"]}
    assert list(forms)[0] == "tf.math.erf (before)" and len(forms) == 5
    assert forms["bert_runner.gelu (exp tail)"]["max_abs_error_sweep"] <= 5e-7
    assert forms["tanh form (Google's gelu)"]["max_abs_error_sweep"] > 1e-4  # a different function
    assert forms["Eigen/XLA rational erf"]["max_abs_error_sweep"] > 1e-6
    assert "| bert_runner.gelu (exp tail) |" in capsys.readouterr().out
