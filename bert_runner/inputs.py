"""The records of a split (cached or rewritten) and the estimator `input_fn` over them."""

import os

from bert_runner import records, storage

FEATURES_DIR = "features"


def split_records(plan, split: str, batch_size: int) -> records.RecordFile:
    """The record file of `split` in `<output_dir>/features`, reused while its inputs are unchanged."""
    o, family = plan.options, plan.family
    examples = plan.examples[split]
    # TPUs need every batch full: pad with examples that metrics ignore.
    padding = (-len(examples)) % batch_size if (o.use_tpu and split != "train") else 0
    cache_dir = os.path.join(o.output_dir, FEATURES_DIR)
    if not o.cache_features:
        path = os.path.join(cache_dir, "%s.tf_record" % split)
        storage.makedirs(cache_dir)
        return records.write_records(
            examples, plan.featurizer, plan.labels, path, family.encode, family.record_schema, padding
        )
    return records.cached_records(
        split,
        examples,
        plan.task.split_path(split),
        plan.featurizer,
        plan.labels,
        cache_dir,
        family.cache_options(o),
        family.encode,
        family.record_schema,
        padding,
    )


def input_fn(plan, record_file: records.RecordFile, is_training: bool, batch_size: int):
    o = plan.options
    return records.input_fn_builder(
        record_file,
        plan.family.record_schema,
        o.max_seq_length,
        is_training=is_training,
        batch_size=None if o.use_tpu else batch_size,
        drop_remainder=is_training or o.use_tpu,
        dynamic_padding=plan.dynamic_padding,
        seed=o.seed,
        chunk_batches=o.length_chunk_batches,
        # Each worker of a cluster trains on its own share of every epoch.
        num_shards=plan.cluster.num_workers if is_training else 1,
        shard_index=plan.cluster.worker_index if is_training else 0,
        num_labels=len(plan.labels),
    )
