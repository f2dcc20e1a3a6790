"""Killing training or an export part way loses no work and publishes nothing half-written."""

import glob
import os
import random
import signal
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.needs_tf

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def classifier_command(files, output_dir, *actions, **flags):
    settings = dict(
        task_name="generic",
        data_dir=files["data_dir"],
        vocab_file=files["vocab_file"],
        bert_config_file=files["bert_config_file"],
        output_dir=output_dir,
        max_seq_length=24,
        train_batch_size=8,
        learning_rate=1e-3,
        num_train_epochs=10,
        save_checkpoints_steps=40,
        seed=3,
    )
    settings.update(flags)
    return [sys.executable, os.path.join(REPO, "run_classifier.py")] + ["--%s=%s" % kv for kv in settings.items()] + ["--" + a for a in actions]


def checkpoint_steps(output_dir):
    return sorted(int(p.rsplit("-", 1)[1].split(".")[0]) for p in glob.glob(os.path.join(output_dir, "model.ckpt-*.index")))


def committed_step(output_dir):
    """The step of the checkpoint the `checkpoint` state file names: the one a rerun restores.

    A save writes the step's files first and names them in the state file after, so a kill
    between the two leaves files of a step that is not committed yet.
    """
    import re

    try:
        with open(os.path.join(output_dir, "checkpoint")) as f:
            return int(re.search(r'^model_checkpoint_path: ".*-(\d+)"$', f.read(), re.M).group(1))
    except (FileNotFoundError, AttributeError):  # none yet, or a state file being rewritten
        return 0


def kill_points(name):
    """A seeded random source for kill points; the seed is printed (shown when the test fails) and
    INTERRUPTION_SEED=<seed> replays it."""
    seed = int(os.environ.get("INTERRUPTION_SEED") or random.SystemRandom().randrange(2 ** 32))
    print("%s: kill points from INTERRUPTION_SEED=%d" % (name, seed))
    return random.Random(seed)


def test_sigkill_during_training_then_rerun_finishes_at_the_same_step(trained_tiny_model, tmp_path):
    output_dir = str(tmp_path / "run")
    command = classifier_command(trained_tiny_model, output_dir, "do_train", "do_eval")
    kill_after = kill_points("training").choice([40, 80, 120, 160, 200])
    print("kill once the checkpoint of step %d is committed" % kill_after)
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 300
        while committed_step(output_dir) < kill_after:
            assert process.poll() is None, "training ended before step %d" % kill_after
            assert time.time() < deadline
            time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    reached = committed_step(output_dir)
    assert 0 < reached < 320, "killed at step %d" % reached

    rerun = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    assert rerun.returncode == 0, rerun.stdout[-3000:]
    assert max(checkpoint_steps(output_dir)) == 320
    assert not [n for n in os.listdir(output_dir) if "_temp_" in n or ".tempstate" in n], os.listdir(output_dir)
    import json

    with open(os.path.join(output_dir, "train_summary-local.json")) as f:
        resumed = json.load(f)
    assert 0 < resumed["local_steps"] <= 320 - reached  # continued, did not start over
    with open(os.path.join(output_dir, "eval_results.json")) as f:
        accuracy = json.load(f)["accuracy"]
    assert accuracy >= 0.75 and abs(accuracy - trained_tiny_model["summary"]["eval"]["accuracy"]) <= 0.2


def test_killed_exports_never_leave_a_numeric_version(trained_tiny_model, tmp_path):
    """A polling server only ever sees complete versions, however late the kill comes."""
    export_dir = str(tmp_path / "exports")
    command = classifier_command(
        trained_tiny_model, trained_tiny_model["options"].output_dir, "do_export", export_dir=export_dir
    )
    rng = kill_points("export")
    interrupted = 0  # kills that landed while the export was being written
    for attempt in range(3):
        before = set(os.listdir(export_dir)) if os.path.isdir(export_dir) else set()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.time() + 300
        while not [n for n in new_entries(export_dir, before) if n.startswith("temp-")]:  # writing started
            if process.poll() is not None:
                break
            assert time.time() < deadline, "no export started within 300 s"
            time.sleep(0.01)
        delay = 0.0 if attempt == 0 else rng.uniform(0.0, 1.0)  # the first kill right as writing starts
        print("attempt %d: SIGKILL %.2f s after the export's temp dir appeared" % (attempt, delay))
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        added = new_entries(export_dir, before)
        if any(name.startswith("temp-") for name in added) and not any(name.isdigit() for name in added):
            interrupted += 1
        for name in os.listdir(export_dir) if os.path.isdir(export_dir) else []:
            if name.isdigit():  # finished before the kill: must be whole
                version = os.path.join(export_dir, name)
                assert os.path.isfile(os.path.join(version, "saved_model.pb"))
                assert os.path.isfile(os.path.join(version, "variables", "variables.index"))
                assert os.path.isfile(os.path.join(version, "assets.extra", "tf_serving_warmup_requests"))
            else:
                assert name.startswith("temp-"), name
    print("%d of 3 kills interrupted an export being written" % interrupted)
    assert interrupted >= 1, "no kill landed while an export was being written: the test proved nothing"
    # What the killed writers left goes at the next export's start, not an hour later.
    from export.saved_model import remove_stale_temp_dirs

    remove_stale_temp_dirs(export_dir)
    assert all(name.isdigit() for name in os.listdir(export_dir)), os.listdir(export_dir)


def new_entries(directory, before):
    return set(os.listdir(directory)) - before if os.path.isdir(directory) else set()


def test_stale_temp_dirs_of_interrupted_exports_are_removed(tmp_path):
    from export.saved_model import remove_stale_temp_dirs

    stale, fresh = tmp_path / "temp-b'1700000000'", tmp_path / "temp-b'1700000001'"
    stale.mkdir()
    fresh.mkdir()
    (tmp_path / "1700000002").mkdir()
    old = time.time() - 7200
    os.utime(str(stale), (old, old))
    remove_stale_temp_dirs(str(tmp_path))
    assert sorted(os.listdir(str(tmp_path))) == ["1700000002", "temp-b'1700000001'"]


def test_temp_dirs_of_dead_writers_are_removed_at_once(tmp_path):
    """A writer.json naming a process of this host that has exited marks an abandoned export."""
    import json
    import socket

    from export.saved_model import WRITER_FILE, remove_stale_temp_dirs

    exited = subprocess.Popen([sys.executable, "-c", "pass"])
    exited.wait()
    writers = {
        "temp-export-dead": {"host": socket.gethostname(), "pid": exited.pid},
        "temp-export-alive": {"host": socket.gethostname(), "pid": os.getpid()},
        "temp-export-elsewhere": {"host": "another-host", "pid": exited.pid},
    }
    for name, writer in writers.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / WRITER_FILE).write_text(json.dumps(writer))
    (tmp_path / "temp-export-starting").mkdir()  # its writer.json is not written yet
    # Killed before it wrote writer.json: its name says who wrote it.
    (tmp_path / ("temp-export-%s-%d-ab_c12" % (socket.gethostname(), exited.pid))).mkdir()
    (tmp_path / ("temp-export-%s-%d-x9y8z7" % (socket.gethostname(), os.getpid()))).mkdir()
    remove_stale_temp_dirs(str(tmp_path))
    assert sorted(os.listdir(str(tmp_path))) == sorted([
        "temp-export-%s-%d-x9y8z7" % (socket.gethostname(), os.getpid()),
        "temp-export-alive", "temp-export-elsewhere", "temp-export-starting"])
