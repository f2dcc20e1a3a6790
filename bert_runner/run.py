"""One run of `run_classifier.py`: check everything, then train, evaluate, predict, export.

All inputs a run needs (config, vocab, checkpoint, every requested data split
and its labels) are read and checked before the first training step, so a bad
file fails in seconds with one clear line instead of after training.
"""

import json
import logging
import os
from typing import Dict, List, Optional

import tensorflow.compat.v1 as tf
from bert import tokenization

from bert_runner import checks, distribute, records
from bert_runner.errors import RunnerError
from bert_runner.hooks import ProgressHook
from bert_runner.metrics import format_confusion, scores
from bert_runner.model import model_fn_builder
from bert_runner.options import RunOptions
from bert_runner.tasks import GenericTask, InputExample, Task, make_task
from export.saved_model import export_saved_model
from featurizer import Featurizer, FeaturizerError, ModelInfo

log = logging.getLogger("bert_runner")

LABELS_FILE = "label_list.txt"
FEATURES_DIR = "features"


def run(options: RunOptions) -> Dict:
    """Runs the requested actions; returns a summary (paths, metrics, speed)."""
    plan = _Plan(options)
    summary = {}  # type: Dict
    estimator = plan.estimator()
    if options.do_train:
        summary["train"] = plan.train(estimator)
    if not plan.cluster.is_chief:
        log.info("%s: training done; the chief evaluates, predicts and exports", plan.cluster.name)
        return summary
    if options.do_eval:
        summary["eval"] = plan.evaluate(estimator)
    if options.do_predict:
        summary["predict"] = plan.predict(estimator)
    if options.do_export:
        summary["export"] = plan.export(estimator)
    return summary


def _no_input():
    raise RunnerError("a parameter server task has no input")


