"""The training progress hook's speed figures: what the summaries and benchmarks report."""

import pytest

from bert_runner import hooks

pytestmark = pytest.mark.needs_tf


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def drive(monkeypatch, step_seconds, batch_size=4, first_step=0):
    """Runs the hook over steps that take `step_seconds[i]` each; returns the hook."""
    import tensorflow.compat.v1 as tf

    clock = Clock()
    monkeypatch.setattr(hooks.time, "time", clock)
    hook = hooks.ProgressHook(batch_size=batch_size, total_steps=first_step + len(step_seconds), every_steps=100)
    hook._first_step = first_step
    for index, seconds in enumerate(step_seconds):
        clock.now += seconds
        values = tf.train.SessionRunValues({"step": first_step + index + 1}, None, None)
        hook.after_run(None, values)
    return hook


def test_steady_rate_leaves_the_warm_up_steps_out(monkeypatch):
    # Step 1 builds the graph, steps 2-6 warm up, then 1 s a step.
    warm_up = [60.0, 5.0, 4.0, 3.0, 2.0, 2.0]
    hook = drive(monkeypatch, warm_up + [1.0] * 10)
    assert hooks.STEADY_FROM_STEP == len(warm_up)
    assert hook.steady_examples_per_sec() == pytest.approx(4.0)
    # The overall figure starts after step 1 and so still counts steps 2-6.
    assert hook.overall_examples_per_sec() == pytest.approx(15 * 4 / 26.0)


def test_steady_rate_counts_from_the_step_training_resumed_at(monkeypatch):
    hook = drive(monkeypatch, [30.0, 3.0, 3.0, 3.0, 3.0, 3.0] + [0.5] * 4, first_step=200)
    assert hook.steady_examples_per_sec() == pytest.approx(8.0)


def test_no_steady_rate_when_training_ends_during_warm_up(monkeypatch):
    hook = drive(monkeypatch, [30.0, 2.0, 2.0])
    assert hook.steady_examples_per_sec() is None
    assert hook.overall_examples_per_sec() == pytest.approx(2 * 4 / 4.0)
