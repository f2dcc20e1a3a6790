"""Examples -> TFRecord features (cached) -> batched `tf.data` input for the estimator.

What a record holds is the task family's `RecordSchema`; writing, caching and
the input pipeline are the same for every family.

Records hold *unpadded* ids, so one file serves every padding strategy: fixed
`max_seq_length` (the reference's, and the TPU's), padding each batch to its
longest example, or length buckets for training. A record file is reused only
when everything that made it (data bytes, vocab, casing, length, labels,
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

from bert_contract import INPUT_IDS, INPUT_MASK
from bert_runner import storage
from featurizer import FEATURIZER_VERSION, Featurizer

log = logging.getLogger("bert_runner")

# Bumped whenever the record layout changes, so old caches are not reused.
RECORDS_FORMAT_VERSION = 1
_ENCODE_CHUNK = 2048


# Added to every record: 0 for the rows that only fill a fixed-size TPU batch.
IS_REAL_EXAMPLE = "is_real_example"


class RecordSchema(NamedTuple):
    """The int features of a task family's records.

    `sequences` hold one value per token (unpadded in the file, padded per
    batch, the first is `input_ids`); `scalars` one value per example. Every
    record also gets `input_mask` (1 per token) and `is_real_example` when read.
    """

    sequences: Sequence[str]
    scalars: Sequence[str]

    def feature_spec(self) -> Dict:
        spec = {name: tf.io.VarLenFeature(tf.int64) for name in self.sequences}
        spec.update({name: tf.io.FixedLenFeature([], tf.int64) for name in self.scalars})
        spec[IS_REAL_EXAMPLE] = tf.io.FixedLenFeature([], tf.int64)
        return spec

    def padded_shapes(self, length: Optional[int]) -> Dict:
        shapes = {name: [length] for name in tuple(self.sequences) + (INPUT_MASK,)}
        shapes.update({name: [] for name in tuple(self.scalars) + (IS_REAL_EXAMPLE,)})
        return shapes

    def padding_record(self) -> Dict[str, List[int]]:
        """A fake row filling the last fixed-size batch; weight 0 in metrics."""
        record = {name: [0] for name in self.sequences}
        record.update({name: [0] for name in self.scalars})
        return record


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
                writer.write(_serialize(record, True))
                count += 1
            progress.update(len(chunk))
        for _ in range(num_padding):
            writer.write(_serialize(schema.padding_record(), False))
    storage.publish(staged, path)
    elapsed = max(time.time() - start, 1e-9)
    log.info("featurized %d examples into %s (%.0f examples/sec)", len(examples), path, len(examples) / elapsed)
    return RecordFile(path, count, num_padding)


def _serialize(record: Dict[str, List[int]], is_real: bool) -> bytes:
    features = {name: _int_feature(values) for name, values in record.items()}
    features[IS_REAL_EXAMPLE] = _int_feature([int(is_real)])
    return tf.train.Example(features=tf.train.Features(feature=features)).SerializeToString()


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


def bucket_boundaries(max_seq_length: int) -> List[int]:
    """Length buckets for training batches: fine for short texts, coarse for long."""
    boundaries, length = [], 8
    while length < max_seq_length:
        boundaries.append(length)
        length += 8 if length < 64 else 16 if length < 128 else 64
    return boundaries


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
):
    """An estimator `input_fn` over a record file.

    `dynamic_padding` pads each batch only to its longest example (and, when
    training, draws batches from length buckets); otherwise every batch is
    padded to `max_seq_length` as in the reference (required on TPU).
    """

    def decode(serialized):
        parsed = tf.io.parse_single_example(serialized, schema.feature_spec())
        features = {
            name: tf.cast(tf.sparse.to_dense(value) if isinstance(value, tf.SparseTensor) else value, tf.int32)
            for name, value in parsed.items()
        }
        features[INPUT_MASK] = tf.ones_like(features[INPUT_IDS])
        return features

    def input_fn(params):
        size = batch_size or params["batch_size"]
        length = None if dynamic_padding else max_seq_length
        padded_shapes = schema.padded_shapes(length)
        dataset = tf.data.TFRecordDataset(record_file.path)
        if is_training:
            dataset = dataset.shuffle(min(shuffle_buffer, max(record_file.num_examples, 1)), seed=seed)
            dataset = dataset.repeat()
        dataset = dataset.map(decode, num_parallel_calls=tf.data.experimental.AUTOTUNE)
        if is_training and dynamic_padding:
            boundaries = bucket_boundaries(max_seq_length)
            dataset = dataset.apply(
                tf.data.experimental.bucket_by_sequence_length(
                    element_length_func=lambda features: tf.shape(features[INPUT_IDS])[0],
                    bucket_boundaries=boundaries,
                    bucket_batch_sizes=[size] * (len(boundaries) + 1),
                    padded_shapes=padded_shapes,
                    drop_remainder=drop_remainder,
                )
            )
        else:
            dataset = dataset.padded_batch(size, padded_shapes=padded_shapes, drop_remainder=drop_remainder)
        return dataset.prefetch(tf.data.experimental.AUTOTUNE)

    return input_fn
