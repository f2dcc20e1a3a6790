"""How one version directory becomes a serving Runner: load, wrap, warm up."""

import logging

from model_server import warmup
from model_server.runner import Runner
from model_server.servable import Servable, session_config
from model_server.tflite_servable import TfLiteServable, has_tflite_model

log = logging.getLogger(__name__)


def make_loader(options, batching, pool, metrics):
    """load(model_name, version_dir) -> Runner, ready to serve (warm-up done)."""
    tags = [tag.strip() for tag in options.saved_model_tags.split(",") if tag.strip()]
    config = session_config(options)

    def load(model_name, path):
        try:
            if options.prefer_tflite_model and has_tflite_model(path):
                servable = TfLiteServable(path)
            else:
                servable = Servable(path, tags, config)
        except Exception:
            metrics.load_attempt(path, False)
            raise
        metrics.load_attempt(path, True)
        runner = Runner(servable, pool, batching, name=model_name,
                        on_batch=lambda size, padding: metrics.batch(model_name, size, padding))
        if options.enable_model_warmup:
            try:
                count = warmup.replay(path, runner, options.num_request_iterations_for_warmup,
                                      options.model_warmup_timeout_seconds or None)
            except BaseException:
                runner.close()
                raise
            if count:
                log.info("Finished reading warmup data for model at %s. Number of warmup records read: %d.",
                         path, count)
        return runner

    return load
