"""Fine-tuning BERT classifiers on TensorFlow 1.15 estimators.

text -> features (featurizer/) -> TFRecords (records.py) -> estimator
(model.py, train.py) -> SavedModel (export/). `run_classifier.py` is the
command line; `run.py` ties the stages together.
"""
