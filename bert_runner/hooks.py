"""Training progress in the logs: step, loss, examples/sec and time left."""

import logging
import time

import tensorflow.compat.v1 as tf

log = logging.getLogger("bert_runner")

# model_fn puts its training loss here for the hook to log.
LOSS_COLLECTION = "bert_runner_training_loss"

# The steady rate is measured from the end of this step: the first steps pay one-off
# costs (graph optimisation, the first allocations of every micro-batch width).
STEADY_FROM_STEP = 6


class ProgressHook(tf.train.SessionRunHook):
    """Logs throughput every `every_steps` steps (and at the end of training)."""

    def __init__(self, batch_size: int, total_steps: int, every_steps: int = 50):
        self.batch_size = batch_size
        self.total_steps = total_steps
        self.every_steps = max(1, every_steps)
        # Set here too: the estimator skips begin() when training is already complete.
        self._reset()

    def begin(self):
        self._global_step = tf.train.get_or_create_global_step()
        self._loss = tf.get_collection(LOSS_COLLECTION)
        self._reset()

    def _reset(self):
        self._start_time = None
        self._start_step = None
        self._last_time = None
        self._last_step = None
        self._steady_start = None  # (time, step) at the end of STEADY_FROM_STEP
        self._end = None  # (time, step) at the end of the latest step
        self.local_steps = 0
        self._first_step = 0  # set from the session in after_create_session

    def before_run(self, run_context):
        fetches = {"step": self._global_step}
        if self._loss:
            fetches["loss"] = self._loss[0]
        return tf.train.SessionRunArgs(fetches)

    def after_create_session(self, session, coord):
        # One read before training: a step fetched in the same run as the
        # optimizer's increment may come back before or after it.
        self._first_step = int(session.run(self._global_step))

    def after_run(self, run_context, run_values):
        self.local_steps += 1
        # Other workers' steps show up in the fetched value as jumps.
        step = min(max(int(run_values.results["step"]), self._first_step + self.local_steps), self.total_steps)
        if self._last_step is not None and step <= self._last_step:
            return  # a run after the last step (the estimator's final check) adds nothing
        now = time.time()
        self._end = (now, step)
        if self._steady_start is None and step >= self._first_step + STEADY_FROM_STEP:
            self._steady_start = (now, step)
        if self._last_step is None:
            # The first step includes graph warm-up; measure from here on.
            self._start_time = self._last_time = now
            self._start_step = self._last_step = step
            return
        if step - self._last_step >= self.every_steps or step >= self.total_steps:
            recent = (step - self._last_step) * self.batch_size / max(now - self._last_time, 1e-9)
            overall = (step - self._start_step) * self.batch_size / max(now - self._start_time, 1e-9)
            remaining = (self.total_steps - step) * self.batch_size / max(overall, 1e-9)
            loss = run_values.results.get("loss")
            log.info(
                "step %d/%d (%.0f%%)%s  %.1f examples/sec (%.1f overall)  ~%s left",
                step,
                self.total_steps,
                100.0 * step / max(self.total_steps, 1),
                "  loss %.4f" % loss if loss is not None else "",
                recent,
                overall,
                _duration(remaining),
            )
            self._last_time, self._last_step = now, step

    def overall_examples_per_sec(self):
        if self._start_time is None or self._last_time == self._start_time:
            return None
        return (self._last_step - self._start_step) * self.batch_size / (self._last_time - self._start_time)

    def steady_examples_per_sec(self):
        """Examples/sec after the warm-up steps (None when training ended before it)."""
        if self._steady_start is None or self._end[1] <= self._steady_start[1]:
            return None
        (start_time, start_step), (end_time, end_step) = self._steady_start, self._end
        return (end_step - start_step) * self.batch_size / max(end_time - start_time, 1e-9)


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return "%dh%02dm" % (seconds // 3600, seconds % 3600 // 60)
    if seconds >= 60:
        return "%dm%02ds" % (seconds // 60, seconds % 60)
    return "%ds" % seconds
