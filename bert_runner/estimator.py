"""The estimator of a run: `tf.estimator.Estimator` (CPU/GPU, strategies, XLA) or `TPUEstimator`."""

import tensorflow.compat.v1 as tf

from bert_runner import distribute
from bert_runner.options import RunOptions


def build_estimator(options: RunOptions, model_fn, strategy=None):
    """The estimator for `model_fn` with the run's checkpointing, seeds and devices."""
    o = options
    if not o.use_tpu:
        session_config = distribute.session_config(o.virtual_cpu_devices)
        if o.xla:
            session_config = session_config or tf.ConfigProto()
            session_config.graph_options.optimizer_options.global_jit_level = tf.OptimizerOptions.ON_1
        config = tf.estimator.RunConfig(
            model_dir=o.output_dir,
            save_checkpoints_steps=o.save_checkpoints_steps,
            keep_checkpoint_max=o.keep_checkpoint_max,
            # The chief trains with saver_hooks' summary hook instead (steps.train).
            save_summary_steps=0,
            tf_random_seed=o.seed,
            log_step_count_steps=max(o.log_every_steps, 1),
            train_distribute=strategy,
            session_config=session_config,
        )
        return tf.estimator.Estimator(model_fn=model_fn, config=config)
    resolver = None
    if o.tpu_name:
        resolver = tf.distribute.cluster_resolver.TPUClusterResolver(o.tpu_name, zone=o.tpu_zone, project=o.gcp_project)
    config = tf.estimator.tpu.RunConfig(
        cluster=resolver,
        master=o.master,
        model_dir=o.output_dir,
        save_checkpoints_steps=o.save_checkpoints_steps,
        keep_checkpoint_max=o.keep_checkpoint_max,
        tf_random_seed=o.seed,
        tpu_config=tf.estimator.tpu.TPUConfig(
            tpu_job_name=o.tpu_job_name,
            iterations_per_loop=o.iterations_per_loop,
            num_shards=o.num_tpu_cores,
            per_host_input_for_training=tf.estimator.tpu.InputPipelineConfig.PER_HOST_V2,
        ),
    )
    return tf.estimator.tpu.TPUEstimator(
        use_tpu=True,
        model_fn=model_fn,
        config=config,
        train_batch_size=o.train_batch_size,
        eval_batch_size=o.eval_batch_size,
        predict_batch_size=o.predict_batch_size,
    )
