# serving_client/: featurizer speed against the reference tokenizer (needs TF: Python 3.7 venv).
.PHONY: bench-featurizer

bench-featurizer:
	$(PY) -m bench.featurizer
