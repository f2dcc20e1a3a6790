"""A fine-tune that collapsed says so, and its export is refused unless the user means it.

Some seeds of a fine-tune end with a model that predicts one class for everything
(an all-`O` tagger, a classifier that always says "ham"): the loss stays near the
label prior's and nothing in the run looked wrong (issue #27). What "collapsed"
means is the task family's call (`TaskFamily.collapse_reason` on its eval report);
this module does the rest for every family: after evaluation, a warning naming the
cause in the log, a `collapsed = ...` line in eval_results.txt and a `collapsed`
field in eval_results.json and the train summary; before export, a refusal unless
`--export_collapsed_model` is given.
"""

import json
import logging
import os
import re
from typing import Dict, Optional

from bert_runner import results, storage
from bert_runner.errors import RunnerError

log = logging.getLogger("bert_runner")

KEY = "collapsed"
EXPORT_FLAG = "export_collapsed_model"
_ADVICE = "retrain with another --seed, a lower --learning_rate or --adam_bias_correction (bench/README.md, \"Collapsed NER seeds\")"


def warning(reason: str, global_step) -> str:
    return "the model collapsed at step %s: %s; %s" % (global_step, reason, _ADVICE)


def mark_eval(plan, report: Dict) -> Optional[str]:
    """After `write_eval`: the family's collapse reason (None when the model learned), recorded and logged."""
    reason = plan.family.collapse_reason(report)
    report[KEY] = reason
    output_dir = plan.options.output_dir
    summary = os.path.join(output_dir, "train_summary-%s.json" % plan.cluster.name)
    if storage.exists(summary):
        _update_json(summary, {KEY: reason})
    if not reason:
        return None
    _update_json(os.path.join(output_dir, "eval_results.json"), {KEY: reason})
    text_path = os.path.join(output_dir, "eval_results.txt")
    text = storage.read_bytes(text_path).decode("utf-8")
    results.write_text(text_path, "%s = %s\n\n%s" % (KEY, warning(reason, report.get("global_step")), text))
    log.warning(warning(reason, report.get("global_step")))
    return reason


def check_export(plan, evaluated: Optional[Dict]) -> None:
    """Refuses to export a model whose evaluation (this run's, or eval_results.json at the same step) collapsed."""
    if getattr(plan.options, EXPORT_FLAG):
        return
    if evaluated is not None:
        reason, step = evaluated.get(KEY), evaluated.get("global_step")
    else:
        reason, step = _saved_reason(plan)
    if reason:
        raise RunnerError(
            "--do_export: the model at step %s collapsed on the dev set (%s; see eval_results.txt in %s). "
            "Pass --%s to export it anyway." % (step, reason, plan.options.output_dir, EXPORT_FLAG)
        )


def _saved_reason(plan):
    """(reason, step) from --output_dir's eval_results.json when it scored the checkpoint being exported."""
    path = os.path.join(plan.options.output_dir, "eval_results.json")
    if not storage.exists(path):
        return None, None
    try:
        saved = json.loads(storage.read_bytes(path).decode("utf-8"))
    except ValueError:
        return None, None
    if not saved.get(KEY) or saved.get("global_step") != _checkpoint_step(plan):
        return None, None
    return saved[KEY], saved["global_step"]


def _checkpoint_step(plan) -> Optional[int]:
    import tensorflow.compat.v1 as tf

    checkpoint = plan.export_checkpoint or tf.train.latest_checkpoint(plan.options.output_dir)
    match = re.search(r"-(\d+)$", checkpoint or "")
    return int(match.group(1)) if match else None


def _update_json(path: str, fields: Dict) -> None:
    data = json.loads(storage.read_bytes(path).decode("utf-8"))
    data.update(fields)
    results.write_json(path, data)
