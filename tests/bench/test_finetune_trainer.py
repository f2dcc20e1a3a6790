"""bench/finetune.py's opt-in PyTorch Trainer variant, without torch: its venv builder's plan, the command
it runs, the figures it reads back, and the verdict against ours (the real run is in bench/README.md)."""

import json
import os
import stat
import sys

import pytest

import bench_modules  # tests/helpers

finetune = bench_modules.load("finetune")
hf_trainer = bench_modules.load("hf_trainer")
torch_venv = bench_modules.load("torch_venv")


# ---------------------------------------------------------------- the venv builder


def _requirements(tmp_path, text="torch==2.14.1\n"):
    path = tmp_path / "requirements-torch.txt"
    path.write_text(text)
    return str(path)


def _make_python(venv):
    os.makedirs(os.path.join(venv, "bin"))
    open(os.path.join(venv, "bin", "python"), "w").close()


def test_a_missing_venv_is_created_then_filled_from_the_requirements(tmp_path):
    venv, requirements = str(tmp_path / "venv"), _requirements(tmp_path)
    commands = torch_venv.plan(venv, requirements, base_python="/opt/python3.11")
    assert commands == [["/opt/python3.11", "-m", "venv", venv],
                        [venv + "/bin/python", "-m", "pip", "install", "--disable-pip-version-check", "-r",
                         requirements]]


def test_a_finished_build_is_reused_and_changed_pins_install_again(tmp_path):
    venv, requirements = str(tmp_path / "venv"), _requirements(tmp_path)
    _make_python(venv)
    # Interrupted build (no stamp): install again into the venv that is there.
    assert [c[1:4] for c in torch_venv.plan(venv, requirements, "/opt/python3.11")] == [["-m", "pip", "install"]]
    with open(os.path.join(venv, torch_venv.STAMP), "w") as f:
        f.write(torch_venv.requirements_digest(requirements) + "\n")
    assert torch_venv.plan(venv, requirements, "/no/such/python") == []  # current: no base Python needed
    assert torch_venv.ensure(venv, requirements, "/no/such/python") == venv + "/bin/python"
    _requirements(tmp_path, "torch==2.14.1\ntransformers==4.46.3\n")
    assert len(torch_venv.plan(venv, requirements, "/opt/python3.11")) == 1


def test_a_dry_run_prints_the_commands_and_changes_nothing(tmp_path, capsys):
    venv, requirements = str(tmp_path / "venv"), _requirements(tmp_path)
    python = torch_venv.ensure(venv, requirements, "/opt/python3.11", dry_run=True, log=sys.stdout)
    assert python == venv + "/bin/python" and not os.path.exists(venv)
    out = capsys.readouterr().out.splitlines()
    assert out == ["would run: /opt/python3.11 -m venv %s" % venv,
                   "would run: %s/bin/python -m pip install --disable-pip-version-check -r %s" % (venv, requirements)]


def test_a_failed_build_is_one_error_and_leaves_no_stamp(tmp_path):
    venv, requirements = str(tmp_path / "venv"), _requirements(tmp_path)
    with pytest.raises(torch_venv.VenvError, match="building .*venv failed: /bin/false -m venv"):
        torch_venv.ensure(venv, requirements, "/bin/false")
    assert not os.path.exists(os.path.join(venv, torch_venv.STAMP))


def _fake_python(tmp_path, name, major, minor):
    """An executable that answers the version probe as a Python major.minor at /opt/.../python{major}.{minor}."""
    path = tmp_path / name
    path.write_text("#!/bin/sh\necho %d %d /opt/py%d%d/bin/python%d.%d\n" % (major, minor, major, minor, major, minor))
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(path)


def test_the_base_python_is_the_first_recent_enough_interpreter_resolved_to_its_executable(tmp_path):
    old, new = _fake_python(tmp_path, "py39", 3, 9), _fake_python(tmp_path, "py311", 3, 11)
    assert torch_venv.find_base_python([str(tmp_path / "absent"), old, new]) == "/opt/py311/bin/python3.11"
    with pytest.raises(torch_venv.VenvError, match=r"no Python >= 3\.10 .*absent \(not found\), .*py39 \(3\.9\)"):
        torch_venv.find_base_python([str(tmp_path / "absent"), old])


# ---------------------------------------------------------------- the command and what the run leaves


def test_the_trainer_is_opt_in():
    assert finetune.TRAINER not in finetune.DEFAULT_VARIANTS
    args, _ = finetune.parse_args(["--variants", "trainer,length"])
    assert args.variants == ["length", "trainer"]
    assert args.torch_venv == torch_venv.DEFAULT_VENV and args.trainer_threads == (os.cpu_count() or 1)