class _Plan:
    """The checked inputs of a run and the steps over them."""

    def __init__(self, options: RunOptions):
        self.options = o = options
        _check_actions(o)
        self.bert_config = checks.load_bert_config(o.bert_config_file)
        checks.check_max_seq_length(o.max_seq_length, self.bert_config, o.bert_config_file)
        if o.preserve_unused_tokens:
            raise RunnerError("--preserve_unused_tokens is not supported: the shared featurizer always splits words")
        if not o.vocab_file:
            raise RunnerError("--vocab_file is required")
        try:
            self.featurizer = Featurizer(o.vocab_file, o.do_lower_case, o.max_seq_length, use_fast=o.fast_tokenizer)
        except FeaturizerError as e:
            raise RunnerError("--vocab_file: %s" % e)
        checks.check_vocab_size(self.featurizer.vocab, o.vocab_file, self.bert_config, o.bert_config_file)
        try:
            tokenization.validate_case_matches_checkpoint(o.do_lower_case, o.init_checkpoint)
        except ValueError as e:
            raise RunnerError("--do_lower_case: %s" % " ".join(str(e).split()))
        self.cluster = distribute.cluster_from_env()
        self.strategy = distribute.train_strategy(o.distribution_strategy, o.num_gpus, o.virtual_cpu_devices)
        replicas = self.strategy.num_replicas_in_sync if self.strategy else 1
        if o.train_batch_size % replicas:
            raise RunnerError(
                "--train_batch_size=%d must be a multiple of the %d devices of --distribution_strategy"
                % (o.train_batch_size, replicas)
            )
        # Estimators under a distribution strategy batch per replica.
        self.replica_train_batch_size = o.train_batch_size // replicas
        self.task = _make_task(o)
        self.init_checkpoint = None
        if o.init_checkpoint and o.do_train:
            self.init_checkpoint = checks.check_init_checkpoint(o.init_checkpoint, self.bert_config, o.bert_config_file)
        self.labels = _resolve_labels(self.task, o)
        # Read and check every split this run will use, before any work.
        self.examples = {}  # type: Dict[str, List[InputExample]]
        for split, wanted in (("train", o.do_train), ("dev", o.do_eval), ("test", o.do_predict)):
            if wanted:
                self.examples[split] = self.task.get_examples(split)
                records.label_ids(self.examples[split], self.labels)
        self.num_train_steps, self.num_warmup_steps = self._train_steps()
        if o.do_export and not o.do_train:
            self.export_checkpoint = checks.resolve_checkpoint(o.export_checkpoint or o.output_dir, "export_checkpoint" if o.export_checkpoint else "output_dir")
        else:
            self.export_checkpoint = o.export_checkpoint and checks.resolve_checkpoint(o.export_checkpoint, "export_checkpoint")
        os.makedirs(o.output_dir, exist_ok=True)
        _save_labels(o.output_dir, self.labels)

    def _train_steps(self):
        o = self.options
        if not o.do_train:
            return None, None
        count = len(self.examples["train"])
        steps = int(count / o.train_batch_size * o.num_train_epochs)
        if steps < 1:
            raise RunnerError(
                "%d training examples with --train_batch_size=%d and --num_train_epochs=%s make 0 training steps"
                % (count, o.train_batch_size, o.num_train_epochs)
            )
        return steps, int(steps * o.warmup_proportion)

    @property
    def dynamic_padding(self) -> bool:
        return self.options.dynamic_padding and not self.options.use_tpu

    def model_info(self) -> ModelInfo:
        o = self.options
        return ModelInfo(
            labels=list(self.labels),
            vocab_sha256=self.featurizer.vocab_sha256,
            do_lower_case=o.do_lower_case,
            max_seq_length=o.max_seq_length,
            task_name=(o.task_name or "").lower(),
            dynamic_seq_length=o.export_dynamic_seq_length,
        )

    def estimator(self):
        o = self.options
        model_fn = model_fn_builder(
            bert_config=self.bert_config,
            num_labels=len(self.labels),
            init_checkpoint=self.init_checkpoint,
            learning_rate=o.learning_rate,
            num_train_steps=self.num_train_steps,
            num_warmup_steps=self.num_warmup_steps,
            use_tpu=o.use_tpu,
            use_one_hot_embeddings=o.use_tpu,
            metadata_json=self.model_info().to_json(),
            mixed_precision=o.mixed_precision,
        )
        if not o.use_tpu:
            session_config = distribute.session_config(o.virtual_cpu_devices)
            if o.xla:
                session_config = session_config or tf.ConfigProto()
                session_config.graph_options.optimizer_options.global_jit_level = tf.OptimizerOptions.ON_1
            config = tf.estimator.RunConfig(
                model_dir=o.output_dir,
                save_checkpoints_steps=o.save_checkpoints_steps,
                keep_checkpoint_max=o.keep_checkpoint_max,
                save_summary_steps=o.save_summary_steps,
                tf_random_seed=o.seed,
                log_step_count_steps=max(o.log_every_steps, 1),
                train_distribute=self.strategy,
                session_config=session_config,
            )
            return tf.estimator.Estimator(model_fn=model_fn, config=config)
        resolver = None
        if o.tpu_name:
            resolver = tf.distribute.cluster_resolver.TPUClusterResolver(o.tpu_name, zone=o.tpu_zone, project=o.gcp_project)
        config = tf.estimator.tpu.RunConfig(
            cluster=resolver,
            master=o.master,
            model_dir=o.output_dir,
            save_checkpoints_steps=o.save_checkpoints_steps,
            keep_checkpoint_max=o.keep_checkpoint_max,
            tf_random_seed=o.seed,
            tpu_config=tf.estimator.tpu.TPUConfig(
                tpu_job_name=o.tpu_job_name,
                iterations_per_loop=o.iterations_per_loop,
                num_shards=o.num_tpu_cores,
                per_host_input_for_training=tf.estimator.tpu.InputPipelineConfig.PER_HOST_V2,
            ),
        )
        return tf.estimator.tpu.TPUEstimator(
            use_tpu=True,
            model_fn=model_fn,
            config=config,
            train_batch_size=o.train_batch_size,
            eval_batch_size=o.eval_batch_size,
            predict_batch_size=o.predict_batch_size,
        )

    def _records(self, split: str, batch_size: int) -> records.RecordFile:
        o = self.options
        examples = self.examples[split]
        # TPUs need every batch full: pad with examples that metrics ignore.
        padding = (-len(examples)) % batch_size if (o.use_tpu and split != "train") else 0
        cache_dir = os.path.join(o.output_dir, FEATURES_DIR)
        data_file = self.task.split_path(split)
        if not o.cache_features:
            path = os.path.join(cache_dir, "%s.tf_record" % split)
            os.makedirs(cache_dir, exist_ok=True)
            return records.write_records(examples, self.featurizer, self.labels, path, padding)
        task_options = {
            "task": (o.task_name or "").lower(),
            "columns": [o.text_column, o.text_b_column, o.label_column] if isinstance(self.task, GenericTask) else None,
        }
        return records.cached_records(split, examples, data_file, self.featurizer, self.labels, cache_dir, task_options, padding)

    def _input_fn(self, record_file, is_training, batch_size):
        o = self.options
        return records.input_fn_builder(
            record_file,
            o.max_seq_length,
            is_training=is_training,
            batch_size=None if o.use_tpu else batch_size,
            drop_remainder=is_training or o.use_tpu,
            dynamic_padding=self.dynamic_padding,
            seed=o.seed,
        )

    def train(self, estimator) -> Dict:
        o = self.options
        if self.cluster.task_type == "ps":
            # A parameter server only holds variables: train_and_evaluate starts its server and
            # joins it, never calling an input function, so no features are built here.
            log.info("%s: serving variables to the cluster", self.cluster.name)
            tf.estimator.train_and_evaluate(
                estimator,
                tf.estimator.TrainSpec(input_fn=_no_input, max_steps=self.num_train_steps),
                tf.estimator.EvalSpec(input_fn=_no_input),
            )
            return {"task": self.cluster.name}
        record_file = self._records("train", o.train_batch_size)
        log.info(
            "training: %d examples, batch size %d, %d steps (%d warm-up), %s padding",
            record_file.num_examples,
            o.train_batch_size,
            self.num_train_steps,
            self.num_warmup_steps,
            "dynamic" if self.dynamic_padding else "fixed",
        )
        progress = ProgressHook(o.train_batch_size, self.num_train_steps, o.log_every_steps)
        input_fn = self._input_fn(record_file, True, self.replica_train_batch_size)
        if self.cluster.is_distributed:
            log.info("distributed training as %s of a %d-worker cluster", self.cluster.name, self.cluster.num_workers)
            # An evaluator task (if the cluster has one) scores the dev set, else a slice of train.
            eval_records, eval_steps = (self._records("dev", o.eval_batch_size), None) if o.do_eval else (record_file, 10)
            eval_input_fn = self._input_fn(eval_records, False, o.eval_batch_size)
            tf.estimator.train_and_evaluate(
                estimator,
                tf.estimator.TrainSpec(input_fn=input_fn, max_steps=self.num_train_steps, hooks=[progress]),
                tf.estimator.EvalSpec(input_fn=eval_input_fn, steps=eval_steps, throttle_secs=60),
            )
        else:
            estimator.train(input_fn=input_fn, max_steps=self.num_train_steps, hooks=[progress])
        summary = {
            "task": self.cluster.name,
            "steps": self.num_train_steps,
            "local_steps": progress.local_steps,
            "examples_per_sec": progress.overall_examples_per_sec(),
        }
        # One file per process, so a cluster's run shows what each task contributed.
        _write_json(os.path.join(o.output_dir, "train_summary-%s.json" % self.cluster.name), summary)
        return summary

    def evaluate(self, estimator) -> Dict:
        o = self.options
        record_file = self._records("dev", o.eval_batch_size)
        steps = (record_file.num_examples + record_file.num_padding) // o.eval_batch_size if o.use_tpu else None
        result = estimator.evaluate(input_fn=self._input_fn(record_file, False, o.eval_batch_size), steps=steps)
        report = scores(result["confusion_matrix"], self.labels)
        report.update(
            loss=float(result["eval_loss"]),
            global_step=int(result["global_step"]),
            data_file=self.task.split_path("dev"),
        )
        with open(os.path.join(o.output_dir, "eval_results.txt"), "w") as writer:
            for key in sorted(result):
                if key != "confusion_matrix":
                    writer.write("%s = %s\n" % (key, result[key]))
        _write_json(os.path.join(o.output_dir, "eval_results.json"), report)
        log.info(
            "eval: accuracy %.4f  loss %.4f  macro F1 %.4f  MCC %.4f  (%d examples)\n%s",
            report["accuracy"],
            report["loss"],
            report["macro_f1"],
            report["mcc"],
            report["num_examples"],
            format_confusion(report["confusion_matrix"], self.labels),
        )
        return report

    def predict(self, estimator) -> Dict:
        o = self.options
        record_file = self._records("test", o.predict_batch_size)
        results = estimator.predict(
            input_fn=self._input_fn(record_file, False, o.predict_batch_size), yield_single_examples=True
        )
        raw_path = os.path.join(o.output_dir, "test_results.tsv")
        labelled_path = os.path.join(o.output_dir, "test_predictions.tsv")
        written = 0
        with open(raw_path, "w") as raw, open(labelled_path, "w") as labelled:
            labelled.write("\t".join(["prediction"] + list(self.labels)) + "\n")
            for prediction in results:
                if written >= record_file.num_examples:
                    break  # TPU padding rows
                probabilities = prediction["probabilities"]
                raw.write("\t".join(str(p) for p in probabilities) + "\n")
                best = max(range(len(probabilities)), key=lambda i: probabilities[i])
                labelled.write("\t".join([self.labels[best]] + ["%.6f" % p for p in probabilities]) + "\n")
                written += 1
        if written != record_file.num_examples:
            raise RunnerError("predicted %d rows for %d test examples" % (written, record_file.num_examples))
        log.info("predictions for %d examples: %s and %s", written, raw_path, labelled_path)
        return {"num_examples": written, "results_file": raw_path, "predictions_file": labelled_path}

    def export(self, estimator) -> Dict:
        o = self.options
        export_dir = o.export_dir or os.path.join(o.output_dir, "export")
        warmup_texts = [e.text_a for e in self.examples.get("train", [])[:8]] or ["this is a warm-up request"]
        path = export_saved_model(
            estimator,
            export_dir,
            self.featurizer,
            dynamic_seq_length=o.export_dynamic_seq_length,
            checkpoint_path=self.export_checkpoint or None,
            warmup_texts=warmup_texts,
        )
        return {"path": path, "model_info": self.model_info()._asdict()}


