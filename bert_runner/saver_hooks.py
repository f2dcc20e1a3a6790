"""The chief's checkpoint and summary hooks, without TF 1.15's one-off costs on big graphs.

The estimator's own hooks cost little on one encoder, but a training graph with four
micro-batch encoders and their gradients paid ~30 s before its steady pace (a 25-step
fine-tune of all-MiniLM-L6-v2 on 2 CPU cores, cProfile):

* `CheckpointSaverHook` writes `graph.pbtxt` with Python's protobuf text formatter:
  13 s. The graph stays in the events file (TensorBoard's Graphs tab) and in every
  checkpoint's `.meta`; only the text copy is left out.
* `CheckpointSaverHook` saves a checkpoint as soon as the session exists: a copy of the
  step training starts from, which is either the initial (pretrained) weights or the
  checkpoint just restored, so it holds no work. Weights and both Adam slots, and the
  graph once more: ~6 s. Ours saves from the first trained step on.
* `SummarySaverHook` fetches the summaries on the first step and every
  `save_summary_steps`, the other steps without them. Every distinct set of fetches
  makes the session build and optimise its own executor for the whole graph, so step 2
  paid that again: ~17 s. Fetching the (scalar) summaries on every step and writing them
  as often as before keeps one executor.
"""

import tensorflow.compat.v1 as tf
from tensorflow.python.framework import meta_graph


class CheckpointSaver(tf.train.CheckpointSaverHook):
    """`CheckpointSaverHook` without `graph.pbtxt`, and without the checkpoint of the step training starts from."""

    def after_create_session(self, session, coord):
        # TF 1.15's own body, less the text graph and the save.
        global_step = session.run(self._global_step_tensor)
        saver = self._get_saver()
        graph = tf.get_default_graph()
        meta_graph_def = meta_graph.create_meta_graph_def(
            graph_def=graph.as_graph_def(add_shapes=True), saver_def=saver.saver_def if saver else None)
        self._summary_writer.add_graph(graph)
        self._summary_writer.add_meta_graph(meta_graph_def)
        self._timer.update_last_triggered_step(global_step)


class SummarySaver(tf.train.SummarySaverHook):
    """`SummarySaverHook` that fetches the summaries on every step and writes them as often as before."""

    def __init__(self, save_steps: int, output_dir: str):
        # The summary op is only known once the graph is built: see begin().
        super().__init__(save_steps=save_steps, output_dir=output_dir, scaffold=tf.train.Scaffold())

    def begin(self):
        super().begin()
        # The op the estimator's scaffold uses too (it finalizes after the hooks' begin()).
        self._summary_op = tf.train.Scaffold.get_or_default("summary_op", tf.GraphKeys.SUMMARY_OP, tf.summary.merge_all)

    def before_run(self, run_context):
        args = super().before_run(run_context)
        summary_op = self._get_summary_op()
        if summary_op is not None:
            args.fetches["summary"] = summary_op
        return args


def chief_hooks(config: tf.estimator.RunConfig, save_summary_steps: int):
    """The hooks the chief trains with, in place of the estimator's defaults (see `estimator.py`).

    Checkpoints follow the estimator's resolved `config` exactly as its own hook would.
    """
    hooks = []
    if config.save_checkpoints_steps or config.save_checkpoints_secs:
        hooks.append(CheckpointSaver(config.model_dir, save_steps=config.save_checkpoints_steps,
                                     save_secs=config.save_checkpoints_secs))
    if save_summary_steps and save_summary_steps > 0:
        hooks.append(SummarySaver(save_steps=save_summary_steps, output_dir=config.model_dir))
    return hooks
