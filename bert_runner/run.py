"""One run of `run_classifier.py` (or another task family's entry point).

check everything (`plan.py`) -> estimator (`estimator.py` + `model.py` with
the family's head) -> train / evaluate / predict / export (`steps.py`). The
task family (`family.py`; chosen by `--task_name` in `families.py`, the
classifier `classification.py` by default) decides what is read, predicted and
written; everything else is shared.
"""

import logging
from typing import Dict, Optional

from bert_runner import collapse, steps
from bert_runner.estimator import build_estimator
from bert_runner.families import family_for_task
from bert_runner.family import TaskFamily
from bert_runner.model import model_fn_builder
from bert_runner.options import RunOptions
from bert_runner.plan import Plan

log = logging.getLogger("bert_runner")


def run(options: RunOptions, family: Optional[TaskFamily] = None) -> Dict:
    """Runs the requested actions; returns a summary (paths, metrics, speed)."""
    plan = Plan(options, family or family_for_task(options.task_name))
    estimator = build_estimator(options, _model_fn(plan), plan.strategy)
    summary = {}  # type: Dict
    if options.do_train:
        summary["train"] = steps.train(plan, estimator)
    if not plan.cluster.is_chief:
        log.info("%s: training done; the chief evaluates, predicts and exports", plan.cluster.name)
        return summary
    if options.do_eval:
        summary["eval"] = steps.evaluate(plan, estimator)
    if options.do_predict:
        summary["predict"] = steps.predict(plan, estimator)
    if options.do_export:
        summary["export"] = steps.export(plan, estimator, summary.get("eval"))
    if summary.get("eval", {}).get(collapse.KEY):
        # Again as the run's last line: a collapsed model is the one thing to read.
        log.warning(collapse.warning(summary["eval"][collapse.KEY], summary["eval"].get("global_step")))
    return summary


def _model_fn(plan: Plan):
    o = plan.options
    return model_fn_builder(
        plan.family,
        bert_config=plan.bert_config,
        num_labels=len(plan.labels),
        init_checkpoint=plan.init_checkpoint,
        learning_rate=o.learning_rate,
        num_train_steps=plan.num_train_steps,
        num_warmup_steps=plan.num_warmup_steps,
        use_tpu=o.use_tpu,
        use_one_hot_embeddings=o.use_tpu,
        metadata_json=lambda: plan.model_info().to_json(),
        mixed_precision=o.mixed_precision,
        vocab_bytes=plan.vocab_bytes,
        train_micro_batches=plan.train_micro_batches,
        adam_bias_correction=plan.adam_bias_correction,
    )
