"""Examples -> TFRecord features (cached) -> batched `tf.data` input for the estimator.

What a record holds is the task family's `RecordSchema`; writing, caching and
the input pipeline are the same for every family.

Records hold *unpadded* ids, so one file serves every padding strategy: fixed
`max_seq_length` (the reference's, and the TPU's), or padding each batch to its
longest example, with training batches sorted by length within random chunks.
A record file is reused only when everything that made it (data bytes, vocab, casing, length, labels,
featurizer and record format) is unchanged, and is written under a temporary
name first so a half-written cache is never picked up.
"""

import hashlib
import json
import logging
import os
import time
from typing import Callable, Dict, List, NamedTuple, Optional, Sequence

import tensorflow.compat.v1 as tf
from tqdm import tqdm

from bert_contract import INPUT_IDS, INPUT_MASK, LABEL_IDS, SEGMENT_IDS
from bert_runner import storage
from bert_runner.label_spec import SCALARS, SEQUENCES, VECTORS, LabelSpec
from bert_runner.options import RunOptions
from featurizer import FEATURIZER_VERSION, Featurizer

log = logging.getLogger("bert_runner")

# Bumped whenever the record layout changes, so old caches are not reused.
RECORDS_FORMAT_VERSION = 1
_ENCODE_CHUNK = 2048


# Added to every record: 0 for the rows that only fill a fixed-size TPU batch.
IS_REAL_EXAMPLE = "is_real_example"


class RecordSchema(NamedTuple):
    """The features of a task family's records.

    `sequences` hold one value per token (unpadded in the file, padded per
    batch, the first is `input_ids`); `scalars` one value per example; `vectors`
    one fixed-length vector per example (a multi-hot label: `num_labels`
    values, never cut to a batch's length). Features are ints (int32 in the
    model) unless named in `floats` (float32). Every record also gets
    `input_mask` (1 per token) and `is_real_example` when read.
    A family does not write this by hand: `for_label` derives it from its
    `label_spec.LabelSpec` (`TaskFamily.record_schema`).
    """

    sequences: Sequence[str]
    scalars: Sequence[str]
    vectors: Sequence[str] = ()
    floats: Sequence[str] = ()

    @classmethod
    def for_label(cls, label: LabelSpec, extra_sequences: Sequence[str] = ()) -> "RecordSchema":
        """The featurizer's ids, `label_ids` where its shape puts it, then a family's own per-token features."""
        groups = {SEQUENCES: [INPUT_IDS, SEGMENT_IDS], SCALARS: [], VECTORS: []}
        groups[label.record_group].append(LABEL_IDS)
        groups[SEQUENCES].extend(extra_sequences)
        floats = (LABEL_IDS,) if label.dtype.startswith("float") else ()
        return cls(tuple(groups[SEQUENCES]), tuple(groups[SCALARS]), tuple(groups[VECTORS]), floats)

    def _dtype(self, name: str):
        return tf.float32 if name in self.floats else tf.int64

    def feature_spec(self) -> Dict:
        spec = {name: tf.io.VarLenFeature(self._dtype(name)) for name in tuple(self.sequences) + tuple(self.vectors)}
        spec.update({name: tf.io.FixedLenFeature([], self._dtype(name)) for name in self.scalars})
        spec[IS_REAL_EXAMPLE] = tf.io.FixedLenFeature([], tf.int64)
        return spec

    def model_dtype(self, name: str):
        """What the model gets: float32 for `floats`, int32 for every other feature."""
        return tf.float32 if name in self.floats else tf.int32

    def padded_shapes(self, length: Optional[int], num_labels: Optional[int] = None) -> Dict:
        """Sequences padded to `length` (None: the batch's longest), vectors to `num_labels`."""
        shapes = {name: [length] for name in tuple(self.sequences) + (INPUT_MASK,)}
        shapes.update({name: [num_labels] for name in self.vectors})
        shapes.update({name: [] for name in tuple(self.scalars) + (IS_REAL_EXAMPLE,)})
        return shapes

    def padding_record(self) -> Dict[str, List[int]]:
        """A fake row filling the last fixed-size batch; weight 0 in metrics (vectors are padded to size)."""
        record = {name: [0] for name in tuple(self.sequences) + tuple(self.scalars)}
        record.update({name: [] for name in self.vectors})
        return record

    def serialize(self, record: Dict[str, List], is_real: bool) -> bytes:
        """One `tf.train.Example`: int64 features, float features for `floats`."""
        features = {
            name: _float_feature(values) if name in self.floats else _int_feature(values)
            for name, values in record.items()
        }
        features[IS_REAL_EXAMPLE] = _int_feature([int(is_real)])
        return tf.train.Example(features=tf.train.Features(feature=features)).SerializeToString()


