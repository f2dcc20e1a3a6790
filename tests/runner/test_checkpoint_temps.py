"""A resumed fine-tune leaves no `model.ckpt-N_temp_*`: what a killed save left goes when training starts."""

import fcntl
import os

import pytest

import tiny_bert

pytestmark = pytest.mark.needs_tf


def leave_killed_save(output_dir, step):
    """What TF's Saver leaves when killed between writing the shards and merging them: the real
    `model.ckpt-<step>_temp_<uuid>/part-*` (its SaveV2 op run without MergeV2Checkpoints), plus
    the merge's and the state file's not-yet-renamed files."""
    import tensorflow.compat.v1 as tf

    graph = tf.Graph()
    with graph.as_default():
        tf.get_variable("v", [3])
        saver = tf.train.Saver(sharded=True)
        with tf.Session() as session:
            session.run(tf.global_variables_initializer())
            session.run(graph.get_operation_by_name("save/SaveV2"),
                        {saver.saver_def.filename_tensor_name: os.path.join(output_dir, "model.ckpt-%d" % step)})
    for name in ("model.ckpt-%d.index.tempstate8731" % step, "checkpoint.tmp" + "0123456789abcdef" * 2):
        with open(os.path.join(output_dir, name), "w") as f:
            f.write("partial")
    left = sorted(n for n in os.listdir(output_dir) if "_temp_" in n or ".tempstate" in n or ".tmp" in n)
    assert len(left) == 3 and left[2].startswith("model.ckpt-%d_temp_" % step), left
    return left


def test_resumed_training_removes_what_a_killed_save_left(tiny_model_files, tmp_path):
    from bert_runner.run import run

    output_dir = str(tmp_path)
    assert run(tiny_bert.run_options(tiny_model_files, tmp_path, do_train=True, num_train_epochs=0.25))[
        "train"]["local_steps"] == 8
    leave_killed_save(output_dir, 12)
    keep = ["model.ckpt-12_temp_notours", "notes.tempstate", "checkpoint.tmp"]  # not TF's names: kept
    for name in keep:
        os.makedirs(os.path.join(output_dir, name))

    resumed = run(tiny_bert.run_options(tiny_model_files, tmp_path, do_train=True, num_train_epochs=0.5))["train"]
    assert resumed["local_steps"] == 8  # continued from step 8
    names = os.listdir(output_dir)
    assert not [n for n in names if "_temp_" in n and n not in keep], names
    assert not [n for n in names if (".tempstate" in n or n.startswith("checkpoint.tmp")) and n not in keep], names
    assert all(n in names for n in keep)
    assert "model.ckpt-16.index" in names


def test_leftovers_stay_while_another_trainer_holds_the_directory(tmp_path):
    from bert_runner import checkpoint_temps

    left = leave_killed_save(str(tmp_path), 4)
    fd = os.open(str(tmp_path / checkpoint_temps.LOCK_FILE), os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # a live trainer (its flock; a second open file here conflicts)
        with checkpoint_temps.training_lock(str(tmp_path)) as locked:
            assert locked is False
            assert checkpoint_temps.remove_leftovers(str(tmp_path), locked) == []
        assert all(os.path.exists(str(tmp_path / n)) for n in left)
    finally:
        os.close(fd)
    with checkpoint_temps.training_lock(str(tmp_path)) as locked:
        assert locked is True
        assert sorted(checkpoint_temps.remove_leftovers(str(tmp_path), locked)) == left
