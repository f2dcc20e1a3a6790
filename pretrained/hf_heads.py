"""Which head a Hugging Face checkpoint carries (from `architectures`), and its label list; and back.

Supported: no head (`BertModel`, `DistilBertModel` and the pre-training / masked-LM
classes, whose LM heads are dropped), `*ForSequenceClassification` with
`problem_type` single-label classification (softmax), and `*ForTokenClassification`
with IOB2 tags in `id2label` (the NER family's tag order is O, then B-/I- per type, so
the output rows are permuted into it), and `*ForSequenceClassification` with `problem_type`
multi-label classification (one sigmoid per label; the run_classifier.py family
`--task_name=multilabel`, with the per-label decision thresholds the export writes). `HEAD_CLASSES` is the one table between task
kinds and Hugging Face classes: the import reads it class -> kind, the export
(`hf_export.py`) kind -> class.
"""

import collections
from typing import Dict, List, NamedTuple, Optional, Tuple

from bert_contract import MULTI_LABEL_CLASSIFICATION, SEQUENCE_CLASSIFICATION, TOKEN_CLASSIFICATION
from bert_contract.model_config import BERT, DISTILBERT
from pretrained.errors import ConversionError, ExportError

ENCODER_ONLY = ("BertModel", "BertForPreTraining", "BertForMaskedLM", "BertLMHeadModel",
                "DistilBertModel", "DistilBertForMaskedLM")


class HFHead(NamedTuple):
    """How `transformers` computes one task kind."""

    suffix: str  # the class is CLASS_PREFIXES[architecture] + suffix
    problem_type: Optional[str]  # config.json's problem_type (None: transformers has none for the class)
    pooler: bool  # whether the BERT class has a pooler (BertForTokenClassification has none)
    pooled: bool  # the output layer reads the pooled first token (else every token's: IOB2 tags)
    task_name: Optional[str]  # the --task_name that exports an imported run (None: the command's default)
    min_labels: int  # a softmax needs two labels to choose between; a sigmoid per label needs one


# task kind -> Hugging Face head. The first row of a class is what it computes without a problem_type.
HEAD_CLASSES = collections.OrderedDict([
    (SEQUENCE_CLASSIFICATION, HFHead("ForSequenceClassification", "single_label_classification", True, True,
                                                "generic", 2)),
    (TOKEN_CLASSIFICATION, HFHead("ForTokenClassification", None, False, False, None, 2)),
    (MULTI_LABEL_CLASSIFICATION, HFHead("ForSequenceClassification", "multi_label_classification", True, True,
                                        "multilabel", 1)),
])
CLASS_PREFIXES = collections.OrderedDict([(BERT, "Bert"), (DISTILBERT, "DistilBert")])
HEADS = {prefix + head.suffix: head.suffix for prefix in CLASS_PREFIXES.values() for head in HEAD_CLASSES.values()}
# Tensors of pre-training heads an encoder-only import drops (BERT's `cls.*`, DistilBERT's MLM head).
PRETRAINING_HEAD_PREFIXES = ("cls.", "vocab_transform.", "vocab_layer_norm.", "vocab_projector.")


def hf_head(kind: str, architecture: str) -> Tuple[str, HFHead]:
    """(the Hugging Face class name, its head) for a task kind; ExportError for a kind transformers lacks."""
    if kind not in HEAD_CLASSES:
        raise ExportError("task kind %r has no Hugging Face class (exportable: %s)"
                          % (kind, ", ".join(HEAD_CLASSES)))
    head = HEAD_CLASSES[kind]
    return CLASS_PREFIXES[architecture] + head.suffix, head


def _kind_of(suffix: str, problem_type: Optional[str], source: str) -> str:
    """The task kind of a head class and problem_type (absent: the class's first row)."""
    rows = [(kind, head) for kind, head in HEAD_CLASSES.items() if head.suffix == suffix]
    if rows[0][1].problem_type is None:  # transformers ignores problem_type for this class
        return rows[0][0]
    if problem_type is None:
        return rows[0][0]
    for kind, head in rows:
        if head.problem_type == problem_type:
            return kind
    raise ConversionError("%s: problem_type %r is not supported (supported: %s)"
                          % (source, problem_type, ", ".join(head.problem_type for _, head in rows)))


