"""Tiny SavedModels with the BERT export's signatures, built in seconds for server tests.

`serving_default` takes label_ids [-1] and input_ids/input_mask/segment_ids
[-1, L] (L = -1 for a dynamic-length export) and returns `output`
[-1, 2] = softmax([0.001 * sum(input_ids * input_mask), bias]): the bias tells
versions apart. `metadata` returns one JSON string per row. Extra signatures
exercise what BERT does not: several outputs, strings/bytes, floats, a
deliberately slow run, a run a test holds open (`gated`), and classify/regress over tf.Examples with a float
feature `x` of length 2 (scores = softmax(x), classes "neg"/"pos",
regression = sum(x)).
"""

import json
import os

import numpy as np

MODEL_INFO = {"labels": ["ham", "spam"], "max_seq_length": 4, "task_name": "toy"}


def build(base_dir, version, seq_len=4, bias=0.0, warmup_records=0, warmup_bytes=None, warmup_logs=()):
    """Write <base_dir>/<version> (atomically, via temp-<version>) and return its path."""
    import tensorflow.compat.v1 as tf

    final = os.path.join(str(base_dir), str(version))
    temp = os.path.join(str(base_dir), "temp-%s" % version)
    if hasattr(tf, "disable_control_flow_v2"):  # TF 2.x: write the TF 1.x while loop TF 1.15 exports have
        tf.disable_control_flow_v2()
    graph = tf.Graph()
    with graph.as_default():
        length = seq_len if seq_len and seq_len > 0 else None
        label_ids = tf.placeholder(tf.int32, [None], name="label_ids")
        input_ids = tf.placeholder(tf.int32, [None, length], name="input_ids")
        input_mask = tf.placeholder(tf.int32, [None, length], name="input_mask")
        segment_ids = tf.placeholder(tf.int32, [None, length], name="segment_ids")
        total = tf.cast(tf.reduce_sum(input_ids * input_mask + 0 * segment_ids, axis=1), tf.float32)
        batch = tf.shape(input_ids)[0]
        logits = tf.stack([0.001 * total + 0.0 * tf.cast(label_ids, tf.float32),
                           tf.fill([batch], float(bias))], axis=1)
        output = tf.nn.softmax(logits, name="output")
        info = dict(MODEL_INFO, max_seq_length=seq_len, dynamic_seq_length=length is None)
        metadata_json = tf.fill([batch], json.dumps(info), name="metadata_json")

        text = tf.placeholder(tf.string, [None], name="text")
        x = tf.placeholder(tf.float32, [None, 2], name="x")
        doubled = tf.identity(x * 2.0, name="doubled")
        lengths = tf.cast(tf.strings.length(text), tf.int64, name="length")

        serialized = tf.placeholder(tf.string, [None], name="tf_example")
        features = tf.parse_example(serialized, {"x": tf.FixedLenFeature([2], tf.float32, [0.0, 0.0])})
        scores = tf.nn.softmax(features["x"], name="scores")
        classes = tf.tile(tf.constant([["neg", "pos"]]), [tf.shape(serialized)[0], 1], name="classes")
        regression = tf.reduce_sum(features["x"], axis=1, name="regression")

        n = tf.placeholder(tf.int32, [None], name="n")
        counted = tf.while_loop(lambda i: i < tf.reduce_max(n), lambda i: i + 1, [tf.constant(0)],
                                parallel_iterations=1, back_prop=False)
        slow_out = tf.fill([tf.shape(n)[0]], counted, name="slow_out")

        # "gated": writes the file `started` when its run begins, then runs until a file `release`
        # exists, so a test knows a run is in flight and decides when it ends.
        started = tf.placeholder(tf.string, [None], name="started")
        release = tf.placeholder(tf.string, [None], name="release")
        with tf.control_dependencies([tf.io.write_file(started[0], "started")]):
            polls = tf.while_loop(lambda i: tf.equal(tf.size(tf.io.matching_files(release[0])), 0),
                                  lambda i: i + 1, [tf.constant(0)], parallel_iterations=1, back_prop=False)
        gated_out = tf.fill([tf.shape(started)[0]], tf.minimum(polls, 1), name="gated_out")

        bert_inputs = {"label_ids": label_ids, "input_ids": input_ids, "input_mask": input_mask,
                       "segment_ids": segment_ids}
        info_of = tf.saved_model.utils.build_tensor_info
        sig = tf.saved_model.signature_def_utils.build_signature_def
        predict = tf.saved_model.signature_constants.PREDICT_METHOD_NAME
        bert = {k: info_of(v) for k, v in bert_inputs.items()}
        signatures = {
            "serving_default": sig(bert, {"output": info_of(output)}, predict),
            "metadata": sig(bert, {"metadata_json": info_of(metadata_json)}, predict),
            "multi": sig({"text": info_of(text), "x": info_of(x)},
                         {"doubled": info_of(doubled), "echo_bytes": info_of(tf.identity(text)),
                          "length": info_of(lengths)}, predict),
            "slow": sig({"n": info_of(n)}, {"count": info_of(slow_out)}, predict),
            "gated": sig({"started": info_of(started), "release": info_of(release)},
                         {"waited": info_of(gated_out)}, predict),
            "classify": tf.saved_model.classification_signature_def(serialized, classes, scores),
            "regress": tf.saved_model.regression_signature_def(serialized, regression),
        }
        with tf.Session(graph=graph) as sess:
            builder = tf.saved_model.builder.SavedModelBuilder(temp)
            builder.add_meta_graph_and_variables(sess, ["serve"], signature_def_map=signatures)
            builder.save()
    if warmup_records or warmup_bytes is not None or warmup_logs:
        write_warmup(temp, warmup_records, seq_len, raw=warmup_bytes, logs=warmup_logs)
    os.rename(temp, final)
    return final


