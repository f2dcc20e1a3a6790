"""Writes name -> array as a TF 1.x checkpoint that `tf.train.init_from_checkpoint` reads.

TensorFlow is imported here only, so the rest of the package works without it.
"""

import os
from typing import Dict, Mapping, Optional, Tuple

import numpy as np

CHECKPOINT_NAME = "bert_model.ckpt"
# The estimator's checkpoint name: with a global step and the `checkpoint` state file, a run
# directory whose latest checkpoint is this one (what --do_export alone exports).
RUN_CHECKPOINT_NAME = "model.ckpt"


def write_checkpoint(
    variables: Mapping[str, np.ndarray], output_dir: str, name: str = CHECKPOINT_NAME,
    global_step: Optional[int] = None,
) -> str:
    """Saves the arrays under exactly their names; returns the checkpoint prefix.

    Values are fed through placeholders rather than baked into the graph as constants,
    so checkpoints beyond the 2 GB GraphDef limit (BERT-large and up) still save. With
    `global_step`, the checkpoint is `<name>-<step>`, holds `global_step` and is recorded
    in the directory's `checkpoint` file, as the estimator writes them.
    """
    import tensorflow.compat.v1 as tf

    prefix = os.path.join(output_dir, name)
    if global_step is not None:
        variables = dict(variables, global_step=np.asarray(global_step, np.int64))
    with tf.Graph().as_default():
        feeds = {}
        by_name = {}
        for variable_name, value in variables.items():
            placeholder = tf.placeholder(tf.as_dtype(value.dtype), shape=value.shape)
            by_name[variable_name] = tf.Variable(placeholder, name=variable_name.replace("/", "_"))
            feeds[placeholder] = value
        saver = tf.train.Saver(var_list=by_name, sharded=False)
        with tf.Session() as session:
            session.run(tf.global_variables_initializer(), feed_dict=feeds)
            return saver.save(session, prefix, global_step=global_step, write_meta_graph=False,
                              write_state=global_step is not None)


def list_checkpoint(prefix: str) -> Dict[str, Tuple[int, ...]]:
    """name -> shape of every variable stored under a checkpoint prefix."""
    import tensorflow.compat.v1 as tf

    return {name: tuple(shape) for name, shape in tf.train.list_variables(prefix)}
