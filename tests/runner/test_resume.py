"""Running the same command again continues from what is on disk instead of starting over."""

import os

import pytest

import tiny_bert

pytestmark = pytest.mark.needs_tf


def test_rerunning_a_finished_training_reuses_checkpoint_and_features(tiny_model_files, tmp_path):
    from bert_runner.run import run

    options = tiny_bert.run_options(tiny_model_files, tmp_path, do_train=True, num_train_epochs=0.25)
    first = run(options)["train"]
    assert first["local_steps"] == 8
    features = sorted(os.listdir(str(tmp_path / "features")))
    mtimes = [os.path.getmtime(str(tmp_path / "features" / name)) for name in features]

    again = run(options)["train"]
    assert again["local_steps"] == 0  # the checkpoint is already at the last step
    assert sorted(os.listdir(str(tmp_path / "features"))) == features
    assert [os.path.getmtime(str(tmp_path / "features" / name)) for name in features] == mtimes
