"""The estimator actions of a run: train, evaluate, predict, export.

They are the same for every task family; what a family writes (eval report,
predictions) is its own `write_eval` / `write_predictions`.
"""

import contextlib
import logging
import os
from typing import Dict

import tensorflow.compat.v1 as tf

from bert_runner import checkpoint_temps, collapse, micro_batches, results, saver_hooks
from bert_runner.errors import RunnerError
from bert_runner.hooks import STEADY_FROM_STEP, ProgressHook
from bert_runner.inputs import input_fn, split_records
from export.onnx import export_onnx
from export.saved_model import export_saved_model

log = logging.getLogger("bert_runner")


def _no_input():
    raise RunnerError("a parameter server task has no input")


def train(plan, estimator) -> Dict:
    o, cluster = plan.options, plan.cluster
    if cluster.task_type == "ps":
        # A parameter server only holds variables: train_and_evaluate starts its server and
        # joins it, never calling an input function, so no features are built here.
        log.info("%s: serving variables to the cluster", cluster.name)
        tf.estimator.train_and_evaluate(
            estimator,
            tf.estimator.TrainSpec(input_fn=_no_input, max_steps=plan.num_train_steps),
            tf.estimator.EvalSpec(input_fn=_no_input),
        )
        return {"task": cluster.name}
    record_file = split_records(plan, "train", o.train_batch_size)
    log.info(
        "training: %d examples, batch size %d, %d steps (%d warm-up), %s padding, %d micro-batches a batch%s, "
        "Adam bias correction %s%s",
        record_file.num_examples,
        o.train_batch_size,
        plan.num_train_steps,
        plan.num_warmup_steps,
        "dynamic" if plan.dynamic_padding else "fixed",
        plan.train_micro_batches,
        "" if plan.train_micro_batches < 2 else
        " (in one loop)" if micro_batches.runs_in_loop(plan.num_train_steps, plan.train_micro_batches)
        else " (as copies)",
        "on" if plan.adam_bias_correction else "off",
        ", %s pooling" % plan.pooling if plan.pooling else "",
    )
    progress = ProgressHook(o.train_batch_size, plan.num_train_steps, o.log_every_steps)
    hooks = [progress]
    if cluster.is_chief and not o.use_tpu:
        hooks += saver_hooks.chief_hooks(estimator.config, o.save_summary_steps)
    train_input_fn = input_fn(plan, record_file, True, plan.replica_train_batch_size)
    with contextlib.ExitStack() as stack:
        if cluster.is_chief:  # the one task that saves checkpoints
            locked = stack.enter_context(checkpoint_temps.training_lock(o.output_dir))
            checkpoint_temps.remove_leftovers(o.output_dir, locked)
        _fit(plan, estimator, cluster, record_file, train_input_fn, hooks)
    summary = {
        "task": cluster.name,
        "steps": plan.num_train_steps,
        "local_steps": progress.local_steps,
        "examples_per_sec": progress.overall_examples_per_sec(),
        "steady_examples_per_sec": progress.steady_examples_per_sec(),
        "steady_from_step": STEADY_FROM_STEP,
        "adam_bias_correction": plan.adam_bias_correction,
        "pooling": plan.pooling,
    }
    # One file per process, so a cluster's run shows what each task contributed.
    results.write_json(os.path.join(o.output_dir, "train_summary-%s.json" % cluster.name), summary)
    return summary


def _fit(plan, estimator, cluster, record_file, train_input_fn, hooks) -> None:
    o = plan.options
    if cluster.is_distributed:
        log.info("distributed training as %s of a %d-worker cluster", cluster.name, cluster.num_workers)
        # An evaluator task (if the cluster has one) scores the dev set, else a slice of train.
        eval_records, eval_steps = (split_records(plan, "dev", o.eval_batch_size), None) if o.do_eval else (record_file, 10)
        tf.estimator.train_and_evaluate(
            estimator,
            tf.estimator.TrainSpec(input_fn=train_input_fn, max_steps=plan.num_train_steps, hooks=hooks),
            tf.estimator.EvalSpec(
                input_fn=input_fn(plan, eval_records, False, o.eval_batch_size), steps=eval_steps, throttle_secs=60
            ),
        )
    else:
        estimator.train(input_fn=train_input_fn, max_steps=plan.num_train_steps, hooks=hooks)


def evaluate(plan, estimator) -> Dict:
    o = plan.options
    record_file = split_records(plan, "dev", o.eval_batch_size)
    steps = (record_file.num_examples + record_file.num_padding) // o.eval_batch_size if o.use_tpu else None
    result = estimator.evaluate(input_fn=input_fn(plan, record_file, False, o.eval_batch_size), steps=steps)
    if plan.family.eval_uses_predictions:
        predictions = estimator.predict(
            input_fn=input_fn(plan, record_file, False, o.eval_batch_size), yield_single_examples=True
        )
        report = plan.family.write_eval(plan, result, predictions)
    else:
        report = plan.family.write_eval(plan, result)
    collapse.mark_eval(plan, report)
    return report


def predict(plan, estimator) -> Dict:
    o = plan.options
    record_file = split_records(plan, "test", o.predict_batch_size)
    predictions = estimator.predict(
        input_fn=input_fn(plan, record_file, False, o.predict_batch_size), yield_single_examples=True
    )
    return plan.family.write_predictions(plan, predictions, record_file)


def export(plan, estimator, evaluated=None) -> Dict:
    """The SavedModel (and ONNX); refused when `evaluated` (this run's eval) or the saved eval says it collapsed."""
    o = plan.options
    collapse.check_export(plan, evaluated)
    export_dir = o.export_dir or os.path.join(o.output_dir, "export")
    path = export_saved_model(
        estimator,
        export_dir,
        plan.featurizer,
        dynamic_seq_length=o.export_dynamic_seq_length,
        checkpoint_path=plan.export_checkpoint or None,
        warmup_texts=plan.family.warmup_texts(plan.examples.get("train", [])),
        label_spec=plan.family.label,
        num_labels=len(plan.labels),
    )
    summary = {"path": path, "model_info": plan.model_info()._asdict()}
    if o.export_onnx:
        summary["onnx"] = export_onnx(path, plan.model_info(), plan.vocab_bytes)
    return summary
