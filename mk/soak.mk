# Soak of the local model server (bench/soak.py; loopback, stops by itself).
#   make soak            60 s at concurrency 64: legit load through three hot swaps, a corrupt version,
#                        a reload of a missing path and hostile traffic; 0 legit failures required.
#                        SOAK_ARGS=--seconds=15 for the CI length (tests/bench/test_soak.py runs that);
#                        SOAK_ARGS=--gateway puts the text gateway in front (needs make setup-gateway).
.PHONY: soak
SOAK_ARGS ?=

soak: setup
	$(PY) bench/soak.py $(SOAK_ARGS)
