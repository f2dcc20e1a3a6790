"""Command-line flags of `run_classifier.py`.

Every flag of Google's reference `run_classifier.py` keeps its name and default
(so existing command lines keep working); the project's additions follow.
"""

from absl import flags

from bert_contract.model_config import POOLINGS

REFERENCE_FLAGS = (
    "data_dir bert_config_file task_name vocab_file output_dir init_checkpoint do_lower_case "
    "max_seq_length do_train do_eval do_predict train_batch_size eval_batch_size predict_batch_size "
    "learning_rate num_train_epochs warmup_proportion save_checkpoints_steps iterations_per_loop "
    "use_tpu tpu_name tpu_zone gcp_project master num_tpu_cores tpu_job_name preserve_unused_tokens"
).split()


def define_flags():
    """Defines the flags once (safe to call again)."""
    if "data_dir" in flags.FLAGS:
        return
    _reference_flags()
    _project_flags()


def _reference_flags():
    f = flags
    f.DEFINE_string("data_dir", None, "The input data dir. Should contain the .tsv files (or other data files) for the task.")
    f.DEFINE_string("bert_config_file", None, "The config json file corresponding to the pre-trained BERT model. This specifies the model architecture.")
    f.DEFINE_string("task_name", None, "The name of the task to train: cola, mnli, mrpc, xnli, or generic (your own TSV/CSV); multilabel (your own TSV/CSV, comma-separated label names) or goemotions (GoEmotions' files) for multi-label classification.")
    f.DEFINE_string("vocab_file", None, "The vocabulary file that the BERT model was trained on.")
    f.DEFINE_string("output_dir", None, "The output directory where the model checkpoints will be written.")
    f.DEFINE_string("init_checkpoint", None, "Initial checkpoint (usually from a pre-trained BERT model).")
    f.DEFINE_bool("do_lower_case", True, "Whether to lower case the input text. Should be True for uncased models and False for cased models.")
    f.DEFINE_integer("max_seq_length", 128, "The maximum total input sequence length after WordPiece tokenization. Sequences longer than this will be truncated, and sequences shorter than this will be padded.")
    f.DEFINE_bool("do_train", False, "Whether to run training.")
    f.DEFINE_bool("do_eval", False, "Whether to run eval on the dev set.")
    f.DEFINE_bool("do_predict", False, "Whether to run the model in inference mode on the test set.")
    f.DEFINE_integer("train_batch_size", 32, "Total batch size for training.")
    f.DEFINE_integer("eval_batch_size", 8, "Total batch size for eval.")
    f.DEFINE_integer("predict_batch_size", 8, "Total batch size for predict.")
    f.DEFINE_float("learning_rate", 5e-5, "The initial learning rate for Adam.")
    f.DEFINE_float("num_train_epochs", 3.0, "Total number of training epochs to perform.")
    f.DEFINE_float("warmup_proportion", 0.1, "Proportion of training to perform linear learning rate warmup for. E.g., 0.1 = 10% of training.")
    f.DEFINE_integer("save_checkpoints_steps", 1000, "How often to save the model checkpoint.")
    f.DEFINE_integer("iterations_per_loop", 1000, "How many steps to make in each estimator call.")
    f.DEFINE_bool("use_tpu", False, "Whether to use TPU or GPU/CPU.")
    f.DEFINE_string("tpu_name", None, "The Cloud TPU to use for training. This should be either the name used when creating the Cloud TPU, or a grpc://ip.address.of.tpu:8470 url.")
    f.DEFINE_string("tpu_zone", None, "[Optional] GCE zone where the Cloud TPU is located in.")
    f.DEFINE_string("gcp_project", None, "[Optional] Project name for the Cloud TPU-enabled project.")
    f.DEFINE_string("master", None, "[Optional] TensorFlow master URL.")
    f.DEFINE_integer("num_tpu_cores", 8, "Only used if `use_tpu` is True. Total number of TPU cores to use.")
    f.DEFINE_string("tpu_job_name", None, "Name of TPU worker, if anything other than 'tpu_worker'")
    # `preserve_unused_tokens` is defined by the reference tokenization module
    # itself (which imports TensorFlow); the featurizer rejects True.
    import bert.tokenization  # noqa: F401


def define_token_flags():
    """The flags only `run_ner.py` has (safe to call again)."""
    define_flags()
    if "tag_scheme" in flags.FLAGS:
        return
    flags.DEFINE_enum("tag_scheme", "IOB2", ["IOB2", "IOB1", "BIOES"], "Tag scheme of the CoNLL files; tags are converted to IOB2 for the model and back for test_predictions.conll.")
    flags.DEFINE_integer("doc_stride", None, "A sentence longer than max_seq_length - 2 WordPieces is cut into windows starting this many pieces apart (default: half a window); never truncated.")


