"""Token tagging for named entity recognition: tag schemes, entity spans, strict metrics, CoNLL files.

TensorFlow-free and dependency-free, shared by training (`bert_runner`), the
client (`serving_client`) and the benchmarks. Tags are IOB2 inside the
project; IOB1 and BIOES are converted on reading and back on writing.
"""

from tagging.conll import Sentence, check_known_tags, format_predictions, given_tags, read_conll, split_path, training_tags
from tagging.errors import TaggingError
from tagging.metrics import entity_scores, format_report
from tagging.schemes import (
    BIOES,
    IOB1,
    IOB2,
    OUTSIDE,
    SCHEMES,
    Entity,
    check_scheme,
    entities,
    from_iob2,
    repair,
    split_tag,
    tag_list,
    to_iob2,
)

__all__ = [
    "BIOES",
    "Entity",
    "IOB1",
    "IOB2",
    "OUTSIDE",
    "SCHEMES",
    "Sentence",
    "TaggingError",
    "check_known_tags",
    "check_scheme",
    "entities",
    "entity_scores",
    "format_predictions",
    "format_report",
    "from_iob2",
    "given_tags",
    "read_conll",
    "repair",
    "split_path",
    "split_tag",
    "tag_list",
    "to_iob2",
    "training_tags",
]
