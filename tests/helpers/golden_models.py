"""Golden SavedModels for the TF Serving conformance tests, written by TensorFlow 1.15.

Our own models with the shapes TF Serving's tests feed (half plus two on a
parsed tf.Example `x` of shape [-1, 1], a stateful counter, a TF Lite
conversion), so the same requests get the same answers from both servers.
Run as a script by the tests' TF 1.15 Python (also under the TF 2.x runtime,
whose servers then serve what TF 1.15 wrote, as production does):

    python golden_models.py OUT_DIR   # writes OUT_DIR/<model>/<version>/...
"""

import os
import sys

# model name -> version directories the tests expect.
HALF_PLUS_TWO = "half_plus_two"
TWO_VERSIONS = "half_plus_two_2_versions"
COUNTER = "counter"
TFLITE = "half_plus_two_tflite"
VERSION = 123


def _half_plus_two(tf, export_dir, as_tflite=False):
    """y = 0.5 * x + 2 (and y2 = 0.5 * x + 3, y3 = 0.5 * x2 + 3) from tf.Examples or fed directly."""
    graph = tf.Graph()
    with graph.as_default(), tf.Session(graph=graph) as sess:
        a, b, c = tf.Variable(0.5, name="a"), tf.Variable(2.0, name="b"), tf.Variable(3.0, name="c")
        serialized = tf.placeholder(tf.string, [None], name="tf_example")
        example = tf.parse_example(serialized, {
            "x": tf.FixedLenFeature([1], tf.float32),
            "x2": tf.FixedLenFeature([1], tf.float32, default_value=[0.0])})
        if as_tflite:  # TF Lite's converter needs static shapes
            x = tf.placeholder_with_default(tf.zeros([1, 1]), [1, 1], name="x")
        else:
            x = tf.identity(example["x"], name="x")
        y = tf.identity(a * x + b, name="y")
        y2 = tf.identity(a * x + c, name="y2")
        x2 = tf.identity(example["x2"], name="x2")
        y3 = tf.identity(tf.Variable(0.5, name="a2") * x2 + tf.Variable(3.0, name="c2"), name="y3")
        sess.run(tf.global_variables_initializer())
        if as_tflite:
            flatbuffer = tf.lite.TFLiteConverter.from_session(sess, [x], [y]).convert()
            os.makedirs(export_dir)
            with open(os.path.join(export_dir, "model.tflite"), "wb") as f:
                f.write(flatbuffer)
            return
        info = tf.saved_model.utils.build_tensor_info
        build = tf.saved_model.signature_def_utils.build_signature_def
        predict, classify, regress = ("tensorflow/serving/predict", "tensorflow/serving/classify",
                                      "tensorflow/serving/regress")
        signatures = {
            "serving_default": build({"x": info(x)}, {"y": info(y)}, predict),
            "regress_x_to_y": build({"inputs": info(serialized)}, {"outputs": info(y)}, regress),
            "regress_x_to_y2": build({"inputs": info(serialized)}, {"outputs": info(y2)}, regress),
            "regress_x2_to_y3": build({"inputs": info(x2)}, {"outputs": info(y3)}, regress),
            "classify_x_to_y": build({"inputs": info(serialized)}, {"scores": info(y)}, classify),
            "classify_x2_to_y3": build({"inputs": info(x2)}, {"scores": info(y3)}, classify),
        }
        builder = tf.saved_model.builder.SavedModelBuilder(export_dir)
        builder.add_meta_graph_and_variables(sess, ["serve"], signature_def_map=signatures)
        builder.save()


def _counter(tf, export_dir):
    """A float counter: get_counter, incr_counter, reset_counter and incr_counter_by(delta)."""
    graph = tf.Graph()
    with graph.as_default(), tf.Session(graph=graph) as sess:
        counter = tf.Variable(0.0, name="counter")
        delta = tf.placeholder(tf.float32, [], name="delta")
        info = tf.saved_model.utils.build_tensor_info
        build = tf.saved_model.signature_def_utils.build_signature_def
        predict = "tensorflow/serving/predict"
        signatures = {
            "get_counter": build({}, {"output": info(counter.read_value())}, predict),
            "incr_counter": build({}, {"output": info(tf.assign_add(counter, 1.0))}, predict),
            "reset_counter": build({}, {"output": info(tf.assign(counter, 0.0))}, predict),
            "incr_counter_by": build({"delta": info(delta)}, {"output": info(tf.assign_add(counter, delta))},
                                     predict),
        }
        sess.run(tf.global_variables_initializer())
        builder = tf.saved_model.builder.SavedModelBuilder(export_dir)
        builder.add_meta_graph_and_variables(sess, ["serve"], signature_def_map=signatures)
        builder.save()


def build_all(out_dir):
    import tensorflow.compat.v1 as tf

    _half_plus_two(tf, os.path.join(out_dir, HALF_PLUS_TWO, str(VERSION)))
    for version in (VERSION, VERSION + 1):
        _half_plus_two(tf, os.path.join(out_dir, TWO_VERSIONS, str(version)))
    _counter(tf, os.path.join(out_dir, COUNTER, str(VERSION)))
    _half_plus_two(tf, os.path.join(out_dir, TFLITE, str(VERSION)), as_tflite=True)


if __name__ == "__main__":
    build_all(sys.argv[1])
