"""A golden multi-label SavedModel with the BERT export's signatures, written by TensorFlow 1.15 in seconds.

    .venv/bin/python tests/helpers/multi_label_savedmodel.py OUT_DIR VOCAB_FILE   # writes OUT_DIR/1/

Labels `positive`, `negative`, `food`: label i's logit is 4 x (how many of the
text's tokens are its words) - 2, and `output` the sigmoid of each, so a test
knows every text's label set ("good food": positive 0.88, food 0.88 and
negative 0.12; "food food": food 0.9975). The `food` threshold is 0.9, so a
single "food" is not enough. `serving_default` takes `label_ids` multi-hot
`[-1, 3]` as the contract says, `metadata` answers the `ModelInfo` and `vocab`
the vocab's bytes, as an export of this project does. Prints the version directory.
"""

import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))

import tiny_bert  # noqa: E402

LABELS = ["positive", "negative", "food"]
WORDS = [tiny_bert.POSITIVE, tiny_bert.NEGATIVE, ["food"]]
THRESHOLDS = [0.5, 0.5, 0.9]
SEQ_LENGTH = 16
# Texts and their label sets, best first (positive/negative: 4 x count - 2 >= 0; food: two "food" are needed).
KNOWN_TEXTS = ["good food", "food food", "awful film , i hate it", "the day", "good bad food food"]
KNOWN_LABEL_SETS = [("positive",), ("food",), ("negative",), (), ("food", "positive", "negative")]


def build(out_dir, vocab_file):
    import numpy as np
    import tensorflow.compat.v1 as tf

    import bert_contract as c
    from featurizer import load_vocab

    vocab = load_vocab(vocab_file)
    weights = np.zeros([len(vocab), len(LABELS)], np.float32)
    for label, words in enumerate(WORDS):
        for word in words:
            weights[vocab[word], label] = 4.0
    with open(vocab_file, "rb") as f:
        vocab_bytes = f.read()
    info = c.ModelInfo(labels=LABELS, vocab_sha256=c.bytes_sha256(vocab_bytes), do_lower_case=True,
                       max_seq_length=SEQ_LENGTH, task_name="golden", task_kind=c.MULTI_LABEL_CLASSIFICATION,
                       thresholds=THRESHOLDS)
    path = os.path.join(out_dir, "1")
    graph = tf.Graph()
    with graph.as_default(), tf.Session(graph=graph) as sess:
        label_ids = tf.placeholder(tf.int32, [None, len(LABELS)], name=c.LABEL_IDS)
        features = {name: tf.placeholder(tf.int32, [None, SEQ_LENGTH], name=name) for name in c.FEATURE_INPUTS}
        counts = tf.reduce_sum(tf.one_hot(features[c.INPUT_IDS], len(vocab))
                               * tf.cast(features[c.INPUT_MASK], tf.float32)[:, :, None], axis=1)
        logits = tf.matmul(counts, tf.constant(weights)) - 2.0 + 0.0 * tf.cast(label_ids, tf.float32) \
            + 0.0 * tf.cast(tf.reduce_sum(features[c.SEGMENT_IDS], axis=1, keepdims=True), tf.float32)
        output = tf.sigmoid(logits, name=c.SERVING_OUTPUT)
        batch = tf.shape(label_ids)[0]
        metadata = tf.fill([batch], info.to_json(), name=c.METADATA_OUTPUT)
        vocab_out = tf.fill([batch], tf.constant(vocab_bytes), name=c.VOCAB_OUTPUT)
        tensor = tf.saved_model.utils.build_tensor_info
        inputs = {name: tensor(t) for name, t in features.items()}
        inputs[c.LABEL_IDS] = tensor(label_ids)

        def signature(name, value):
            return tf.saved_model.signature_def_utils.build_signature_def(
                inputs, {name: tensor(value)}, tf.saved_model.signature_constants.PREDICT_METHOD_NAME)

        builder = tf.saved_model.builder.SavedModelBuilder(path)
        builder.add_meta_graph_and_variables(sess, ["serve"], signature_def_map={
            c.DEFAULT_SIGNATURE: signature(c.SERVING_OUTPUT, output),
            c.METADATA_SIGNATURE: signature(c.METADATA_OUTPUT, metadata),
            c.VOCAB_SIGNATURE: signature(c.VOCAB_OUTPUT, vocab_out),
        })
        builder.save()
    return path


if __name__ == "__main__":
    print(json.dumps({"export_base": sys.argv[1], "export_path": build(sys.argv[1], sys.argv[2])}))