# One record per example in, one dict of int lists per record out.
Encoder = Callable[[Featurizer, Sequence, Sequence[str]], List[Dict[str, List[int]]]]


class RecordFile(NamedTuple):
    path: str
    num_examples: int
    # Number of examples added only to fill a fixed-size TPU batch.
    num_padding: int = 0


def cache_key(data_file: str, featurizer: Featurizer, label_list: Sequence[str], extra: Dict) -> str:
    """Content hash of everything that determines a record file's bytes."""
    parts = {
        "data_sha256": storage.file_sha256(data_file) if storage.isfile(data_file) else data_file,
        "vocab_sha256": featurizer.vocab_sha256,
        "do_lower_case": featurizer.do_lower_case,
        "max_seq_length": featurizer.max_seq_length,
        "labels": list(label_list),
        "featurizer_version": FEATURIZER_VERSION,
        "records_format": RECORDS_FORMAT_VERSION,
        "extra": extra,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode("utf-8")).hexdigest()


def _int_feature(values):
    return tf.train.Feature(int64_list=tf.train.Int64List(value=list(values)))


def _float_feature(values):
    return tf.train.Feature(float_list=tf.train.FloatList(value=list(values)))


def write_records(
    examples: Sequence,
    featurizer: Featurizer,
    label_list: Sequence[str],
    path: str,
    encode: Encoder,
    schema: RecordSchema,
    num_padding: int = 0,
) -> RecordFile:
    """Featurizes `examples` with the family's `encode` into `path` (atomically), plus `num_padding` dummy rows."""
    staged = storage.staging_path(path)
    start = time.time()
    count = 0
    with tf.io.TFRecordWriter(staged) as writer, tqdm(
        total=len(examples), desc="featurize %s" % os.path.basename(path), unit="ex", disable=None
    ) as progress:
        for begin in range(0, len(examples), _ENCODE_CHUNK):
            chunk = examples[begin : begin + _ENCODE_CHUNK]
            for record in encode(featurizer, chunk, label_list):
                writer.write(schema.serialize(record, True))
                count += 1
            progress.update(len(chunk))
        for _ in range(num_padding):
            writer.write(schema.serialize(schema.padding_record(), False))
    storage.publish(staged, path)
    elapsed = max(time.time() - start, 1e-9)
    log.info("featurized %d examples into %s (%.0f examples/sec)", len(examples), path, len(examples) / elapsed)
    return RecordFile(path, count, num_padding)


def cached_records(
    split: str,
    examples: Sequence,
    data_file: str,
    featurizer: Featurizer,
    label_list: Sequence[str],
    cache_dir: str,
    task_options: Dict,
    encode: Encoder,
    schema: RecordSchema,
    num_padding: int = 0,
) -> RecordFile:
    """The record file for a split, written once and reused while its inputs are unchanged."""
    key = cache_key(data_file, featurizer, label_list, dict(task_options, split=split, padding=num_padding))
    storage.makedirs(cache_dir)
    path = os.path.join(cache_dir, "%s-%s.tf_record" % (split, key[:16]))
    marker = path + ".json"
    if storage.exists(path) and storage.exists(marker):
        meta = json.loads(storage.read_bytes(marker).decode("utf-8"))
        if meta.get("key") == key:
            log.info("reusing cached features %s (%d examples)", path, meta["num_examples"])
            return RecordFile(path, meta["num_examples"], meta.get("num_padding", 0))
    record = write_records(examples, featurizer, label_list, path, encode, schema, num_padding)
    # The marker is written last: a record file without it is never reused.
    storage.write_text(marker, json.dumps({"key": key, "num_examples": record.num_examples, "num_padding": num_padding}))
    return record


DEFAULT_CHUNK_BATCHES = RunOptions.length_chunk_batches


