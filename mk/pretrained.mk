# Pretrained weights: `make pretrained` downloads, verifies and converts all-MiniLM-L6-v2 once.
.PHONY: pretrained test-pretrained

pretrained: setup
	$(PY) -m pretrained fetch

test-pretrained: setup
	$(PY) -m pytest $(PYTEST_ARGS) tests/pretrained
