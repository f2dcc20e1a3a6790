"""A fine-tuned model of this pipeline -> a Hugging Face `save_pretrained` directory (the import's inverse).

Writes, into a private directory renamed to `hf_dir` when complete:

* `config.json`: `model_type`, `architectures` (the class `hf_heads.HEAD_CLASSES` names for the
  task kind), the sizes and activation (`hf_config.hf_config_from_bert`), `id2label`/`label2id`
  in the model's label order, `problem_type` where the class has one, and a multi-label
  model's tuned `thresholds` ({label: probability}; the import restores them);
* `model.safetensors` in PyTorch layout (`format: pt`, Linear weights [out, in]; names from
  `layout.hf_name_for`), which `from_pretrained` loads without `from_tf` and the TF classes
  load without PyTorch. BERT token classifiers have no pooler in `transformers`, so theirs
  (never trained: the tagger does not read it) is left out;
* the tokenizer (`hf_tokenizer.write_tokenizer`): vocab.txt, tokenizer_config.json with the
  casing and `model_max_length` = `max_seq_length`, special tokens, tokenizer.json.

What `transformers` has no class for is refused with one line before anything is written,
such as a classifier that reads the mean of the token vectors (`--pooling=mean`): its
sequence classes read the pooled first token.
"""

import json
import logging
import os
import shutil
import tempfile
from typing import Dict

import numpy as np

from bert_contract import DEFAULT_THRESHOLD
from bert_contract.model_config import ARCHITECTURE_FIELD, BERT, MEAN_POOLING
from pretrained import hf_heads, hf_tokenizer, layout
from pretrained.errors import ExportError
from pretrained.hf_config import hf_config_from_bert
from pretrained.hf_weights import SAFETENSORS
from pretrained.trained_model import TrainedModel, read_weights

logger = logging.getLogger(__name__)

HF_CONFIG = "config.json"
PAD_TOKEN = hf_tokenizer.SPECIAL_TOKENS["pad_token"]


def export_hf(model: TrainedModel, hf_dir: str, force: bool = False) -> Dict[str, object]:
    """Writes `hf_dir` (replacing it only with `force`); returns what was written."""
    if os.path.exists(hf_dir) and not force and os.listdir(hf_dir):
        raise ExportError("--hf_dir=%s exists and is not empty (add --force to replace it)" % hf_dir)
    info, config = model.info, model.bert_config
    architecture = config.get(ARCHITECTURE_FIELD) or BERT
    if architecture not in hf_heads.CLASS_PREFIXES:
        raise ExportError("%s: architecture %r has no Hugging Face class" % (model.bert_config_file, architecture))
    class_name, head = hf_heads.hf_head(info.task_kind, architecture)
    if model.pooling == MEAN_POOLING and head.pooled:
        raise ExportError("%s: the classifier reads the mean of the token vectors (pooling mean), and Hugging Face's "
                          "%s reads the first token: fine-tune with --pooling=cls to export to Hugging Face"
                          % (model.checkpoint, class_name))
    hf_config = hf_config_from_bert(config, model.bert_config_file)
    shapes = layout.expected_variables(config, info.task_kind, len(info.labels))
    weights = read_weights(model, shapes)
    dropped = [name for name in (layout.POOLER_KERNEL, layout.POOLER_BIAS) if name in weights and not head.pooler]
    tensors = {}
    for tf_name, value in weights.items():
        if tf_name not in dropped:
            hf_name, transpose = layout.hf_name_for(tf_name, layout.is_distilbert(config))
            tensors[hf_name] = np.ascontiguousarray(value.T if transpose else value, dtype=np.float32)

    parent = os.path.dirname(os.path.abspath(hf_dir))
    os.makedirs(parent, exist_ok=True)
    private = tempfile.mkdtemp(prefix=".export-hf-", dir=parent)
    try:
        files = hf_tokenizer.write_tokenizer(private, model.vocab_bytes, info.do_lower_case, info.max_seq_length,
                                             hf_heads.CLASS_PREFIXES[architecture] + "Tokenizer")
        hf_config.update(
            architectures=[class_name],
            id2label={str(i): label for i, label in enumerate(info.labels)},
            label2id={label: i for i, label in enumerate(info.labels)},
            pad_token_id=_token_id(os.path.join(private, hf_tokenizer.VOCAB), PAD_TOKEN),
            torch_dtype="float32",
        )
        if head.problem_type:
            hf_config["problem_type"] = head.problem_type
        if any(t != DEFAULT_THRESHOLD for t in info.thresholds):  # tuned (multi-label); transformers keeps the field
            hf_config["thresholds"] = dict(zip(info.labels, info.thresholds))
        with open(os.path.join(private, HF_CONFIG), "w", encoding="utf-8") as f:
            json.dump(hf_config, f, indent=2, sort_keys=True, ensure_ascii=False)
            f.write("\n")
        _save_safetensors(tensors, os.path.join(private, SAFETENSORS))
        if os.path.exists(hf_dir):
            shutil.rmtree(hf_dir)
        os.rename(private, hf_dir)
    finally:
        shutil.rmtree(private, ignore_errors=True)
    if dropped:
        logger.info("left out %s: %s has no pooler", ", ".join(dropped), class_name)
    logger.info("wrote %s (%s, %d labels, %d tensors) from %s", hf_dir, class_name, len(info.labels), len(tensors),
                model.checkpoint)
    return {"hf_dir": os.path.abspath(hf_dir), "architecture": class_name, "labels": list(info.labels),
            "problem_type": head.problem_type, "tensors": len(tensors), "dropped": dropped,
            "files": sorted(files + [HF_CONFIG, SAFETENSORS])}


def _save_safetensors(tensors: Dict[str, np.ndarray], path: str) -> None:
    from safetensors.numpy import save_file

    save_file(tensors, path, metadata={"format": "pt"})  # PyTorch layout: what from_pretrained expects


def _token_id(vocab_file: str, token: str) -> int:
    from featurizer import load_vocab

    vocab = load_vocab(vocab_file)
    if token not in vocab:
        raise ExportError("the model's vocab has no %s token" % token)
    return vocab[token]
