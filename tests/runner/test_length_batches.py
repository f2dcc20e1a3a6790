"""Length-aware training batches: label mix, every example once per epoch, padding, input order.

No model is trained except in the last test (a tiny BERT, to check predictions come back in
input order).
"""

import os
import random
import shutil

import numpy as np
import pytest

import tiny_bert

pytestmark = pytest.mark.needs_tf

N = 2048  # examples per epoch
BATCH = 32
CHUNK_BATCHES = 8
EPOCHS = 3
DELTA = 1e-6  # chance that a correct pipeline fails the label-mix test, for any seed


def synthetic_examples(count=N, positive_share=0.15, seed=0):
    """(length, label) pairs where the label is a function of the length, as spam is "long".

    Label 0: 5-30 tokens; label 1: 31-100 tokens. A batch of similar lengths is a batch of one label.
    """
    rng = random.Random(seed)
    examples = []
    for _ in range(count):
        label = int(rng.random() < positive_share)
        examples.append((rng.randint(31, 100) if label else rng.randint(5, 30), label))
    return examples


def _dataset(examples, seed):
    """A uniformly shuffled stream of feature dicts (ids carry the example's index)."""
    import tensorflow.compat.v1 as tf

    def rows():
        for index, (length, label) in enumerate(examples):
            # Token-aligned extra feature of a different length, as token labels would be.
            yield {"input_ids": np.full(length, index + 1, np.int32), "token_tags": np.ones(length // 2, np.int32),
                   "label_ids": np.int32(label), "example_id": np.int32(index)}

    types = {"input_ids": tf.int32, "token_tags": tf.int32, "label_ids": tf.int32, "example_id": tf.int32}
    shapes = {"input_ids": [None], "token_tags": [None], "label_ids": [], "example_id": []}
    dataset = tf.data.Dataset.from_generator(rows, types, shapes)
    return dataset.shuffle(len(examples), seed=seed), shapes


def _run(dataset):
    """Every element of a finite dataset, as numpy dicts."""
    import tensorflow.compat.v1 as tf

    out = []
    with tf.Graph().as_default():
        next_element = tf.data.make_one_shot_iterator(dataset()).get_next()
        with tf.Session() as session:
            while True:
                try:
                    out.append(session.run(next_element))
                except tf.errors.OutOfRangeError:
                    return out


def length_aware(examples, chunk_batches=CHUNK_BATCHES, epochs=EPOCHS, seed=1, drop_remainder=False):
    from bert_runner import records

    def build():
        dataset, shapes = _dataset(examples, seed)
        return records.length_aware_batches(dataset, BATCH, shapes, chunk_batches, drop_remainder, seed=seed).repeat(epochs)

    return _run(build)


def split_epochs(batches, count):
    """The batch stream cut where each epoch's `count` examples end."""
    epochs, current, seen = [], [], 0
    for batch in batches:
        current.append(batch)
        seen += len(batch["example_id"])
        if seen % count == 0:
            epochs.append(current)
            current = []
    assert not current, "an epoch ended inside a batch"
    return epochs


def window_bounds(count, positives, window, num_windows, delta=DELTA):
    """Positives that `window` uniformly drawn examples (without replacement) hold,
    except with probability delta / num_windows: the hypergeometric quantiles."""
    from scipy.stats import hypergeom

    law = hypergeom(count, positives, window)
    tail = delta / (2.0 * num_windows)
    return int(law.ppf(tail)), int(law.isf(tail))


@pytest.mark.parametrize("chunk_batches", [CHUNK_BATCHES, 1])
def test_every_k_steps_keep_the_uniform_label_mix_and_every_example_comes_once_per_epoch(chunk_batches):
    """The bound, derived.

    An epoch is a uniform random permutation of the N examples (the shuffle buffer holds the
    whole file). The pipeline cuts it into chunks of C = K * B consecutive examples (B = batch
    size, K = chunk_batches), sorts each chunk by length, cuts it into K batches and sends those
    batches in a random order before touching the next chunk. So the K consecutive batches of
    chunk j hold exactly the examples at permutation positions [jC, (j+1)C): a uniformly random
    C-subset of the epoch, drawn without replacement. Its positive count X_j therefore follows
    the hypergeometric law H(N, N1, C) (N1 = positives in the data), which is also the law of the
    positives among any C consecutive examples of a plain uniform shuffle: the label mix over
    every K steps is that of uniform shuffling, however strongly label follows length.

    Bound: for m windows checked, P(some X_j < q(d / 2m) or X_j > q(1 - d / 2m)) <= d by the
    union bound, q being H's quantile function; with d = 1e-6 a correct pipeline fails this test
    with probability below one in a million for any seed. (Hoeffding's inequality, which holds
    for sampling without replacement, gives the cruder closed form |X_j / C - N1 / N| <=
    sqrt(ln(2m / d) / (2C)): +-0.19 here, against +-0.11 from the exact quantiles.)
    With K = 1 the window is one batch and every batch keeps the mix. With K > 1 a single
    batch does not: its examples are neighbours in length, so its labels follow length.

    Teeth: the length buckets this pipeline replaced put a window far outside the bound.
    """
    examples = synthetic_examples()
    positives = sum(label for _, label in examples)
    batches = length_aware(examples, chunk_batches)
    epochs = split_epochs(batches, N)
    assert len(epochs) == EPOCHS
    window = chunk_batches * BATCH
    lo, hi = window_bounds(N, positives, window, EPOCHS * N // window)
    assert lo <= positives * window / N <= hi < window
    for epoch in epochs:
        ids = np.concatenate([batch["example_id"] for batch in epoch])
        assert sorted(ids.tolist()) == list(range(N))  # each example exactly once
        assert all(len(batch["example_id"]) == BATCH for batch in epoch)
        for start in range(0, len(epoch), chunk_batches):
            labels = np.concatenate([batch["label_ids"] for batch in epoch[start : start + chunk_batches]])
            assert lo <= labels.sum() <= hi, (start, labels.sum(), (lo, hi))
    # Epochs come in different orders.
    assert [b["example_id"].tolist() for b in epochs[0]] != [b["example_id"].tolist() for b in epochs[1]]


def test_length_buckets_break_the_bound():
    """The scheme the issue reported: batches drawn from length buckets that fill at different rates."""
    import tensorflow.compat.v1 as tf

    examples = synthetic_examples()
    positives = sum(label for _, label in examples)

    def build():
        dataset, shapes = _dataset(examples, seed=1)
        return dataset.apply(tf.data.experimental.bucket_by_sequence_length(
            lambda features: tf.shape(features["input_ids"])[0], [8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112],
            [BATCH] * 12, padded_shapes=shapes))

    batches = _run(build)
    window = CHUNK_BATCHES * BATCH
    lo, hi = window_bounds(N, positives, window, N // window)
    counts = [sum(int(b["label_ids"].sum()) for b in batches[start : start + CHUNK_BATCHES])
              for start in range(0, N // BATCH, CHUNK_BATCHES)]
    assert any(not lo <= count <= hi for count in counts), counts


def test_batches_pad_to_their_longest_example_far_below_shuffled_or_fixed_padding():
    examples = synthetic_examples()
    max_seq_length = 128

    def mean_padded(chunk_batches):
        return np.mean([batch["input_ids"].shape[1] for batch in length_aware(examples, chunk_batches, epochs=1)])

    sorted_chunks, shuffled = mean_padded(CHUNK_BATCHES), mean_padded(1)
    mean_length = np.mean([length for length, _ in examples])
    # Measured: ~37 tokens sorted within chunks of 8 batches, ~99 for shuffled batches padded to
    # their longest, 128 fixed, for a mean length of ~25.
    assert sorted_chunks < 0.45 * shuffled
    assert sorted_chunks < 0.35 * max_seq_length
    assert mean_length < sorted_chunks


def test_each_feature_is_cut_to_its_own_longest_and_keeps_its_values():
    examples = synthetic_examples(count=300)
    batches = length_aware(examples, epochs=1)
    seen = set()
    for batch in batches:
        ids, tags = batch["input_ids"], batch["token_tags"]
        lengths = [examples[i][0] for i in batch["example_id"]]
        assert ids.shape[1] == max(lengths)
        assert tags.shape[1] == max(length // 2 for length in lengths)
        for row, tag_row, index, length in zip(ids, tags, batch["example_id"], lengths):
            assert (row[:length] == index + 1).all() and (row[length:] == 0).all()
            assert tag_row.sum() == length // 2
            assert batch["label_ids"][list(batch["example_id"]).index(index)] == examples[index][1]
        seen.update(batch["example_id"].tolist())
    assert seen == set(range(300))
    assert [len(b["example_id"]) for b in batches].count(BATCH) == 300 // BATCH  # one smaller batch: 300 % 32


def test_drop_remainder_keeps_batches_full_and_drops_only_the_epochs_remainder():
    examples = synthetic_examples(count=300)
    batches = length_aware(examples, epochs=2, drop_remainder=True)
    assert all(len(batch["example_id"]) == BATCH for batch in batches)
    per_epoch = 300 // BATCH
    for epoch in (batches[:per_epoch], batches[per_epoch:]):
        ids = np.concatenate([batch["example_id"] for batch in epoch]).tolist()
        assert len(ids) == len(set(ids)) == 300 - 300 % BATCH


def test_length_key_must_be_padded_per_batch():
    import tensorflow.compat.v1 as tf

    from bert_runner import records

    dataset = tf.data.Dataset.from_tensors({"input_ids": tf.constant([1, 2]), "label_ids": tf.constant(0)})
    with pytest.raises(ValueError, match="length_key 'input_ids' must be a feature padded per batch"):
        records.length_aware_batches(dataset, 2, {"input_ids": [4], "label_ids": []})
    with pytest.raises(ValueError, match="chunk_batches must be at least 1"):
        records.length_aware_batches(dataset, 2, {"input_ids": [None], "label_ids": []}, chunk_batches=0)


# ---------------------------------------------------------------- the estimator's input_fn


@pytest.fixture
def record_file(tiny_vocab_file, tmp_path):
    """A record file of texts of many lengths, in a known order."""
    from bert_runner import records
    from bert_runner.classification import SequenceClassification
    from bert_runner.tasks import InputExample
    from featurizer import Featurizer

    rng = random.Random(5)
    words = ["the", "movie", "film", "food", "day", "is", "it", "this", "today"]  # one token each
    texts = [" ".join(rng.choice(words) for _ in range(rng.randint(1, 20))) for _ in range(203)]
    examples = [InputExample("x-%d" % i, text, None, "pos" if i % 3 else "neg") for i, text in enumerate(texts)]
    featurizer = Featurizer(tiny_vocab_file, max_seq_length=24)
    family = SequenceClassification()
    record = records.write_records(examples, featurizer, ["neg", "pos"], str(tmp_path / "x.tf_record"), family.encode,
                                   family.record_schema)
    expected = [e.input_ids for e in featurizer.encode_batch(texts, [None] * len(texts))]
    return record, family.record_schema, expected


def _rows(batches):
    """Unpadded input_ids of each row, in the order the batches hold them."""
    return [row[: int(mask.sum())].tolist() for batch in batches for row, mask in zip(batch["input_ids"], batch["input_mask"])]


@pytest.mark.parametrize("dynamic_padding", [True, False])
def test_eval_and_predict_batches_keep_the_file_order(record_file, dynamic_padding):
    from bert_runner import records

    record, schema, expected = record_file
    input_fn = records.input_fn_builder(record, schema, 24, is_training=False, batch_size=16, dynamic_padding=dynamic_padding)
    batches = _run(lambda: input_fn({}))
    assert _rows(batches) == expected
    widths = [batch["input_ids"].shape[1] for batch in batches]
    if dynamic_padding:
        assert widths == [max(len(ids) for ids in expected[i : i + 16]) for i in range(0, 203, 16)]
    else:
        assert widths == [24] * len(batches)


def test_training_input_covers_each_example_once_per_epoch(record_file):
    from bert_runner import records

    record, schema, expected = record_file
    input_fn = records.input_fn_builder(record, schema, 24, is_training=True, batch_size=16, dynamic_padding=True, seed=3,
                                        chunk_batches=4)
    batches = _run(lambda: input_fn({}).take(2 * -(-203 // 16)))  # two epochs (each ends with a smaller batch)
    rows = _rows(batches)
    assert sorted(rows[:203]) == sorted(expected) and sorted(rows[203:]) == sorted(expected)
    assert rows[:203] != rows[203:]


def test_cluster_workers_train_on_disjoint_shares(record_file):
    from bert_runner import distribute, records

    record, schema, expected = record_file
    cluster = {"chief": ["h:1"], "worker": ["h:2", "h:3"], "ps": ["h:4"]}
    shares = []
    for task_type, index in (("chief", 0), ("worker", 0), ("worker", 1)):
        env = {"TF_CONFIG": '{"cluster": %s, "task": {"type": "%s", "index": %d}}'
               % (str(cluster).replace("'", '"'), task_type, index)}
        worker = distribute.cluster_from_env(env)
        assert worker.num_workers == 3
        size = len(range(worker.worker_index, 203, 3))
        input_fn = records.input_fn_builder(record, schema, 24, is_training=True, batch_size=8, dynamic_padding=True,
                                            seed=1, num_shards=worker.num_workers, shard_index=worker.worker_index)
        rows = _rows(_run(lambda: input_fn({}).take(-(-size // 8))))
        assert len(rows) == size
        shares.append(rows)
    assert sorted(row for share in shares for row in share) == sorted(expected)


def test_predictions_come_back_in_input_order(trained_tiny_model, tmp_path):
    """Prediction rows line up with input rows, whatever the batching: an irregular label
    pattern over texts of many lengths comes back as it went in, forwards and reversed."""
    from bert_runner.run import run

    output_dir = str(tmp_path / "model")
    shutil.copytree(trained_tiny_model["options"].output_dir, output_dir,
                    ignore=shutil.ignore_patterns("export", "features", "*results*", "*predictions*"))
    rng = random.Random(11)
    rows = []
    for i in range(23):
        label = rng.choice(["pos", "neg"])
        keyword = "good" if label == "pos" else "bad"
        rows.append((label, " ".join(["the movie"] * rng.randint(0, 9) + [keyword])))

    def predict(name, rows):
        path = tiny_bert.write_tsv(str(tmp_path / name), rows)
        run(tiny_bert.run_options(trained_tiny_model, output_dir, do_predict=True, test_file=path,
                                  predict_batch_size=4))
        with open(os.path.join(output_dir, "test_predictions.tsv")) as f:
            return [line.split("\t")[0] for line in f.read().splitlines()[1:]]

    assert predict("forward.tsv", rows) == [label for label, _ in rows]
    assert predict("backward.tsv", rows[::-1]) == [label for label, _ in rows[::-1]]
