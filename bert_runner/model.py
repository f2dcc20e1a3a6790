"""The classifier on top of BERT and the estimator `model_fn` that trains, evaluates and serves it.

The network and loss are the reference's (`bert.modeling`); the optimizer is
the reference's update rule written as a regular `tf.train.Optimizer`
(`optimization.py`), so distribution strategies and mixed precision can wrap
it while checkpoints stay interchangeable with Google's code.
What is added: a plain `EstimatorSpec` off TPU, a confusion-matrix metric for
per-class scores, and the export signatures (`serving_default` with output
`output`, and `metadata` carrying the labels and featurizer settings).
"""

import logging

import tensorflow.compat.v1 as tf
from bert import modeling

from bert_runner import optimization
from bert_runner.hooks import LOSS_COLLECTION

log = logging.getLogger("bert_runner")

SERVING_SIGNATURE = "serving_default"
SERVING_OUTPUT = "output"
METADATA_SIGNATURE = "metadata"
METADATA_OUTPUT = "metadata_json"


def create_model(bert_config, is_training, input_ids, input_mask, segment_ids, labels, num_labels, use_one_hot_embeddings):
    """BERT's pooled [CLS] output -> dropout -> linear -> softmax, as in the reference."""
    model = modeling.BertModel(
        config=bert_config,
        is_training=is_training,
        input_ids=input_ids,
        input_mask=input_mask,
        token_type_ids=segment_ids,
        use_one_hot_embeddings=use_one_hot_embeddings,
    )
    output_layer = model.get_pooled_output()
    hidden_size = output_layer.shape[-1].value
    output_weights = tf.get_variable(
        "output_weights", [num_labels, hidden_size], initializer=tf.truncated_normal_initializer(stddev=0.02)
    )
    output_bias = tf.get_variable("output_bias", [num_labels], initializer=tf.zeros_initializer())
    # Named "classifier" (not the reference's "loss", which holds no variables)
    # so the estimator's `loss` summary keeps its name in TensorBoard.
    with tf.variable_scope("classifier"):
        if is_training:
            output_layer = tf.nn.dropout(output_layer, rate=0.1)
        logits = tf.nn.bias_add(tf.matmul(output_layer, output_weights, transpose_b=True), output_bias)
        probabilities = tf.nn.softmax(logits, axis=-1)
        log_probs = tf.nn.log_softmax(logits, axis=-1)
        one_hot_labels = tf.one_hot(labels, depth=num_labels, dtype=tf.float32)
        per_example_loss = -tf.reduce_sum(one_hot_labels * log_probs, axis=-1)
        loss = tf.reduce_mean(per_example_loss)
    return loss, per_example_loss, logits, probabilities


def streaming_confusion_matrix(labels, predictions, num_classes, weights):
    """A tf.metrics-style (value, update_op) pair accumulating a confusion matrix."""
    with tf.variable_scope(None, default_name="confusion_matrix"):
        total = tf.get_variable(
            "total",
            [num_classes, num_classes],
            dtype=tf.float64,
            initializer=tf.zeros_initializer(),
            trainable=False,
            collections=[tf.GraphKeys.LOCAL_VARIABLES, tf.GraphKeys.METRIC_VARIABLES],
        )
        batch = tf.math.confusion_matrix(labels, predictions, num_classes=num_classes, weights=weights, dtype=tf.float64)
        return tf.identity(total), tf.assign_add(total, batch)


def _eval_metrics(per_example_loss, label_ids, logits, is_real_example, num_labels):
    predictions = tf.argmax(logits, axis=-1, output_type=tf.int32)
    return {
        "eval_accuracy": tf.metrics.accuracy(labels=label_ids, predictions=predictions, weights=is_real_example),
        "eval_loss": tf.metrics.mean(values=per_example_loss, weights=is_real_example),
        "confusion_matrix": streaming_confusion_matrix(label_ids, predictions, num_labels, is_real_example),
    }


def model_fn_builder(
    bert_config,
    num_labels,
    init_checkpoint,
    learning_rate,
    num_train_steps,
    num_warmup_steps,
    use_tpu,
    use_one_hot_embeddings,
    metadata_json="",
    mixed_precision=False,
):
    """Returns a `model_fn` for `tf.estimator.Estimator` (or `TPUEstimator` with `use_tpu`)."""

    def model_fn(features, labels, mode, params):  # pylint: disable=unused-argument
        input_ids = features["input_ids"]
        label_ids = features["label_ids"]
        if "is_real_example" in features:
            is_real_example = tf.cast(features["is_real_example"], dtype=tf.float32)
        else:
            is_real_example = tf.ones(tf.shape(label_ids), dtype=tf.float32)
        is_training = mode == tf.estimator.ModeKeys.TRAIN

        total_loss, per_example_loss, logits, probabilities = create_model(
            bert_config,
            is_training,
            input_ids,
            features["input_mask"],
            features["segment_ids"],
            label_ids,
            num_labels,
            use_one_hot_embeddings,
        )

        scaffold_fn = None
        if init_checkpoint:
            assignment_map, _ = modeling.get_assignment_map_from_checkpoint(tf.trainable_variables(), init_checkpoint)
            if use_tpu:

                def tpu_scaffold():
                    tf.train.init_from_checkpoint(init_checkpoint, assignment_map)
                    return tf.train.Scaffold()

                scaffold_fn = tpu_scaffold
            else:
                tf.train.init_from_checkpoint(init_checkpoint, assignment_map)

        spec = tf.estimator.tpu.TPUEstimatorSpec if use_tpu else tf.estimator.EstimatorSpec
        extra = {"scaffold_fn": scaffold_fn} if use_tpu else {}
        if mode == tf.estimator.ModeKeys.TRAIN:
            tf.add_to_collection(LOSS_COLLECTION, total_loss)
            train_op = optimization.create_optimizer(
                total_loss, learning_rate, num_train_steps, num_warmup_steps, use_tpu, mixed_precision
            )
            return spec(mode=mode, loss=total_loss, train_op=train_op, **extra)
        if mode == tf.estimator.ModeKeys.EVAL:
            metric_args = [per_example_loss, label_ids, logits, is_real_example]
            if use_tpu:
                return spec(
                    mode=mode,
                    loss=total_loss,
                    eval_metrics=(lambda *args: _eval_metrics(*args, num_labels=num_labels), metric_args),
                    **extra
                )
            return spec(mode=mode, loss=total_loss, eval_metric_ops=_eval_metrics(*metric_args, num_labels), **extra)

        batch = tf.shape(input_ids)[0]
        export_outputs = {
            SERVING_SIGNATURE: tf.estimator.export.PredictOutput({SERVING_OUTPUT: probabilities}),
            # One JSON string per row: batching servers split outputs along dim 0.
            METADATA_SIGNATURE: tf.estimator.export.PredictOutput(
                {METADATA_OUTPUT: tf.fill([batch], tf.constant(metadata_json))}
            ),
        }
        return spec(mode=mode, predictions={"probabilities": probabilities}, export_outputs=export_outputs, **extra)

    return model_fn