def bert_rows(count, seq_len=4, start=1):
    """`count` BERT-style feature rows with distinct sums."""
    rows = []
    for i in range(count):
        ids = [101] + [start + i] * (seq_len - 2) + [102]
        rows.append({"input_ids": ids, "input_mask": [1] * seq_len, "segment_ids": [0] * seq_len,
                     "label_ids": 0})
    return rows


def expected_output(row, bias=0.0):
    total = sum(i * m for i, m in zip(row["input_ids"], row["input_mask"]))
    logits = np.array([0.001 * total, bias])
    exp = np.exp(logits - logits.max())
    return exp / exp.sum()


def write_warmup(version_dir, count, seq_len, raw=None, logs=()):
    import tensorflow.compat.v1 as tf
    from tensorflow_serving.apis import predict_pb2, prediction_log_pb2

    extra = os.path.join(version_dir, "assets.extra")
    os.makedirs(extra, exist_ok=True)
    path = os.path.join(extra, "tf_serving_warmup_requests")
    if raw is not None:
        with open(path, "wb") as f:
            f.write(raw)
        return path
    length = seq_len if seq_len and seq_len > 0 else 4
    with tf.io.TFRecordWriter(path) as writer:
        for row in bert_rows(count, length):
            request = predict_pb2.PredictRequest()
            request.model_spec.name = "warmup"
            request.model_spec.signature_name = "serving_default"
            for key, value in row.items():
                request.inputs[key].CopyFrom(tf.make_tensor_proto(np.array([value], dtype=np.int32)))
            log = prediction_log_pb2.PredictionLog(predict_log=prediction_log_pb2.PredictLog(request=request))
            writer.write(log.SerializeToString())
        for log in logs:
            writer.write(log.SerializeToString())
    return path


# Token ids of the embedding model run 0..EMBED_VOCAB-1; others fail its lookup, as BERT's do.
EMBED_VOCAB = 30


def build_embedding_model(base_dir, version=1):
    """<base_dir>/<version>: serving_default(input_ids int32 [-1, 4]) -> sum of a [EMBED_VOCAB, 3] embedding lookup."""
    import tensorflow.compat.v1 as tf

    temp, final = os.path.join(base_dir, "temp-%d" % version), os.path.join(base_dir, str(version))
    graph = tf.Graph()
    with graph.as_default(), tf.Session(graph=graph) as sess:
        input_ids = tf.placeholder(tf.int32, [None, 4], name="input_ids")
        table = tf.Variable(tf.ones([EMBED_VOCAB, 3]), name="word_embeddings")
        output = tf.reduce_sum(tf.nn.embedding_lookup(table, input_ids), axis=[1, 2], name="output")
        sess.run(tf.global_variables_initializer())
        signature = tf.saved_model.signature_def_utils.predict_signature_def(
            {"input_ids": input_ids}, {"output": output})
        builder = tf.saved_model.builder.SavedModelBuilder(temp)
        builder.add_meta_graph_and_variables(sess, ["serve"], signature_def_map={"serving_default": signature})
        builder.save()
    os.rename(temp, final)
