# featurizer/: its speed against the reference FullTokenizer (bench/featurizer.py, ~30 s; the
# reference needs TF: Python 3.7 venv).
.PHONY: bench-featurizer

bench-featurizer:
	$(PY) -m bench.featurizer