def test_the_trainer_gets_the_settings_of_the_other_runners():
    args, _ = finetune.parse_args(["--variants", "length,trainer", "--learning_rate", "1e-4", "--trainer_threads", "2",
                                   "--data_dir", "/data/sms"])
    args.seed = 2
    command = finetune.trainer_command(args, "/venv/bin/python", "/cache/hf", "/work/train-subset.tsv", "/out", 25)
    assert command[:2] == ["/venv/bin/python", os.path.join(finetune.HERE, "hf_trainer.py")]
    parsed = hf_trainer.parse_args(command[2:])  # the script's own parser reads every flag the bench writes
    assert (parsed.hf_dir, parsed.data_dir, parsed.train_file, parsed.output_dir) == (
        "/cache/hf", "/data/sms", "/work/train-subset.tsv", "/out")
    assert parsed.labels == "ham,spam" and parsed.max_steps == 25 and parsed.seed == 2 and parsed.threads == 2
    assert (parsed.learning_rate, parsed.train_batch_size, parsed.eval_batch_size, parsed.max_seq_length,
            parsed.warmup_proportion) == (1e-4, 32, 32, 128, 0.1)
    full = finetune.trainer_command(args, "/venv/bin/python", "/cache/hf", None, "/out", 139)
    assert not any(flag.startswith("--train_file") for flag in full)  # --full: DATA_DIR/train.tsv


def test_the_hf_files_are_found_beside_the_converted_checkpoint(tmp_path):
    cache = tmp_path / "all-MiniLM-L6-v2"
    flags = ["--vocab_file=%s/vocab.txt" % cache, "--init_checkpoint=%s/bert_model.ckpt" % cache]
    with pytest.raises(finetune.BenchError, match="Hugging Face files .* in %s/hf" % cache):
        finetune.hf_dir_of(flags)
    (cache / "hf").mkdir(parents=True)
    (cache / "hf" / "config.json").write_text("{}")
    assert finetune.hf_dir_of(flags) == str(cache / "hf")


def test_read_tsv_names_the_file_and_line_of_a_bad_row(tmp_path):
    path = tmp_path / "dev.tsv"
    path.write_text("label\ttext\nham\tok then\nspam\tWIN now\n")
    assert hf_trainer.read_tsv(str(path), ["ham", "spam"]) == (["ok then", "WIN now"], [0, 1])
    path.write_text("label\ttext\nham\tok\nmaybe\tx\n")
    with pytest.raises(ValueError, match=r"dev\.tsv line 3: expected a label of ham,spam"):
        hf_trainer.read_tsv(str(path), ["ham", "spam"])


def _trainer_run(seconds_per_step, steps, done_at, wall):
    lines = [finetune.LogLine(1.0, "training: 800 examples, batch size 32, 25 steps", 1.0)]
    for step in range(1, steps + 1):
        at = 10.0 + step * seconds_per_step
        lines.append(finetune.LogLine(at, hf_trainer.progress_line(step, steps, 32 / seconds_per_step, 0.0), 2 * at))
    lines.append(finetune.LogLine(done_at, hf_trainer.TRAIN_DONE, 2 * done_at))
    return finetune.ProcessRun(["python", "hf_trainer.py"], lines, 0.0, wall, 2 * wall, 0.1, (1.0, 1.0), 0)


def test_the_trainers_figures_read_as_ours(tmp_path):
    labels = ["ham", "spam"]
    # dev: 3 of 4 right; test: 1 error in 4 (a spam called ham).
    hf_trainer.write_outputs(str(tmp_path), labels, [[2.0, -1.0], [-1.0, 3.0], [0.5, 0.0], [1.0, 0.0]], [0, 1, 1, 0],
                             [[3.0, 0.0], [0.0, 3.0], [2.0, 1.0], [-1.0, 1.0]])
    run = _trainer_run(seconds_per_step=1.25, steps=25, done_at=45.0, wall=60.0)
    figures = finetune.trainer_figures(run, str(tmp_path), ["ham", "spam", "spam", "spam"], 25, 32)
    assert figures["steady_examples_per_sec"] == pytest.approx(32 / 1.25)  # steps 6..25, as ours
    assert figures["steady_span"]["steps"] == 25 - finetune.STEADY_FROM_STEP
    assert figures["train_phase_seconds"] == 45.0 and figures["total_seconds"] == 60.0
    assert figures["train_phase_cpu_seconds"] == 90.0
    assert figures["test_errors"] == 1 and figures["dev_accuracy"] == pytest.approx(0.75)
    with open(str(tmp_path / "eval_results.txt")) as f:
        assert finetune.parse_eval_results(f.read())["eval_loss"] > 0


