"""Token classification (named entity recognition): one IOB2 tag per word, `run_ner.py`'s family.

Reading: CoNLL files (`tagging.conll`; IOB1/BIOES converted to IOB2). A
sentence becomes one record per window of WordPieces (`--doc_stride` apart,
never truncated); the first piece of each word carries its tag, every other
position has label weight 0 (no `X` class). The head is a linear layer per
token with a softmax; the export answers `[-1, L, num_tags]` probabilities.
Evaluation and predictions read each word from the window where it has most
context and score entities strictly (`tagging.metrics`, equal to seqeval's
strict IOB2 mode) after the same repair the client applies.
"""

import json
import logging
import os
from typing import Dict, Iterator, List, Optional, Sequence

import tensorflow.compat.v1 as tf

from bert_contract import INPUT_IDS, INPUT_MASK, LABEL_IDS, SEGMENT_IDS, TOKEN_CLASSIFICATION
from bert_runner import results
from bert_runner.classification import output_layer
from bert_runner.errors import RunnerError
from bert_runner.family import Head, TaskFamily
from bert_runner.labels import read_labels_file, saved_labels
from bert_runner.label_spec import PER_TOKEN
from bert_runner.records import IS_REAL_EXAMPLE
from bert_runner.tasks import Task
from featurizer import FeaturizerError
from featurizer.offsets import normalized_words
from tagging import (
    IOB2,
    Sentence,
    TaggingError,
    check_known_tags,
    check_scheme,
    entity_scores,
    format_predictions,
    format_report,
    given_tags,
    read_conll,
    split_path,
    training_tags,
)
from tagging.decode import decode, word_probabilities, word_tags

log = logging.getLogger("bert_runner")

# Per-token record feature: 1 where a word's first piece carries its tag.
LABEL_WEIGHTS = "label_weights"
PREDICTIONS_FILE = "test_predictions.conll"
ENTITIES_FILE = "test_entities.jsonl"
_WARMUP_FALLBACK = "Ada Lovelace visited London"


