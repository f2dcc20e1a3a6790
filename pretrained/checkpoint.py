"""Writes name -> array as a TF 1.x checkpoint that `tf.train.init_from_checkpoint` reads.

TensorFlow is imported here only, so the rest of the package works without it.
"""

import os
from typing import Dict, Mapping, Tuple

import numpy as np

CHECKPOINT_NAME = "bert_model.ckpt"


def write_checkpoint(variables: Mapping[str, np.ndarray], output_dir: str) -> str:
    """Saves the arrays under exactly their names; returns the checkpoint prefix.

    Values are fed through placeholders rather than baked into the graph as constants,
    so checkpoints beyond the 2 GB GraphDef limit (BERT-large and up) still save.
    """
    import tensorflow.compat.v1 as tf

    prefix = os.path.join(output_dir, CHECKPOINT_NAME)
    with tf.Graph().as_default():
        feeds = {}
        by_name = {}
        for name, value in variables.items():
            placeholder = tf.placeholder(tf.as_dtype(value.dtype), shape=value.shape)
            by_name[name] = tf.Variable(placeholder, name=name.replace("/", "_"))
            feeds[placeholder] = value
        saver = tf.train.Saver(var_list=by_name, sharded=False)
        with tf.Session() as session:
            session.run(tf.global_variables_initializer(), feed_dict=feeds)
            saver.save(session, prefix, write_meta_graph=False, write_state=False)
    return prefix


def list_checkpoint(prefix: str) -> Dict[str, Tuple[int, ...]]:
    """name -> shape of every variable stored under a checkpoint prefix."""
    import tensorflow.compat.v1 as tf

    return {name: tuple(shape) for name, shape in tf.train.list_variables(prefix)}
