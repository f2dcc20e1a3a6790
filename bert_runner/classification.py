"""Sequence classification: one label per text (or text pair), the reference's task family.

Reading is `tasks.py` (the reference tasks and the generic TSV/CSV); a record
holds the featurizer's ids and one label id; the head is the reference's
pooled [CLS] (or the token mean, `--pooling`) -> dropout -> linear -> softmax; evaluation adds a confusion
matrix for per-class scores; outputs are the reference's `eval_results.txt`
and `test_results.tsv` plus `eval_results.json` and `test_predictions.tsv`.
"""

import logging
import os
from typing import Dict, List, Sequence

import tensorflow.compat.v1 as tf

from bert_contract import INPUT_IDS, LABEL_IDS, SEGMENT_IDS, SEQUENCE_CLASSIFICATION
from bert_contract.model_config import OUTPUT_BIAS, OUTPUT_WEIGHTS
from bert_runner import results
from bert_runner.errors import RunnerError
from bert_runner.family import Head, TaskFamily
from bert_runner.labels import read_labels_file, saved_labels
from bert_runner.metrics import format_confusion, scores
from bert_runner.label_spec import PER_EXAMPLE
from bert_runner.records import IS_REAL_EXAMPLE
from bert_runner.tasks import TASK_NAMES, GenericTask, InputExample, Task, make_task

log = logging.getLogger("bert_runner")

_WARMUP_FALLBACK = "this is a warm-up request"


def label_ids(examples: Sequence[InputExample], label_list: Sequence[str]) -> List[int]:
    """Label ids; an unknown label is an error naming its file and line."""
    label_map = {label: i for i, label in enumerate(label_list)}
    ids = []
    for example in examples:
        if example.label is None:
            ids.append(0)  # unlabelled test data: a placeholder, as in the reference
            continue
        if example.label not in label_map:
            raise RunnerError(
                "%s: label %r is not in the label list [%s]"
                % (example.source or example.guid, example.label, ", ".join(label_list))
            )
        ids.append(label_map[example.label])
    return ids


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


def output_layer(num_labels: int, hidden_size: int):
    """The reference's output weights `[num_labels, hidden]` and bias (its variable names, so checkpoints match)."""
    weights = tf.get_variable(
        OUTPUT_WEIGHTS, [num_labels, hidden_size], initializer=tf.truncated_normal_initializer(stddev=0.02)
    )
    return weights, tf.get_variable(OUTPUT_BIAS, [num_labels], initializer=tf.zeros_initializer())


def classifier_logits(encoder, num_labels: int, is_training: bool):
    """The reference classifier's sentence vector -> dropout -> linear layer (its variables at the top scope).

    The sentence vector is the reference's pooled [CLS], or the token mean for a model
    pretrained to give it (`--pooling`, `encoder.Encoder.get_sentence_output`).
    Called inside a head's name scope; a variable scope would rename the variables.
    """
    pooled = encoder.get_sentence_output()
    output_weights, output_bias = output_layer(num_labels, pooled.shape[-1].value)
    if is_training:
        pooled = tf.nn.dropout(pooled, rate=0.1)
    return tf.nn.bias_add(tf.matmul(pooled, output_weights, transpose_b=True), output_bias)