def test_the_trainers_progress_lines_have_our_runners_format():
    line = hf_trainer.progress_line(7, 25, 30.25, 28.0)
    assert line == "step 7/25 (28%)  30.2 examples/sec (28.0 overall)"
    assert finetune.OURS_PROGRESS.search(line).groups() == ("7", "25", "30.2", "28.0")


# ---------------------------------------------------------------- over seeds


def _figures(errors, total, speed):
    return {"test_errors": errors, "total_seconds": total, "train_phase_seconds": total - 10.0,
            "steady_examples_per_sec": speed, "steady_examples_per_cpu_second": speed / 2.0, "test_spam_recall": 0.9}


def test_ours_against_the_trainer_over_seeds():
    runs = {1: {"length": _figures(10, 65.0, 47.5), finetune.TRAINER: _figures(74, 44.5, 26.1)},
            2: {"length": _figures(7, 70.0, 47.1), finetune.TRAINER: _figures(74, 44.5, 24.1)}}
    summary = finetune.seed_summary(runs)
    ratio = summary["length"]["total_seconds_vs_trainer"]
    assert ratio.mean == pytest.approx((44.5 / 65.0 + 44.5 / 70.0) / 2)
    table = finetune.format_seed_table(summary, [1, 2])
    assert "| trainer | 74 | 74 | 74.0 ± 0.0 | 44.5 ± 0.0 | 25.1 ± 1.4 | - | - |" in table
    verdict = finetune.seed_verdict(summary)
    assert verdict[0].startswith("against the PyTorch Trainer (whole process >= 1.5x faster")
    assert verdict[0].endswith(": NOT met (0.66x ± 0.03; training phase 0.60x ± 0.04)")
    assert verdict[1] == ("against the PyTorch Trainer (test errors no worse, mean over seeds): met "
                          "(ours 8.5 ± 2.1, Trainer 74.0 ± 0.0)")
    for seed in runs:
        runs[seed]["length"]["total_seconds"] = 25.0
    assert ": met (1.78x ± 0.00;" in finetune.seed_verdict(finetune.seed_summary(runs))[0]
    assert finetune.trainer_verdict(finetune.seed_summary({1: {"length": _figures(8, 60.0, 40.0)}})) == []


def test_the_venv_is_built_before_any_run_and_a_failed_build_runs_nothing(sms_dir, tmp_path, monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(finetune, "pretrained_flags", lambda: ["--init_checkpoint=%s/ckpt" % tmp_path])
    (tmp_path / "hf").mkdir()
    (tmp_path / "hf" / "config.json").write_text("{}")

    def fake_seed(args, work_dir, model_flags):
        calls.append(("seed", args.seed, args.torch_python, args.hf_dir))
        return {"seed": args.seed, "mode": "quick", "rows": {"train": 800, "dev": 558, "test": 556},
                "train_steps": 25, "commands": {}, "figures": {v: _figures(8, 60.0, 40.0) for v in args.variants}}

    def fake_ensure(venv):
        calls.append(("venv", venv))
        return venv + "/bin/python"

    monkeypatch.setattr(finetune, "_run_seed", fake_seed)
    monkeypatch.setattr(finetune.torch_venv, "ensure", fake_ensure)
    results = tmp_path / "results"
    argv = ["--data_dir", sms_dir, "--results_dir", str(results), "--seeds", "1", "--variants", "length,trainer",
            "--torch_venv", str(tmp_path / "venv")]
    assert finetune.main(argv) == 0
    venv = str(tmp_path / "venv")
    assert calls == [("venv", venv), ("seed", 1, venv + "/bin/python", str(tmp_path / "hf"))]
    written = json.loads((results / "finetune.json").read_text())
    assert written["settings"]["trainer"]["python"] == venv + "/bin/python"
    assert written["settings"]["trainer"]["requirements"] == "bench/requirements-torch.txt"

    def failing_ensure(venv):
        raise finetune.torch_venv.VenvError("building %s failed: pip install" % venv)

    calls.clear()
    monkeypatch.setattr(finetune.torch_venv, "ensure", failing_ensure)
    assert finetune.main(argv) == 1
    assert calls == [] and "error: building %s failed" % venv in capsys.readouterr().err
