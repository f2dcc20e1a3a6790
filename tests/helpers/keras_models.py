"""Run under a TF 2.x Python: tfs_server_test's Keras SavedModels, written by `tf.saved_model.save`.

    python keras_models.py OUT_DIR   # OUT_DIR/<model>/00000123/

`keras_sequential` and `keras_distrat_sequential` (under a two-CPU MirroredStrategy)
are written with Keras 2 (`tf_keras`, what `tf.keras` was when TF Serving wrote its
test): their `serving_default` takes `x` and answers `y`. `keras3_sequential` is the
same model written with Keras 3 (`tf.keras` in TF 2.16+), whose `serving_default`
its writer names `inputs` -> `output_0`: a server serves what the SignatureDef says.
A separate process, because the virtual CPUs must be set before TensorFlow starts.
"""

import os
import sys

import tensorflow as tf

EXPORT = "00000123"


def sequential(keras, dense=False):
    model = keras.models.Sequential()
    model.add(keras.layers.Input(dtype="float32", shape=(1,), name="x"))
    if dense:
        model.add(keras.layers.Dense(1, kernel_initializer="ones", bias_initializer="zeros"))
    model.add(keras.layers.Lambda(lambda x: x, name="y"))
    return model


def main(out_dir):
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import tf_keras

    tf.saved_model.save(sequential(tf_keras), os.path.join(out_dir, "keras_sequential", EXPORT))
    with tf.distribute.MirroredStrategy(devices=("/cpu:0", "/cpu:1")).scope():
        model = sequential(tf_keras, dense=True)
    tf.saved_model.save(model, os.path.join(out_dir, "keras_distrat_sequential", EXPORT))
    tf.saved_model.save(sequential(tf.keras), os.path.join(out_dir, "keras3_sequential", EXPORT))


if __name__ == "__main__":
    main(sys.argv[1])