class Head(NamedTuple):
    kind: Optional[str]  # None: encoder only
    labels: List[str]  # in the order the project's model predicts them
    row_order: Optional[List[int]]  # Hugging Face output ids in that order (None: unchanged)
    thresholds: List[float] = []  # per label, from config.json's `thresholds` (written by export-hf)


def head_from_config(hf: Dict, source: str, encoder_only: bool = False) -> Head:
    architectures = hf.get("architectures") or []
    if encoder_only or not architectures:
        return Head(None, [], None)
    if len(architectures) != 1:
        raise ConversionError("%s: architectures %s: expected one" % (source, architectures))
    name = architectures[0]
    tf_name = name[2:] if name.startswith("TF") else name
    if tf_name in ENCODER_ONLY:
        return Head(None, [], None)
    if tf_name not in HEADS:
        raise ConversionError(
            "%s: architecture %s is not supported (heads: %s; or import the encoder alone with --encoder_only)"
            % (source, name, ", ".join(sorted(HEADS)))
        )
    labels = _id2label(hf, source)
    problem_type = hf.get("problem_type")
    if HEADS[tf_name] == HEAD_CLASSES[SEQUENCE_CLASSIFICATION].suffix and problem_type is None and len(labels) == 1:
        problem_type = "regression"  # what transformers does with num_labels 1
    kind = _kind_of(HEADS[tf_name], problem_type, source)
    if not HEAD_CLASSES[kind].pooled:
        return _token_head(kind, labels, source)
    if len(labels) < HEAD_CLASSES[kind].min_labels:
        raise ConversionError("%s: a %s classifier needs at least %d labels in id2label, got %s"
                              % (source, problem_type or HEAD_CLASSES[kind].problem_type,
                                 HEAD_CLASSES[kind].min_labels, labels))
    return Head(kind, labels, None, _thresholds(hf, labels, source))


def _thresholds(hf: Dict, labels: List[str], source: str) -> List[float]:
    """config.json's `thresholds` ({label: probability}, as export-hf writes them) in label order; [] without."""
    given = hf.get("thresholds")
    if given is None:
        return []
    if (not isinstance(given, dict) or sorted(given) != sorted(labels)
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 1 for v in given.values())):
        raise ConversionError("%s: thresholds must give every label of id2label a probability in [0, 1], got %r"
                              % (source, given))
    return [float(given[label]) for label in labels]


def _id2label(hf: Dict, source: str) -> List[str]:
    id2label = hf.get("id2label")
    if not isinstance(id2label, dict) or not id2label:
        count = hf.get("num_labels", 2)
        return ["LABEL_%d" % i for i in range(count)]
    try:
        by_id = {int(key): str(value) for key, value in id2label.items()}
    except ValueError:
        raise ConversionError("%s: id2label keys must be integers, got %s" % (source, sorted(id2label))) from None
    if sorted(by_id) != list(range(len(by_id))):
        raise ConversionError("%s: id2label ids must be 0..%d, got %s" % (source, len(by_id) - 1, sorted(by_id)))
    labels = [by_id[i] for i in range(len(by_id))]
    duplicates = sorted({label for label in labels if labels.count(label) > 1})
    if duplicates:
        raise ConversionError("%s: id2label names %s more than once" % (source, ", ".join(duplicates)))
    return labels


def _token_head(kind: str, labels: List[str], source: str) -> Head:
    from tagging import IOB2, TaggingError, given_tags

    try:
        tags = given_tags(labels, IOB2, "%s: id2label" % source)
    except TaggingError as e:
        raise ConversionError("%s (token classification needs IOB2 tags: O, B-type, I-type)" % e) from None
    missing = [tag for tag in tags if tag not in labels]
    if missing:
        raise ConversionError("%s: id2label lacks the tag(s) %s (the NER family predicts O and both B- and I- of "
                              "every type)" % (source, ", ".join(missing)))
    return Head(kind, tags, [labels.index(tag) for tag in tags])
