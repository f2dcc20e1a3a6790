# Benchmarks (bench/README.md).
#   make bench-quality   fine-tune all-MiniLM-L6-v2 on the SMS spam split and compare it with TF-IDF
#                        baselines (5-15 min on 2 cores); BENCH_QUALITY_ARGS=--quick for a ~2 min
#                        smoke run. Skips when ../shared is absent.
.PHONY: bench-quality
BENCH_QUALITY_ARGS ?=

bench-quality: setup
	$(PY) bench/quality.py $(BENCH_QUALITY_ARGS)

#   make bench-serving   serving speed of all-MiniLM-L6-v2 on SMS test traffic: per-request server,
#                        batching server and length-aware batching on a dynamic-length export vs the
#                        offline limit (~4 min; builds the exports once under
#                        bench/results/serving_model). BENCH_SERVING_ARGS=--full for concurrency
#                        1,8,32,64 at 20 s a point (~6 min). Skips when ../shared is absent.
.PHONY: bench-serving
BENCH_SERVING_ARGS ?=
BENCH_TARGETS += bench-serving

bench-serving: setup
	$(PY) bench/serving.py $(BENCH_SERVING_ARGS)
