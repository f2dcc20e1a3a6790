"""The estimator `model_fn`: the BERT encoder, a task family's head, training and the export signatures.

The encoder is the reference's (`bert.modeling`), or DistilBERT built from its
pieces when `bert_config.json` says so (`encoder.py`); the head and loss come from
the task family (`family.py`; the reference classifier is
`classification.py`). The optimizer is the reference's update rule written as
a regular `tf.train.Optimizer` (`optimization.py`), so distribution strategies
and mixed precision can wrap it while checkpoints stay interchangeable with
Google's code. What is added: a plain `EstimatorSpec` off TPU, and the export
signatures named by `bert_contract` (`serving_default` answering the head's
`output`, `metadata` carrying the labels and featurizer settings, and `vocab`
with the exact vocab.txt, in `export/signatures.py`).
"""

import logging

import tensorflow.compat.v1 as tf
from bert import modeling

from bert_contract import DEFAULT_SIGNATURE, INPUT_IDS, INPUT_MASK, SEGMENT_IDS, SERVING_OUTPUT
from bert_runner import micro_batches, optimization
from bert_runner.encoder import build_encoder
from bert_runner.family import Head
from bert_runner.hooks import LOSS_COLLECTION
from bert_runner.records import IS_REAL_EXAMPLE
from export.signatures import contract_outputs

log = logging.getLogger("bert_runner")


def model_fn_builder(
    family,
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
    vocab_bytes=b"",
    train_micro_batches=1,
    adam_bias_correction=False,
):
    """Returns a `model_fn` for `tf.estimator.Estimator` (or `TPUEstimator` with `use_tpu`).

    `train_micro_batches` > 1: training runs each batch as that many length-sorted
    micro-batches with the batch's own loss (`micro_batches.py`), when the family supports it.
    """
    split_training = train_micro_batches > 1 and family.splits_into_micro_batches
    if train_micro_batches > 1 and not split_training:
        log.info("task family %s has no Head.loss_weight: training batches are not split", family.kind)

    def model_fn(features, labels, mode, params):  # pylint: disable=unused-argument
        batch = tf.shape(features[INPUT_IDS])[0]
        features = dict(features)
        # Served requests and the reference's input carry no weights: every row is real.
        if IS_REAL_EXAMPLE in features:
            features[IS_REAL_EXAMPLE] = tf.cast(features[IS_REAL_EXAMPLE], dtype=tf.float32)
        else:
            features[IS_REAL_EXAMPLE] = tf.ones([batch], dtype=tf.float32)
        is_training = mode == tf.estimator.ModeKeys.TRAIN

        def build_head(batch_features):
            encoder = build_encoder(
                bert_config,
                is_training=is_training,
                input_ids=batch_features[INPUT_IDS],
                input_mask=batch_features[INPUT_MASK],
                token_type_ids=batch_features[SEGMENT_IDS],
                use_one_hot_embeddings=use_one_hot_embeddings,
            )
            return family.head(encoder, batch_features, num_labels, is_training)

        if is_training and split_training:
            sequence_keys = tuple(family.record_schema.sequences) + (INPUT_MASK,)
            head = Head(
                loss=micro_batches.micro_batched_loss(
                    build_head, features, train_micro_batches, sequence_keys,
                    in_loop=micro_batches.runs_in_loop(num_train_steps, train_micro_batches)),
                metric_inputs={},
                predictions={},
                output=None,
            )
        else:
            head = build_head(features)

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
            tf.add_to_collection(LOSS_COLLECTION, head.loss)
            train_op = optimization.create_optimizer(
                head.loss, learning_rate, num_train_steps, num_warmup_steps, use_tpu, mixed_precision,
                bias_correction=adam_bias_correction,
            )
            return spec(mode=mode, loss=head.loss, train_op=train_op, **extra)
        if mode == tf.estimator.ModeKeys.EVAL:

            def metric_fn(**metric_inputs):
                return family.eval_metrics(num_labels, **metric_inputs)

            if use_tpu:
                return spec(mode=mode, loss=head.loss, eval_metrics=(metric_fn, head.metric_inputs), **extra)
            return spec(mode=mode, loss=head.loss, eval_metric_ops=metric_fn(**head.metric_inputs), **extra)

        export_outputs = {DEFAULT_SIGNATURE: tf.estimator.export.PredictOutput({SERVING_OUTPUT: head.output})}
        # A callable is asked at each graph build: the export's metadata may depend on evaluation
        # (a multi-label family's thresholds tuned on dev).
        info = metadata_json() if callable(metadata_json) else metadata_json
        export_outputs.update(contract_outputs(batch, info, vocab_bytes))
        return spec(mode=mode, predictions=head.predictions, export_outputs=export_outputs, **extra)

    return model_fn
