"""What `python -m pretrained export-hf` exports: a fine-tuned model, from an export or from a run.

An export version (`<export_dir>/<version>`, written by `--do_export`) carries what a client
needs: the labels in id order, the task kind, casing, `max_seq_length` and the vocab's bytes
in its `metadata` and `vocab` signatures (read as `--export_onnx` reads them), and the
weights in `variables/`. A run's `--output_dir` holds the checkpoints, `label_list.txt` and
`task_kind.txt`; the vocab, casing and length come from the flags `run_classifier.py` took.
Neither holds `bert_config.json` (heads, activation, architecture), so both need
`--bert_config_file`; every weight's shape is checked against it, and an export's graph
tells whether it computes the exact GELU (`gelu_exact`), which the config must say, and
which sentence vector its head reads (the run's `pooling.txt` tells for a run).
"""

import os
from typing import Dict, List, NamedTuple, Optional, Tuple

import numpy as np

from bert_contract import SEQUENCE_CLASSIFICATION, MetadataError, ModelInfo, bytes_sha256
from bert_contract.model_config import CLS_POOLING, GELU_EXACT, MEAN_POOLING, MEAN_POOLING_SCOPE
from pretrained.errors import ExportError
from pretrained.hf_config import read_json

SAVED_MODEL = "saved_model.pb"
# The first layer's feed-forward, whose ops show the activation the export computes.
FEED_FORWARD_SCOPE = "bert/encoder/layer_0/intermediate/"
# A SavedModel's variables are a checkpoint under this prefix.
SAVED_MODEL_VARIABLES = os.path.join("variables", "variables")


class TrainedModel(NamedTuple):
    checkpoint: str  # the checkpoint prefix the weights are read from
    bert_config: Dict[str, object]
    bert_config_file: str
    info: ModelInfo  # labels in id order, task kind, casing, max_seq_length
    vocab_bytes: bytes
    pooling: str = CLS_POOLING  # the sentence vector the head reads (bert_contract.model_config)


def from_export(export_dir: str, bert_config_file: str) -> TrainedModel:
    """An export version, or the newest numeric version in an export directory."""
    from bert_runner.errors import RunnerError
    from export.onnx import contract_of

    version = _version_dir(export_dir)
    try:
        info, vocab_bytes = contract_of(version)
    except RunnerError as e:
        raise ExportError(str(e)) from None
    except Exception as e:  # TensorFlow's loader: a broken or foreign SavedModel
        raise ExportError("--export_dir=%s: cannot load the SavedModel: %s" % (version, str(e).splitlines()[0]))
    config = read_json(bert_config_file)
    nodes = _graph_nodes(version)
    _check_activation(nodes, config, bert_config_file)
    # The graph, not the config, tells: `--pooling` may have overridden the config's field.
    pooling = MEAN_POOLING if any("%s/" % MEAN_POOLING_SCOPE in node.name for node in nodes) else CLS_POOLING
    return TrainedModel(os.path.join(version, SAVED_MODEL_VARIABLES), config, bert_config_file, info, vocab_bytes,
                        pooling)


def _graph_nodes(version: str) -> List:
    from tensorflow.core.protobuf import saved_model_pb2

    saved = saved_model_pb2.SavedModel()
    with open(os.path.join(version, SAVED_MODEL), "rb") as f:
        saved.ParseFromString(f.read())
    return [node for graph in saved.meta_graphs for node in graph.graph_def.node]


def _check_activation(graph_nodes: List, config: Dict[str, object], bert_config_file: str) -> None:
    """The export's graph computes the exact GELU (bert_runner.gelu's `gelu_exact` scope, or an Erf op in exports
    written before it) in the first layer's feed-forward exactly when the config says `gelu_exact`: weights fit
    both GELUs, and the wrong one would drift by ~1e-3 unnoticed."""
    nodes = [node for node in graph_nodes if node.name.startswith(FEED_FORWARD_SCOPE)]
    if not nodes:
        return  # not a graph bert_runner built: nothing to compare
    exact_in_graph = any(node.op == "Erf" or "/%s/" % GELU_EXACT in node.name for node in nodes)
    activation = config.get("hidden_act", "gelu")
    if exact_in_graph != (activation == GELU_EXACT):
        raise ExportError("--bert_config_file=%s says hidden_act %r, but the export computes %s: pass the config the "
                          "model was trained with" % (bert_config_file, activation,
                                                      "the exact (erf) GELU, gelu_exact" if exact_in_graph
                                                      else "no exact (erf) GELU"))


