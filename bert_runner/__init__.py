"""Fine-tuning BERT on TensorFlow 1.15 estimators, for more than one task family.

The data's way: task (`tasks.py`) -> checked plan (`plan.py`, `checks.py`,
`labels.py`) -> features (featurizer/) -> TFRecords (`records.py`,
`inputs.py`) -> estimator (`estimator.py`, `model.py`, `optimization.py`,
`distribute.py`, `hooks.py`) -> train/evaluate/predict/export (`steps.py`,
export/) -> result files (`results.py`). What depends on the task family is in
one class (`family.py` describes the interface; `classification.py` is the
reference's sequence classifier). `run_classifier.py` is the command line;
`run.py` ties the stages together.
"""
