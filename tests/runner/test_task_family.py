"""A second task family plugs into the runner and reuses everything but its own steps.

The family here tags each WordPiece of the tiny sentiment data as a keyword
(`KEY`: a word that decides the sentiment) or not (`O`). It defines only what
`bert_runner/family.py` asks for; records, caching, the estimator, training,
export, warm-up and metadata are the runner's.
"""

import json
import os

import numpy as np
import pytest

import tiny_bert

pytestmark = pytest.mark.needs_tf

TAGS = ["O", "KEY"]
LABEL_WEIGHTS = "label_weights"


def keyword_family():
    import tensorflow.compat.v1 as tf

    from bert_contract import INPUT_IDS, INPUT_MASK, LABEL_IDS, SEGMENT_IDS, TOKEN_CLASSIFICATION
    from bert_runner import results
    from bert_runner.family import Head, TaskFamily
    from bert_runner.label_spec import PER_TOKEN
    from bert_runner.records import IS_REAL_EXAMPLE
    from bert_runner.tasks import GenericTask

    class KeywordTask(GenericTask):
        def get_labels(self):
            return list(TAGS)

    class KeywordTagging(TaskFamily):
        kind = TOKEN_CLASSIFICATION
        label = PER_TOKEN  # the record schema, serving input and warm-up follow
        extra_sequences = (LABEL_WEIGHTS,)

        def make_task(self, options):
            return KeywordTask(options.data_dir)

        def check_examples(self, examples, labels):
            assert labels == TAGS

        def warmup_texts(self, examples):
            return [e.text_a for e in examples[:4]] or ["good"]

        def cache_options(self, options):
            return {"task": "keywords"}

        def encode(self, featurizer, examples, labels):
            keywords = {featurizer.vocab[w] for w in tiny_bert.POSITIVE + tiny_bert.NEGATIVE}
            records = []
            for encoded in featurizer.encode_batch([e.text_a for e in examples]):
                ids = encoded.input_ids
                records.append(
                    {
                        INPUT_IDS: ids,
                        SEGMENT_IDS: encoded.segment_ids,
                        LABEL_IDS: [int(i in keywords) for i in ids],
                        # [CLS] and [SEP] carry no tag.
                        LABEL_WEIGHTS: [0] + [1] * (len(ids) - 2) + [0],
                    }
                )
            return records

        def head(self, encoder, features, num_labels, is_training):
            logits = tf.layers.dense(encoder.get_sequence_output(), num_labels, name="tagger")
            probabilities = tf.nn.softmax(logits, axis=-1)
            weights = tf.cast(features.get(LABEL_WEIGHTS, features[INPUT_MASK]), tf.float32)
            weights *= features[IS_REAL_EXAMPLE][:, None]
            per_token_loss = tf.losses.sparse_softmax_cross_entropy(
                features[LABEL_IDS], logits, reduction=tf.losses.Reduction.NONE
            )
            loss = tf.reduce_sum(per_token_loss * weights) / tf.maximum(tf.reduce_sum(weights), 1.0)
            return Head(
                loss=loss,
                metric_inputs={"per_token_loss": per_token_loss, "label_ids": features[LABEL_IDS], "logits": logits, "weights": weights},
                predictions={"probabilities": probabilities, LABEL_IDS: features[LABEL_IDS], LABEL_WEIGHTS: weights},
                output=probabilities,
            )

        def eval_metrics(self, num_labels, per_token_loss, label_ids, logits, weights):
            predicted = tf.argmax(logits, axis=-1, output_type=tf.int32)
            return {
                "eval_accuracy": tf.metrics.accuracy(label_ids, predicted, weights=weights),
                "eval_loss": tf.metrics.mean(per_token_loss, weights=weights),
                "key_recall": tf.metrics.recall(tf.equal(label_ids, 1), tf.equal(predicted, 1), weights=weights),
            }

        def write_eval(self, plan, result):
            report = {key: float(value) for key, value in result.items()}
            results.write_json(os.path.join(plan.options.output_dir, "token_eval.json"), report)
            return report

        def write_predictions(self, plan, predictions, record_file):
            rows = []
            for prediction in predictions:
                weights = prediction[LABEL_WEIGHTS]
                rows.append(
                    {
                        "predicted": [int(p.argmax()) for p, w in zip(prediction["probabilities"], weights) if w],
                        "gold": [int(t) for t, w in zip(prediction[LABEL_IDS], weights) if w],
                        "probabilities": prediction["probabilities"].tolist(),
                    }
                )
            path = os.path.join(plan.options.output_dir, "token_predictions.jsonl")
            results.write_text(path, "".join(json.dumps(row) + "\n" for row in rows))
            return {"num_examples": len(rows), "rows": rows}

    return KeywordTagging()


@pytest.fixture(scope="module")
def tagged_run(tiny_model_files, tmp_path_factory):
    from bert_runner.run import run

    output_dir = tmp_path_factory.mktemp("keywords")
    options = tiny_bert.run_options(
        tiny_model_files, output_dir, num_train_epochs=3.0, do_train=True, do_eval=True, do_predict=True, do_export=True
    )
    return options, run(options, keyword_family())


def test_a_token_family_trains_evaluates_and_predicts_through_the_shared_runner(tagged_run):
    options, summary = tagged_run
    assert summary["eval"]["key_recall"] > 0.9, summary["eval"]
    rows = summary["predict"]["rows"]
    assert len(rows) == 16
    gold = sum(row["gold"] == row["predicted"] for row in rows)
    assert gold >= 14, rows
    with open(os.path.join(options.output_dir, "label_list.txt")) as f:
        assert f.read().split() == TAGS


def test_its_export_answers_per_token_probabilities_and_says_its_kind(tagged_run):
    from bert_contract import LABEL_IDS, TOKEN_CLASSIFICATION
    from export_calls import run_export
    from featurizer import Featurizer, pad_batch

    options, summary = tagged_run
    texts = [text for _, text in tiny_bert.sentiment_rows(16, seed=3)]
    featurizer = Featurizer(options.vocab_file, max_seq_length=options.max_seq_length)
    batch = {k: np.array(v, np.int32) for k, v in pad_batch(featurizer.encode_batch(texts), options.max_seq_length).items()}
    batch[LABEL_IDS] = np.zeros_like(batch["input_ids"])
    answer = run_export(summary["export"]["path"], batch)
    assert answer.label_ids_dims == [-1, options.max_seq_length]
    assert answer.output_dims == [-1, options.max_seq_length, 2]
    served, info = answer.served, answer.info
    # Predictions are padded to each batch's longest text, the export's inputs to max_seq_length.
    for row, encoded, probabilities in zip(summary["predict"]["rows"], featurizer.encode_batch(texts), served):
        length = len(encoded.input_ids)
        assert np.abs(np.array(row["probabilities"])[:length] - probabilities[:length]).max() < 1e-5
    assert (info.task_kind, info.labels) == (TOKEN_CLASSIFICATION, TAGS)
