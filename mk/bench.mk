# Benchmarks (bench/README.md).
#   make bench-quality         fine-tune all-MiniLM-L6-v2 on the SMS spam split and compare it with
#                              a TF-IDF baseline (~10 min on 2 cores); BENCH_QUALITY_ARGS=--quick
#                              for a ~2 min smoke run. Skips when ../shared is absent.
.PHONY: bench-quality
BENCH_QUALITY_ARGS ?=

bench-quality: setup
	$(PY) bench/quality.py $(BENCH_QUALITY_ARGS)