def _project_flags():
    f = flags
    # Export for TF Serving.
    f.DEFINE_bool("do_export", False, "Export a SavedModel for TF Serving. Alone, it exports the latest checkpoint in --output_dir.")
    f.DEFINE_string("export_dir", None, "Where numbered SavedModel versions are written (default: <output_dir>/export).")
    f.DEFINE_string("export_checkpoint", None, "Checkpoint to export instead of the latest one in --output_dir.")
    f.DEFINE_bool("export_onnx", False, "With --do_export: also convert the export's serving_default to ONNX with tf2onnx, into <version>/onnx/ (model.onnx, model_info.json, vocab.txt) for the serverless handler's onnx backend.")
    f.DEFINE_bool("export_collapsed_model", False, "Export even if the dev evaluation (this run's, or eval_results.json in --output_dir at the exported step) found the model collapsed: one class for every dev example, or no right entity. Without it, --do_export refuses such a model.")
    f.DEFINE_bool("export_dynamic_seq_length", False, "Export with sequence dimension -1, so clients pad only to their longest text (default: fixed [-1, max_seq_length]).")
    # The generic task: your own TSV/CSV.
    f.DEFINE_string("text_column", "text", "generic task: header name of the text column.")
    f.DEFINE_string("text_b_column", "", "generic task: header name of the second text column, for sentence pairs.")
    f.DEFINE_string("label_column", "label", "generic task: header name of the label column.")
    f.DEFINE_list("labels", [], "generic task: the label list in id order (default: --labels_file, else the training labels, sorted).")
    f.DEFINE_string("labels_file", None, "generic task: a file with one label per line, in id order.")
    f.DEFINE_string("train_file", None, "generic task: training file (default: train.tsv or train.csv in --data_dir).")
    f.DEFINE_string("dev_file", None, "generic task: evaluation file (default: dev.tsv or dev.csv in --data_dir).")
    f.DEFINE_string("test_file", None, "generic task: prediction file (default: test.tsv or test.csv in --data_dir).")
    # Multi-label classification.
    f.DEFINE_bool("tune_thresholds", False, "multilabel/goemotions: with --do_eval, choose one decision threshold per label on dev (best F1 over 0.01..0.04 and 0.05..0.95 step 0.05), save it as thresholds.json and export it in the metadata; default: 0.5 for every label.")
    # Speed and bookkeeping.
    f.DEFINE_bool("dynamic_padding", True, "Pad each batch only to its longest example (off on TPU, which needs fixed shapes); see --length_chunk_batches.")
    f.DEFINE_integer("length_chunk_batches", 1, "With --dynamic_padding: cut training batches from chunks of this many batches sorted by length. 1 (default): shuffled batches, each with the label mix of uniform shuffling. More: less padding, and every this many steps still see a uniform random sample, but single batches hold similar lengths, so their labels are skewed when label follows length.")
    f.DEFINE_integer("train_micro_batches", 4, "Run each training batch as this many micro-batches of rows sorted by length, each padded only to its own longest, with shared weights and the whole batch's loss (same gradient and label mix, less padding); at most one per 8 rows of a device's batch. 1: run the batch whole. Off on TPU, which needs fixed shapes.")
    f.DEFINE_bool("adam_bias_correction", None, "Train with Adam's bias correction, which the reference's AdamWeightDecayOptimizer leaves out (its first ~100 steps are then 3-6x larger than Adam's); checkpoints are unchanged. Default: the task family's (on for run_ner.py, off for run_classifier.py).")
    f.DEFINE_enum("pooling", None, list(POOLINGS), "The sentence vector the classifier reads: cls, the pooled [CLS] as in the reference; mean, the mean of the token vectors, which sentence-transformers models such as all-MiniLM-L6-v2 are trained to give (their pooler is untrained). Default: the run's earlier choice, else bert_config.json's \"pooling\" (written by pretrained/), else cls. Not for run_ner.py.")
    f.DEFINE_bool("cache_features", True, "Reuse featurized TFRecords in <output_dir>/features while data and settings are unchanged.")
    f.DEFINE_integer("log_every_steps", 50, "How often training logs loss and examples/sec.")
    f.DEFINE_integer("keep_checkpoint_max", 5, "How many recent checkpoints to keep.")
    f.DEFINE_integer("save_summary_steps", 100, "How often the estimator writes TensorBoard summaries (loss, learning rate).")
    f.DEFINE_integer("seed", None, "Random seed for initialisation and shuffling (default: random).")
    f.DEFINE_bool("fast_tokenizer", False, "Tokenize ASCII text with the Rust `tokenizers` WordPiece (identical ids).")
    # More devices and processes (see bert_runner/distribute.py); TF_CONFIG selects multi-process training.
    f.DEFINE_enum("distribution_strategy", "none", ["none", "mirrored"], "mirrored: synchronous training on all local GPUs (or --num_gpus) with tf.distribute.MirroredStrategy; --train_batch_size stays the total batch.")
    f.DEFINE_integer("num_gpus", 0, "GPUs for --distribution_strategy=mirrored (0 = all visible).")
    f.DEFINE_integer("virtual_cpu_devices", 0, "Split the CPU into N devices for --distribution_strategy=mirrored (to try multi-device training without GPUs).")
    # GPU speed-ups; not tested on this project's CPU machines.
    f.DEFINE_bool("mixed_precision", False, "GPU: automatic mixed precision (float16 with loss scaling) through tf.train.experimental.enable_mixed_precision_graph_rewrite. Untested here (no GPU).")
    f.DEFINE_bool("xla", False, "Compile the graph with XLA (global JIT). Untested here (no GPU).")