def _check_actions(o: RunOptions) -> None:
    if not (o.do_train or o.do_eval or o.do_predict or o.do_export):
        raise RunnerError("at least one of --do_train, --do_eval, --do_predict or --do_export must be set")
    for flag in ("output_dir", "task_name"):
        if not getattr(o, flag):
            raise RunnerError("--%s is required" % flag)
    if (o.do_train or o.do_eval or o.do_predict) and not o.data_dir and not (o.train_file or o.dev_file or o.test_file):
        raise RunnerError("--data_dir is required")
    for flag in ("train_batch_size", "eval_batch_size", "predict_batch_size"):
        if getattr(o, flag) < 1:
            raise RunnerError("--%s must be at least 1" % flag)


def _make_task(o: RunOptions) -> Task:
    generic = (o.task_name or "").lower() == GenericTask.name
    labels = o.labels
    if generic and o.labels_file and not labels:
        labels = _read_labels_file(o.labels_file, "--labels_file")
    options = {}
    if generic:
        options = dict(
            text_column=o.text_column,
            text_b_column=o.text_b_column,
            label_column=o.label_column,
            labels=labels or _saved_labels(o.output_dir),
            files={"train": o.train_file, "dev": o.dev_file, "test": o.test_file},
        )
    return make_task(o.task_name, o.data_dir, **options)