def length_aware_batches(
    dataset: tf.data.Dataset,
    batch_size: int,
    padded_shapes: Dict,
    chunk_batches: int = DEFAULT_CHUNK_BATCHES,
    drop_remainder: bool = False,
    length_key: str = INPUT_IDS,
    seed: Optional[int] = None,
) -> tf.data.Dataset:
    """One pass over `dataset` (dicts of features) as batches padded only to their longest example.

    The stream is cut into chunks of `chunk_batches * batch_size` consecutive examples; each
    chunk is sorted by the length of `length_key`, cut into batches, and its batches leave in
    random order. When `dataset` is uniformly shuffled, a chunk is a uniform random sample, so
    every `chunk_batches` consecutive steps see the label mix of uniform shuffling (a single
    batch holds similar lengths, so its labels follow length). Length buckets that fill at
    different rates do not: rare long examples wait in their bucket and a short schedule
    trains mostly on the common short ones. Every example leaves exactly once, in a smaller
    last batch unless `drop_remainder`. Features are padded as `padded_shapes` says; a
    dimension given as None is cut to the batch's longest. `chunk_batches=1` (the default):
    batches of a uniform shuffle, padded to their longest, so each batch keeps the label mix.
    """
    if batch_size < 1 or chunk_batches < 1:
        raise ValueError("batch_size and chunk_batches must be at least 1 (got %d, %d)" % (batch_size, chunk_batches))
    # Features whose first dimension is padded per batch: carry each one's own length so
    # it is cut to the batch's longest of that feature, whatever it holds (ids, token labels).
    ragged = sorted(key for key, shape in padded_shapes.items() if len(shape) and shape[0] is None)
    if length_key not in ragged:
        raise ValueError("length_key %r must be a feature padded per batch (shape [None, ...])" % length_key)

    def with_lengths(features):
        return features, {key: tf.shape(features[key])[0] for key in ragged}

    def chunk_to_batches(features, lengths):
        order = tf.argsort(lengths[length_key], stable=True)
        count = tf.size(order)
        num_batches = count // batch_size if drop_remainder else (count + batch_size - 1) // batch_size
        # A stateful op, so successive chunks get different batch orders.
        batch_order = tf.random.shuffle(tf.range(num_batches), seed=seed)

        def one_batch(index):
            rows = order[index * batch_size : tf.minimum((index + 1) * batch_size, count)]
            batch = {}
            for key, value in features.items():
                value = tf.gather(value, rows)
                if key in lengths:
                    value = value[:, : tf.reduce_max(tf.gather(lengths[key], rows))]
                batch[key] = value
            return batch

        return tf.data.Dataset.from_tensor_slices(batch_order).map(one_batch)

    chunks = dataset.map(with_lengths).padded_batch(
        batch_size * chunk_batches, padded_shapes=(padded_shapes, {key: [] for key in ragged})
    )
    return chunks.flat_map(chunk_to_batches)


def input_fn_builder(
    record_file: RecordFile,
    schema: RecordSchema,
    max_seq_length: int,
    is_training: bool,
    batch_size: Optional[int] = None,
    drop_remainder: bool = False,
    dynamic_padding: bool = False,
    shuffle_buffer: int = 10000,
    seed: Optional[int] = None,
    chunk_batches: int = DEFAULT_CHUNK_BATCHES,
    num_shards: int = 1,
    shard_index: int = 0,
    num_labels: Optional[int] = None,
):
    """An estimator `input_fn` over a record file.

    `dynamic_padding` pads each batch only to its longest example (and, when
    training, sorts by length within chunks of `chunk_batches` batches: see
    `length_aware_batches`); otherwise every batch is padded to `max_seq_length`
    as in the reference (required on TPU). Evaluation and prediction read the
    file in order and never sort, so results line up with the input rows.
    Training on worker `shard_index` of `num_shards` reads only every
    `num_shards`-th record, so a cluster's workers split each epoch between them.
    """

    def decode(serialized):
        parsed = tf.io.parse_single_example(serialized, schema.feature_spec())
        features = {
            name: tf.cast(tf.sparse.to_dense(value) if isinstance(value, tf.SparseTensor) else value,
                          schema.model_dtype(name))
            for name, value in parsed.items()
        }
        features[INPUT_MASK] = tf.ones_like(features[INPUT_IDS])
        return features

    def input_fn(params):
        size = batch_size or params["batch_size"]
        length = None if dynamic_padding else max_seq_length
        padded_shapes = schema.padded_shapes(length, num_labels)
        dataset = tf.data.TFRecordDataset(record_file.path)
        if not is_training:
            dataset = dataset.map(decode, num_parallel_calls=tf.data.experimental.AUTOTUNE)
            dataset = dataset.padded_batch(size, padded_shapes=padded_shapes, drop_remainder=drop_remainder)
            return dataset.prefetch(tf.data.experimental.AUTOTUNE)
        examples = record_file.num_examples
        if num_shards > 1:
            dataset = dataset.shard(num_shards, shard_index)
            examples = len(range(shard_index, examples, num_shards))
        # A new order every epoch (reshuffle_each_iteration), uniform while the buffer holds the file.
        dataset = dataset.shuffle(min(shuffle_buffer, max(examples, 1)), seed=seed)
        if dynamic_padding:
            dataset = dataset.map(decode, num_parallel_calls=tf.data.experimental.AUTOTUNE)
            dataset = length_aware_batches(
                dataset, size, padded_shapes, chunk_batches, drop_remainder=drop_remainder, seed=seed
            ).repeat()
        else:
            dataset = dataset.repeat().map(decode, num_parallel_calls=tf.data.experimental.AUTOTUNE)
            dataset = dataset.padded_batch(size, padded_shapes=padded_shapes, drop_remainder=drop_remainder)
        return dataset.prefetch(tf.data.experimental.AUTOTUNE)

    return input_fn