class SequenceClassification(TaskFamily):
    kind = SEQUENCE_CLASSIFICATION
    task_names = TASK_NAMES
    command = "run_classifier.py"
    label = PER_EXAMPLE
    splits_into_micro_batches = True

    # reading
    def make_task(self, options) -> Task:
        generic = (options.task_name or "").lower() == GenericTask.name
        generic_options = {}
        if generic:
            labels = options.labels
            if options.labels_file and not labels:
                labels = read_labels_file(options.labels_file, "--labels_file")
            generic_options = dict(
                text_column=options.text_column,
                text_b_column=options.text_b_column,
                label_column=options.label_column,
                labels=labels or saved_labels(options.output_dir),
                files={"train": options.train_file, "dev": options.dev_file, "test": options.test_file},
            )
        return make_task(options.task_name, options.data_dir, **generic_options)

    def check_examples(self, examples, labels):
        label_ids(examples, labels)

    def warmup_texts(self, examples):
        return [e.text_a for e in examples[:8]] or [_WARMUP_FALLBACK]

    def cache_options(self, options):
        generic = (options.task_name or "").lower() == GenericTask.name
        return {
            "task": (options.task_name or "").lower(),
            "columns": [options.text_column, options.text_b_column, options.label_column] if generic else None,
        }

    # features
    def encode(self, featurizer, examples, labels):
        encoded = featurizer.encode_batch([e.text_a for e in examples], [e.text_b for e in examples])
        return [
            {INPUT_IDS: e.input_ids, SEGMENT_IDS: e.segment_ids, LABEL_IDS: [label]}
            for e, label in zip(encoded, label_ids(examples, labels))
        ]

    # model: BERT's pooled [CLS] output (or the token mean) -> dropout -> linear -> softmax, as in the reference
    def head(self, encoder, features, num_labels, is_training):
        label_ids = features[LABEL_IDS]
        # Named "classifier" (not the reference's "loss", which holds no variables)
        # so the estimator's `loss` summary keeps its name in TensorBoard.
        with tf.name_scope("classifier"):
            logits = classifier_logits(encoder, num_labels, is_training)
            probabilities = tf.nn.softmax(logits, axis=-1)
            log_probs = tf.nn.log_softmax(logits, axis=-1)
            one_hot_labels = tf.one_hot(label_ids, depth=num_labels, dtype=tf.float32)
            per_example_loss = -tf.reduce_sum(one_hot_labels * log_probs, axis=-1)
            loss = tf.reduce_mean(per_example_loss)
        return Head(
            loss=loss,
            metric_inputs={
                "per_example_loss": per_example_loss,
                "label_ids": label_ids,
                "logits": logits,
                "weights": features[IS_REAL_EXAMPLE],
            },
            predictions={"probabilities": probabilities},
            output=probabilities,
            loss_weight=tf.cast(tf.shape(per_example_loss)[0], tf.float32),  # a mean over rows
        )

    def eval_metrics(self, num_labels, per_example_loss, label_ids, logits, weights):
        predictions = tf.argmax(logits, axis=-1, output_type=tf.int32)
        return {
            "eval_accuracy": tf.metrics.accuracy(labels=label_ids, predictions=predictions, weights=weights),
            "eval_loss": tf.metrics.mean(values=per_example_loss, weights=weights),
            "confusion_matrix": streaming_confusion_matrix(label_ids, predictions, num_labels, weights),
        }

    # outputs
    def write_eval(self, plan, result):
        output_dir = plan.options.output_dir
        report = scores(result["confusion_matrix"], plan.labels)
        report.update(
            loss=float(result["eval_loss"]),
            global_step=int(result["global_step"]),
            data_file=plan.task.split_path("dev"),
        )
        # The reference's file: every scalar metric, sorted.
        reference = "".join("%s = %s\n" % (key, result[key]) for key in sorted(result) if key != "confusion_matrix")
        results.write_text(os.path.join(output_dir, "eval_results.txt"), reference)
        results.write_json(os.path.join(output_dir, "eval_results.json"), report)
        log.info(
            "eval: accuracy %.4f  loss %.4f  macro F1 %.4f  MCC %.4f  (%d examples)\n%s",
            report["accuracy"],
            report["loss"],
            report["macro_f1"],
            report["mcc"],
            report["num_examples"],
            format_confusion(report["confusion_matrix"], plan.labels),
        )
        return report

    def collapse_reason(self, report):
        """Every dev example predicted as one label while the dev set holds more than one."""
        matrix = report["confusion_matrix"]
        predicted = [sum(row[j] for row in matrix) for j in range(len(matrix))]
        present = sum(1 for row in matrix if sum(row))
        if present < 2 or sum(1 for count in predicted if count) != 1:
            return None
        label = report["labels"][max(range(len(predicted)), key=predicted.__getitem__)]
        return "every one of the %d dev examples is predicted %r (the dev set has %d labels)" % (
            report["num_examples"], label, present)

    def write_predictions(self, plan, predictions, record_file):
        output_dir = plan.options.output_dir
        raw_path = os.path.join(output_dir, "test_results.tsv")
        labelled_path = os.path.join(output_dir, "test_predictions.tsv")
        raw_lines, labelled_lines = [], ["\t".join(["prediction"] + list(plan.labels)) + "\n"]
        for prediction in predictions:
            if len(raw_lines) >= record_file.num_examples:
                break  # TPU padding rows
            probabilities = prediction["probabilities"]
            raw_lines.append("\t".join(str(p) for p in probabilities) + "\n")
            best = max(range(len(probabilities)), key=lambda i: probabilities[i])
            labelled_lines.append("\t".join([plan.labels[best]] + ["%.6f" % p for p in probabilities]) + "\n")
        written = len(raw_lines)
        if written != record_file.num_examples:
            raise RunnerError("predicted %d rows for %d test examples" % (written, record_file.num_examples))
        results.write_text(raw_path, "".join(raw_lines))
        results.write_text(labelled_path, "".join(labelled_lines))
        log.info("predictions for %d examples: %s and %s", written, raw_path, labelled_path)
        return {"num_examples": written, "results_file": raw_path, "predictions_file": labelled_path}