def _resolve_labels(task: Task, o: RunOptions) -> List[str]:
    """The label list, checked against the one a checkpoint in output_dir was trained with."""
    labels = task.get_labels()
    if len(labels) < 2:
        raise RunnerError("the label list has %d label(s) %s; a classifier needs at least 2" % (len(labels), labels))
    if len(set(labels)) != len(labels):
        raise RunnerError("the label list %s has duplicates" % labels)
    saved = _saved_labels(o.output_dir)
    if saved and saved != labels and tf.train.latest_checkpoint(o.output_dir):
        raise RunnerError(
            "labels %s differ from %s, saved when the model in --output_dir=%s was trained"
            % (labels, saved, o.output_dir)
        )
    return labels


def _read_labels_file(path: str, flag: str) -> List[str]:
    try:
        with open(path, encoding="utf-8") as f:
            return [line.strip() for line in f if line.strip()]
    except OSError as e:
        raise RunnerError("%s=%s: cannot read: %s" % (flag, path, e.strerror or e))


def _saved_labels(output_dir: Optional[str]) -> Optional[List[str]]:
    path = os.path.join(output_dir or "", LABELS_FILE)
    return _read_labels_file(path, "labels in --output_dir") if os.path.isfile(path) else None


def _save_labels(output_dir: str, labels: List[str]) -> None:
    with open(os.path.join(output_dir, LABELS_FILE), "w", encoding="utf-8") as f:
        f.write("\n".join(labels) + "\n")


def _write_json(path: str, data) -> None:
    with open(path, "w") as f:
        json.dump(data, f, indent=2, sort_keys=True)
        f.write("\n")