def doc_stride(options) -> int:
    """`--doc_stride`, by default half a window (a window holds max_seq_length - 2 pieces)."""
    stride = getattr(options, "doc_stride", None)
    if stride is None:
        return max(1, (options.max_seq_length - 2) // 2)
    if stride < 1:
        raise RunnerError("--doc_stride=%d must be at least 1" % stride)
    return stride


class ConllTask(Task):
    """train/dev/test CoNLL files in --data_dir (or --train_file/--dev_file/--test_file)."""

    name = "ner"

    def __init__(self, data_dir: str, scheme: str = IOB2, labels: Optional[List[str]] = None, labels_source: str = "",
                 files: Optional[Dict[str, str]] = None):
        super().__init__(data_dir)
        self.scheme = scheme
        self._given = list(labels) if labels else None
        self._labels_source = labels_source
        self._files = dict(files or {})
        self._read = {}  # type: Dict[str, List[Sentence]]

    def split_path(self, split):
        try:
            return split_path(self.data_dir, split, self._files.get(split))
        except TaggingError as e:
            raise RunnerError("--data_dir: %s" % e)

    def _read_split(self, split: str) -> List[Sentence]:
        if split not in self._read:
            try:
                self._read[split] = read_conll(self.split_path(split), self.scheme)
            except TaggingError as e:
                raise RunnerError(str(e))
        return self._read[split]

    def get_examples(self, split):
        return self._read_split(split)  # never empty: read_conll refuses an empty file

    def get_labels(self):
        """IOB2 tags: given (--labels, --labels_file, the run's label_list.txt), else the training data's."""
        try:
            if self._given is not None:
                return given_tags(self._given, self.scheme, self._labels_source)
        except TaggingError as e:
            raise RunnerError(str(e))
        return training_tags(self._read_split("train"))


class TokenClassification(TaskFamily):
    kind = TOKEN_CLASSIFICATION
    command = "run_ner.py"  # its own flags (--tag_scheme, --doc_stride): no run_classifier.py task name
    label = PER_TOKEN
    reads_sentence_vector = False  # every token's vector: --pooling does not apply
    extra_sequences = (LABEL_WEIGHTS,)
    eval_uses_predictions = True
    splits_into_micro_batches = True
    # Chosen by measurement (bench/README.md, "Collapsed NER seeds"): without Adam's bias
    # correction the first ~100 steps are 3-6x larger than Adam's, and at lr 1e-4 some WNUT-17
    # seeds fell into an all-O tagger whose gradients vanish.
    adam_bias_correction = True

    def __init__(self) -> None:
        self.options = None

    # reading
    def make_task(self, options) -> Task:
        self.options = options
        try:
            scheme = check_scheme(getattr(options, "tag_scheme", IOB2))
        except TaggingError as e:
            raise RunnerError("--tag_scheme: %s" % e)
        doc_stride(options)
        labels, source = options.labels, "--labels"
        if options.labels_file and not labels:
            labels, source = read_labels_file(options.labels_file, "--labels_file"), "--labels_file=%s" % options.labels_file
        if not labels:
            # The tags a checkpoint in --output_dir was trained with are IOB2, whatever the data's scheme.
            saved = saved_labels(options.output_dir)
            labels, source = (saved, "label_list.txt in --output_dir") if saved else (None, "")
        return ConllTask(
            options.data_dir, scheme, labels, source,
            files={"train": options.train_file, "dev": options.dev_file, "test": options.test_file},
        )

    def check_examples(self, examples: Sequence[Sentence], labels):
        try:
            check_known_tags(examples, labels)
        except TaggingError as e:
            raise RunnerError(str(e))
        lower = self.options.do_lower_case if self.options is not None else True
        for sentence in examples:
            if not any(normalized_words(word, lower) for word in sentence.words):
                raise RunnerError(
                    "%s: the sentence has no token the tokenizer keeps (only control, format or combining characters)"
                    % sentence.where()
                )

    def warmup_texts(self, examples):
        return [" ".join(s.words) for s in examples[:8]] or [_WARMUP_FALLBACK]

    def cache_options(self, options):
        return {"task": "ner", "scheme": getattr(options, "tag_scheme", IOB2), "doc_stride": doc_stride(options)}

    def metadata(self, options):
        return {"tag_scheme": IOB2, "doc_stride": doc_stride(options)}

    # features: one record per window; the first piece of each word carries its tag
    def encode(self, featurizer, examples, labels):
        tag_ids = {tag: i for i, tag in enumerate(labels)}
        stride = doc_stride(self.options)
        records = []
        for sentence in examples:
            windowed = _windows(featurizer, sentence, stride)
            for index, encoded in enumerate(windowed.encoded):
                label_ids = [0] * len(encoded.input_ids)
                weights = [0] * len(encoded.input_ids)
                for position, word in windowed.labelled_positions(index):
                    label_ids[position] = tag_ids[sentence.tags[word]]
                    weights[position] = 1
                records.append({INPUT_IDS: encoded.input_ids, SEGMENT_IDS: encoded.segment_ids,
                                LABEL_IDS: label_ids, LABEL_WEIGHTS: weights})
        return records

    # model: dropout -> linear per token -> softmax; loss only where a word starts
    def head(self, encoder, features, num_labels, is_training):
        sequence = encoder.get_sequence_output()
        output_weights, output_bias = output_layer(num_labels, sequence.shape[-1].value)
        with tf.variable_scope("tagger"):
            if is_training:
                sequence = tf.nn.dropout(sequence, rate=0.1)
            logits = tf.nn.bias_add(tf.einsum("bld,td->blt", sequence, output_weights), output_bias)
            probabilities = tf.nn.softmax(logits, axis=-1)
            label_ids = features[LABEL_IDS]
            # Served requests carry no weights; their loss is never used.
            weights = tf.cast(features.get(LABEL_WEIGHTS, features[INPUT_MASK]), tf.float32)
            weights *= features[IS_REAL_EXAMPLE][:, None]
            per_token_loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=label_ids, logits=logits)
            loss = tf.reduce_sum(per_token_loss * weights) / tf.maximum(tf.reduce_sum(weights), 1.0)
        return Head(
            loss=loss,
            metric_inputs={"per_token_loss": per_token_loss, "label_ids": label_ids, "logits": logits, "weights": weights},
            predictions={"probabilities": probabilities},
            output=probabilities,
            loss_weight=tf.reduce_sum(weights),  # a mean over the label-weighted tokens
        )

    def eval_metrics(self, num_labels, per_token_loss, label_ids, logits, weights):
        predicted = tf.argmax(logits, axis=-1, output_type=tf.int32)
        return {
            "eval_accuracy": tf.metrics.accuracy(label_ids, predicted, weights=weights),
            "eval_loss": tf.metrics.mean(per_token_loss, weights=weights),
        }

    # outputs
    def write_eval(self, plan, result, predictions=None):
        sentences = plan.examples["dev"]
        predicted = [tags for tags, _ in _decode_sentences(plan, sentences, predictions)]
        report = entity_scores([s.tags for s in sentences], predicted)
        report.update(
            loss=float(result["eval_loss"]),
            token_accuracy=float(result["eval_accuracy"]),
            global_step=int(result["global_step"]),
            data_file=plan.task.split_path("dev"),
            num_sentences=len(sentences),
        )
        micro = report["micro"]
        # The reference's "key = value" lines (its scalars plus the entity scores), then the per-type table.
        scalars = dict(result, entity_precision=micro["precision"], entity_recall=micro["recall"],
                       entity_f1=micro["f1"], entity_macro_f1=report["macro"]["f1"])
        text = "".join("%s = %s\n" % (key, scalars[key]) for key in sorted(scalars)) + "\n" + format_report(report) + "\n"
        output_dir = plan.options.output_dir
        results.write_text(os.path.join(output_dir, "eval_results.txt"), text)
        results.write_json(os.path.join(output_dir, "eval_results.json"), report)
        log.info("eval: entity F1 %.4f (P %.4f, R %.4f) over %d sentences, loss %.4f\n%s",
                 micro["f1"], micro["precision"], micro["recall"], len(sentences), report["loss"], format_report(report))
        return report

    def collapse_reason(self, report):
        """No entity predicted (every word `O`), or none right: dev entity F1 0 while dev has entities."""
        micro = report["micro"]
        if not micro["support"]:
            return None
        if not micro["predicted"]:
            return "every dev word is tagged O (no entity predicted; the %d dev sentences hold %d)" % (
                report["num_sentences"], micro["support"])
        if not micro["correct"]:
            return "dev entity F1 is 0 (none of the %d predicted entities matches one of the %d in dev)" % (
                micro["predicted"], micro["support"])
        return None

    def write_predictions(self, plan, predictions, record_file):
        sentences = plan.examples["test"]
        scheme = plan.task.scheme
        conll, spans, predicted = [], [], []
        for sentence, (tags, entities) in zip(sentences, _decode_sentences(plan, sentences, predictions)):
            predicted.append(tags)
            conll.append(format_predictions(sentence, tags, scheme))
            record = {"text": " ".join(sentence.words), "line": sentence.lines[0],
                      "entities": [e.to_dict() for e in entities]}
            spans.append(json.dumps(record, ensure_ascii=False) + "\n")
        output_dir = plan.options.output_dir
        conll_path = os.path.join(output_dir, PREDICTIONS_FILE)
        spans_path = os.path.join(output_dir, ENTITIES_FILE)
        results.write_text(conll_path, "".join(conll))
        results.write_text(spans_path, "".join(spans))
        report = entity_scores([s.tags for s in sentences], predicted)
        log.info("predictions for %d sentences: %s and %s (entity F1 against the file's tags %.4f)",
                 len(sentences), conll_path, spans_path, report["micro"]["f1"])
        return {"num_examples": len(sentences), "predictions_file": conll_path, "entities_file": spans_path,
                "entity_f1": report["micro"]["f1"]}


def _windows(featurizer, sentence: Sentence, stride: int):
    try:
        return featurizer.encode_windows(featurizer.word_pieces(sentence.words), stride)
    except FeaturizerError as e:
        raise RunnerError("%s: %s" % (sentence.where(), e))


def _decode_sentences(plan, sentences: Sequence[Sentence], predictions) -> Iterator:
    """(repaired IOB2 tags, entity spans in " ".join(words)) per sentence, from its windows' predictions."""
    stride = doc_stride(plan.options)
    stream = iter(predictions)
    for sentence in sentences:
        windowed = _windows(plan.featurizer, sentence, stride)
        try:
            outputs = [next(stream)["probabilities"] for _ in windowed.encoded]
        except StopIteration:
            raise RunnerError("the model answered fewer windows than %s has" % sentence.path)
        probabilities = word_probabilities(windowed, outputs)
        yield word_tags(probabilities, plan.labels), decode(" ".join(sentence.words), windowed, outputs, plan.labels)