def from_run(output_dir: str, bert_config_file: str, vocab_file: Optional[str], do_lower_case: bool,
             max_seq_length: int, checkpoint: Optional[str] = None) -> TrainedModel:
    """A run directory's latest (or the given) checkpoint, with the run's saved labels and task kind."""
    import tensorflow.compat.v1 as tf

    from bert_runner import labels
    from bert_runner.pooling import run_pooling

    if not vocab_file:
        raise ExportError("--output_dir needs --vocab_file (the vocab the run was trained with)")
    saved = labels.saved_labels(output_dir)
    if not saved:
        raise ExportError("--output_dir=%s has no %s: not a run directory of run_classifier.py or run_ner.py"
                          % (output_dir, labels.LABELS_FILE))
    prefix = checkpoint or tf.train.latest_checkpoint(output_dir)
    if not prefix:
        raise ExportError("--output_dir=%s holds no checkpoint" % output_dir)
    try:
        with open(vocab_file, "rb") as f:
            vocab_bytes = f.read()
    except OSError as e:
        raise ExportError("--vocab_file=%s: cannot read: %s" % (vocab_file, e.strerror or e)) from None
    kind = labels.saved_run_kind(output_dir, SEQUENCE_CLASSIFICATION)
    info = ModelInfo(labels=saved, vocab_sha256=bytes_sha256(vocab_bytes), do_lower_case=do_lower_case,
                     max_seq_length=max_seq_length, task_kind=kind,
                     thresholds=_saved_thresholds(output_dir, saved, prefix))
    # The run's own (bert_runner/pooling.py), not the config's: --pooling may have overridden it.
    return TrainedModel(prefix, read_json(bert_config_file), bert_config_file, info, vocab_bytes,
                        run_pooling(output_dir) or CLS_POOLING)


def _saved_thresholds(output_dir: str, labels: List[str], checkpoint: str) -> List[float]:
    """The thresholds a multi-label run tuned (thresholds.json) for this checkpoint; [] when it has none."""
    from bert_runner.multi_label import THRESHOLDS_FILE

    path = os.path.join(output_dir, THRESHOLDS_FILE)
    if not os.path.isfile(path):
        return []
    saved = read_json(path)
    step = checkpoint.rsplit("-", 1)[-1]
    if saved.get("labels") != labels or str(saved.get("global_step")) != step:
        raise ExportError("%s was tuned for labels %s at step %s, not for %s (labels %s): export the run's export "
                          "directory, or tune again with --do_eval --tune_thresholds"
                          % (path, saved.get("labels"), saved.get("global_step"), checkpoint, labels))
    return [float(t) for t in saved["thresholds"]]


def check_flags(model: TrainedModel, vocab_file: Optional[str], do_lower_case: Optional[bool],
                max_seq_length: Optional[int]) -> None:
    """With an export, flags given anyway (e.g. pasted from `pretrained fetch`) must describe it."""
    try:
        vocab_sha256 = model.info.vocab_sha256
        if vocab_file:
            with open(vocab_file, "rb") as f:
                vocab_sha256 = bytes_sha256(f.read())
        lower = model.info.do_lower_case if do_lower_case is None else do_lower_case
        model.info.check_featurizer(vocab_sha256, lower, max_seq_length)
    except (MetadataError, OSError) as e:
        raise ExportError("--export_dir: %s" % e) from None


def read_weights(model: TrainedModel, shapes: Dict[str, Tuple[int, ...]]) -> Dict[str, np.ndarray]:
    """The named variables of the model's checkpoint, each checked against the shape the config gives it."""
    import tensorflow.compat.v1 as tf

    try:
        reader = tf.train.load_checkpoint(model.checkpoint)
    except Exception as e:  # NotFoundError, DataLossError, ...
        raise ExportError("cannot read the checkpoint %s: %s" % (model.checkpoint, str(e).splitlines()[0]))
    stored = reader.get_variable_to_shape_map()
    missing = [name for name in shapes if name not in stored]
    if missing:
        raise ExportError("%s lacks %d variable(s) a %s with --bert_config_file=%s has: %s"
                          % (model.checkpoint, len(missing), model.info.task_kind.replace("_", " "),
                             model.bert_config_file, ", ".join(missing[:5])))
    wrong = ["%s is %s, not %s" % (name, list(stored[name]), list(shape))
             for name, shape in shapes.items() if tuple(stored[name]) != tuple(shape)]
    if wrong:
        raise ExportError("%s does not fit --bert_config_file=%s and its %d labels: %s"
                          % (model.checkpoint, model.bert_config_file, len(model.info.labels), "; ".join(wrong[:5])))
    return {name: reader.get_tensor(name) for name in shapes}


def _version_dir(export_dir: str) -> str:
    if os.path.isfile(os.path.join(export_dir, SAVED_MODEL)):
        return export_dir
    versions = sorted((int(name) for name in _listdir(export_dir) if name.isdigit()
                       and os.path.isfile(os.path.join(export_dir, name, SAVED_MODEL))), reverse=True)
    if not versions:
        raise ExportError("--export_dir=%s holds no %s and no numeric version directory with one"
                          % (export_dir, SAVED_MODEL))
    return os.path.join(export_dir, str(versions[0]))


def _listdir(path: str):
    try:
        return os.listdir(path)
    except OSError as e:
        raise ExportError("--export_dir=%s: %s" % (path, e.strerror or e)) from None
