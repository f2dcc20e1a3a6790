"""Plain settings of one run, decoupled from absl flags so library code and tests take arguments."""

import dataclasses
from typing import List, Optional


@dataclasses.dataclass
class RunOptions:
    # Reference flags (same names and defaults as Google's run_classifier.py).
    data_dir: Optional[str] = None
    bert_config_file: Optional[str] = None
    task_name: Optional[str] = None
    vocab_file: Optional[str] = None
    output_dir: Optional[str] = None
    init_checkpoint: Optional[str] = None
    do_lower_case: bool = True
    max_seq_length: int = 128
    do_train: bool = False
    do_eval: bool = False
    do_predict: bool = False
    train_batch_size: int = 32
    eval_batch_size: int = 8
    predict_batch_size: int = 8
    learning_rate: float = 5e-5
    num_train_epochs: float = 3.0
    warmup_proportion: float = 0.1
    save_checkpoints_steps: int = 1000
    iterations_per_loop: int = 1000
    use_tpu: bool = False
    tpu_name: Optional[str] = None
    tpu_zone: Optional[str] = None
    gcp_project: Optional[str] = None
    master: Optional[str] = None
    num_tpu_cores: int = 8
    tpu_job_name: Optional[str] = None
    preserve_unused_tokens: bool = False
    # Project additions.
    do_export: bool = False
    export_dir: Optional[str] = None
    export_checkpoint: Optional[str] = None
    export_dynamic_seq_length: bool = False
    export_onnx: bool = False
    # Export even when the dev evaluation says the model collapsed (bert_runner/collapse.py).
    export_collapsed_model: bool = False
    text_column: str = "text"
    text_b_column: str = ""
    label_column: str = "label"
    labels: List[str] = dataclasses.field(default_factory=list)
    labels_file: Optional[str] = None
    train_file: Optional[str] = None
    dev_file: Optional[str] = None
    test_file: Optional[str] = None
    dynamic_padding: bool = True
    # Chosen by measurement (bench/README.md, "Length-aware training batches"). 1: shuffled
    # batches padded to their longest, so every batch keeps the label mix of uniform shuffling.
    # 8 pads SMS spam to ~35 tokens instead of ~72 (>3x the reference's speed) but its batches
    # are label-skewed when label follows length: 16-30 test errors against 6-14 fixed.
    length_chunk_batches: int = 1
    # Chosen by measurement (bench/README.md): each shuffled batch runs as 4 length-sorted
    # micro-batches, each padded to its own longest (SMS: ~35 tokens a row instead of ~72),
    # with the whole batch's loss and gradient. 1 runs the batch whole.
    train_micro_batches: int = 4
    # Adam's bias correction, which Google's AdamWeightDecayOptimizer leaves out.
    # None: the task family's default (`TaskFamily.adam_bias_correction`).
    adam_bias_correction: Optional[bool] = None
    # The sentence vector of sequence and multi-label heads, "cls" or "mean" (bert_runner/pooling.py).
    # None: the run's saved choice, else bert_config.json's `pooling`, else "cls" (the reference).
    pooling: Optional[str] = None
    cache_features: bool = True
    log_every_steps: int = 50
    keep_checkpoint_max: int = 5
    save_summary_steps: int = 100
    seed: Optional[int] = None
    fast_tokenizer: bool = False
    distribution_strategy: str = "none"
    num_gpus: int = 0
    virtual_cpu_devices: int = 0
    mixed_precision: bool = False
    xla: bool = False
    # Multi-label classification (`--task_name=multilabel|goemotions`): one threshold per label tuned on dev.
    tune_thresholds: bool = False
    # Token classification (`run_ner.py`).
    tag_scheme: str = "IOB2"
    doc_stride: Optional[int] = None

    @classmethod
    def from_flags(cls, flag_values) -> "RunOptions":
        values = flag_values.flag_values_dict()
        return cls(**{field.name: values[field.name] for field in dataclasses.fields(cls) if field.name in values})
