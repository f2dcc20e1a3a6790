"""Everything a run needs, read and checked before the first training step.

Config, vocab, checkpoint, devices, the task, its label list and every
requested data split are checked here, so a bad file fails in seconds with one
clear line instead of after training. The result, a `Plan`, is what the later
steps (`steps.py`) and the task family's writers read.
"""

from typing import Dict, List, Optional

from bert import tokenization

from bert_contract import SEQUENCE_CLASSIFICATION, ModelInfo
from bert_contract.model_config import POOLING_FIELD
from bert_runner import checks, distribute, families, labels, pooling, storage
from bert_runner.errors import RunnerError
from bert_runner.family import TaskFamily
from bert_runner.options import RunOptions
from featurizer import Featurizer, FeaturizerError


class Plan:
    """The checked inputs of a run."""

    def __init__(self, options: RunOptions, family: TaskFamily):
        self.options = o = options
        self.family = family
        check_actions(o)
        self.bert_config = checks.load_bert_config(o.bert_config_file)
        checks.check_max_seq_length(o.max_seq_length, self.bert_config, o.bert_config_file)
        if o.preserve_unused_tokens:
            raise RunnerError("--preserve_unused_tokens is not supported: the shared featurizer always splits words")
        if not o.vocab_file:
            raise RunnerError("--vocab_file is required")
        try:
            # Read once, through gfile: the featurizer and the export's `vocab` signature share these bytes.
            self.vocab_bytes = storage.read_bytes(o.vocab_file)
        except OSError as e:
            raise RunnerError("--vocab_file=%s: cannot read: %s" % (o.vocab_file, e.strerror or e))
        try:
            self.featurizer = Featurizer(
                o.vocab_file, o.do_lower_case, o.max_seq_length, use_fast=o.fast_tokenizer, vocab_bytes=self.vocab_bytes
            )
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
        self.task = family.make_task(o)
        self.init_checkpoint = None
        if o.init_checkpoint and o.do_train:
            self.init_checkpoint = checks.check_init_checkpoint(o.init_checkpoint, self.bert_config, o.bert_config_file)
        labels.check_run_kind(o.output_dir, family.kind, SEQUENCE_CLASSIFICATION, families.command_for)
        self.pooling = None  # type: Optional[str]
        if family.reads_sentence_vector:
            self.pooling = pooling.resolve(o.pooling, o.output_dir, self.bert_config)
            # The config object is the model's: the encoder builds the pooling it names.
            setattr(self.bert_config, POOLING_FIELD, self.pooling)
        elif o.pooling is not None:
            raise RunnerError("--pooling=%s: %s classifies every token's own vector; there is no sentence vector to pool"
                              % (o.pooling, family.command))
        self.labels = labels.resolve_labels(self.task, o.output_dir, family.label)  # type: List[str]
        # Read and check every split this run will use, before any work.
        self.examples = {}  # type: Dict[str, List]
        for split, wanted in (("train", o.do_train), ("dev", o.do_eval), ("test", o.do_predict)):
            if wanted:
                self.examples[split] = self.task.get_examples(split)
                family.check_examples(self.examples[split], self.labels)
        self.num_train_steps, self.num_warmup_steps = self._train_steps()
        self.export_checkpoint = self._export_checkpoint()  # type: Optional[str]
        storage.makedirs(o.output_dir)
        labels.save_labels(o.output_dir, self.labels)
        labels.save_run_kind(o.output_dir, family.kind)
        if self.pooling:
            pooling.save_pooling(o.output_dir, self.pooling)

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

    def _export_checkpoint(self) -> Optional[str]:
        o = self.options
        if o.do_export and not o.do_train:
            flag = "export_checkpoint" if o.export_checkpoint else "output_dir"
            return checks.resolve_checkpoint(o.export_checkpoint or o.output_dir, flag)
        return o.export_checkpoint and checks.resolve_checkpoint(o.export_checkpoint, "export_checkpoint")

    @property
    def dynamic_padding(self) -> bool:
        return self.options.dynamic_padding and not self.options.use_tpu

    @property
    def train_micro_batches(self) -> int:
        """Micro-batches a training batch runs as: none on TPU (fixed shapes), each of at least MIN_MICRO_BATCH_ROWS."""
        if self.options.use_tpu:
            return 1
        return max(1, min(self.options.train_micro_batches, self.replica_train_batch_size // MIN_MICRO_BATCH_ROWS))

    @property
    def adam_bias_correction(self) -> bool:
        """`--adam_bias_correction`, else the task family's default."""
        chosen = self.options.adam_bias_correction
        return self.family.adam_bias_correction if chosen is None else chosen

    def model_info(self) -> ModelInfo:
        o = self.options
        return ModelInfo(
            labels=list(self.labels),
            vocab_sha256=self.featurizer.vocab_sha256,
            do_lower_case=o.do_lower_case,
            max_seq_length=o.max_seq_length,
            task_name=(o.task_name or "").lower(),
            dynamic_seq_length=o.export_dynamic_seq_length,
            task_kind=self.family.kind,
            text_pairs=self.task.text_pairs,
            **self.family.metadata(o)
        )


# Smaller micro-batches pay another encoder's per-op overhead for little padding saved.
MIN_MICRO_BATCH_ROWS = 8


def check_actions(o: RunOptions) -> None:
    if not (o.do_train or o.do_eval or o.do_predict or o.do_export):
        raise RunnerError("at least one of --do_train, --do_eval, --do_predict or --do_export must be set")
    if o.export_onnx and not o.do_export:
        raise RunnerError("--export_onnx converts the export: add --do_export")
    for flag in ("output_dir", "task_name"):
        if not getattr(o, flag):
            raise RunnerError("--%s is required" % flag)
    if (o.do_train or o.do_eval or o.do_predict) and not o.data_dir and not (o.train_file or o.dev_file or o.test_file):
        raise RunnerError("--data_dir is required")
    for flag in ("train_batch_size", "eval_batch_size", "predict_batch_size", "length_chunk_batches", "train_micro_batches"):
        if getattr(o, flag) < 1:
            raise RunnerError("--%s must be at least 1" % flag)
