"""The chief's checkpoint and summary hooks write what the estimator's own did, at lower cost."""

import glob
import os

import pytest

pytestmark = pytest.mark.needs_tf


def _train(model_dir, steps, make_hooks):
    """Trains a one-variable graph for `steps` steps; returns the fetch keys each step requested."""
    import tensorflow.compat.v1 as tf

    fetched = []

    class Spy(tf.train.SessionRunHook):
        def __init__(self, hooks):
            self.hooks = hooks

        def before_run(self, run_context):
            fetched.append(sorted(key for hook in self.hooks
                                  for key in ((hook.before_run(run_context) or tf.train.SessionRunArgs({})).fetches
                                              or {})))

    from tensorflow.python.training import training_util

    with tf.Graph().as_default():
        step = tf.train.get_or_create_global_step()
        # As the estimator does: the hooks fetch this read, which the step's increment waits for,
        # so a hook sees the step before the run's increment whatever the op scheduling.
        step_read = training_util._get_or_create_global_step_read()
        weight = tf.get_variable("weight", initializer=1.0)
        loss = tf.square(weight)
        tf.summary.scalar("loss", loss)
        with tf.control_dependencies([step_read]):
            train_op = tf.group(tf.train.GradientDescentOptimizer(0.1).minimize(loss), tf.assign_add(step, 1))
        hooks = make_hooks()
        # As the estimator's: restores the latest checkpoint in model_dir when there is one.
        creator = tf.train.ChiefSessionCreator(checkpoint_dir=model_dir)
        spy = Spy([h for h in hooks if isinstance(h, tf.train.SummarySaverHook)])
        with tf.train.MonitoredSession(session_creator=creator, hooks=hooks + [spy]) as session:
            for _ in range(steps):
                session.run(train_op)
    return fetched


def _summary_steps(model_dir):
    import tensorflow.compat.v1 as tf

    steps, graphs = [], 0
    for path in glob.glob(os.path.join(model_dir, "events.out.tfevents.*")):
        for event in tf.train.summary_iterator(path):
            if event.HasField("summary") and any(v.tag == "loss" for v in event.summary.value):
                steps.append(event.step)
            graphs += event.HasField("graph_def")
    return sorted(steps), graphs


def test_summaries_are_written_at_the_estimators_steps_and_fetched_on_every_step(tmp_path):
    import tensorflow.compat.v1 as tf
    from bert_runner import saver_hooks

    ours_dir, stock_dir = str(tmp_path / "ours"), str(tmp_path / "stock")
    ours = _train(ours_dir, 7, lambda: [saver_hooks.SummarySaver(save_steps=3, output_dir=ours_dir)])
    stock = _train(stock_dir, 7, lambda: [tf.train.SummarySaverHook(
        save_steps=3, output_dir=stock_dir, summary_op=tf.summary.merge_all())])
    # The first step, then every 3 (the step read before each run's increment, as in the estimator).
    written = _summary_steps(ours_dir)[0]
    assert written == _summary_steps(stock_dir)[0] == [1, 4, 7]
    # The stock hook asks for the summaries on some steps only; each other set of fetches
    # is another executor for the session to build. Ours asks the same every step.
    assert ours == [["global_step", "summary"]] * 7
    assert ["global_step"] in stock


def test_no_checkpoint_hook_when_the_estimator_would_not_save(tmp_path):
    import tensorflow.compat.v1 as tf
    from bert_runner import saver_hooks

    config = tf.estimator.RunConfig(model_dir=str(tmp_path), save_checkpoints_steps=0)
    assert saver_hooks.chief_hooks(config, save_summary_steps=0) == []


def test_checkpoints_and_the_graph_are_saved_without_graph_pbtxt(tmp_path):
    import tensorflow.compat.v1 as tf
    from bert_runner import saver_hooks

    model_dir = str(tmp_path)
    config = tf.estimator.RunConfig(model_dir=model_dir, save_checkpoints_steps=2)
    _train(model_dir, 5, lambda: saver_hooks.chief_hooks(config, save_summary_steps=100))
    checkpoints = tf.train.get_checkpoint_state(model_dir).all_model_checkpoint_paths
    # Every 2 steps and the last, as the stock hook; not step 0, which holds no training.
    assert [int(path.rsplit("-", 1)[1]) for path in checkpoints] == [2, 4, 5]
    assert all(os.path.exists(path + ".meta") for path in checkpoints)
    assert not os.path.exists(os.path.join(model_dir, "graph.pbtxt"))
    steps, graphs = _summary_steps(model_dir)
    assert graphs >= 1  # TensorBoard's Graphs tab still has it
    assert steps == [1]  # and summaries are on: the first step, then every 100
    reader = tf.train.load_checkpoint(model_dir)
    assert reader.get_tensor("global_step") == 5


def test_a_resumed_run_saves_its_next_steps_not_the_one_it_restored(tmp_path):
    import tensorflow.compat.v1 as tf
    from bert_runner import saver_hooks

    model_dir = str(tmp_path)
    config = tf.estimator.RunConfig(model_dir=model_dir, save_checkpoints_steps=2)
    _train(model_dir, 3, lambda: saver_hooks.chief_hooks(config, save_summary_steps=100))
    restored = os.path.getmtime(os.path.join(model_dir, "model.ckpt-3.index"))
    _train(model_dir, 2, lambda: saver_hooks.chief_hooks(config, save_summary_steps=100))  # resumes at step 3
    checkpoints = tf.train.get_checkpoint_state(model_dir).all_model_checkpoint_paths
    assert [int(path.rsplit("-", 1)[1]) for path in checkpoints] == [2, 3, 5]
    assert os.path.getmtime(os.path.join(model_dir, "model.ckpt-3.index")) == restored
