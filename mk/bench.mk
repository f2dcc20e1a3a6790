# Benchmarks (bench/README.md).
#   make bench-quality   fine-tune all-MiniLM-L6-v2 on the SMS spam split and compare it with TF-IDF
#                        baselines (5-15 min on 2 cores); BENCH_QUALITY_ARGS=--quick for a ~2 min
#                        smoke run. Skips when ../shared is absent.
.PHONY: bench-quality
BENCH_QUALITY_ARGS ?=

bench-quality: setup
	$(PY) -m bench.quality $(BENCH_QUALITY_ARGS)

#   make bench-serving   serving speed of all-MiniLM-L6-v2 on SMS test traffic: per-request server,
#                        batching server and length-aware batching on a dynamic-length export vs the
#                        offline limit (~4 min; builds the exports once under
#                        bench/results/serving_model). BENCH_SERVING_ARGS=--full for concurrency
#                        1,8,32,64 at 20 s a point, plus (a0) (~12 min). Skips when ../shared is absent.
.PHONY: bench-serving
BENCH_SERVING_ARGS ?=
BENCH_TARGETS += bench-serving

bench-serving: setup
	$(PY) -m bench.serving $(BENCH_SERVING_ARGS)

#   make bench-ner       named entity recognition on WNUT-17: fine-tuned all-MiniLM-L6-v2 vs a CRF
#                        (entity F1 per type), training speed of length-aware vs fixed-128 padding,
#                        client + local server texts/sec at concurrency 1 and 32 (~45 min on 2
#                        shared cores); BENCH_NER_ARGS=--quick for a smoke run. Skips when
#                        ../shared is absent.
.PHONY: bench-ner
BENCH_NER_ARGS ?=
BENCH_TARGETS += bench-ner

bench-ner: setup
	$(PY) -m bench.ner $(BENCH_NER_ARGS)

#   make bench-finetune  fine-tuning speed, our run_classifier.py vs Google's reference
#                        bert.run_classifier on the SMS split: quick run by default (800 stratified
#                        train rows, 1 epoch, ~2-5 min on 2 cores); BENCH_FINETUNE_ARGS=--full for the
#                        issue's setting (all 4460 rows, ~6 min quiet, 20+ min loaded). Skips when
#                        ../shared is absent. BENCH_FINETUNE_ARGS="--variants length,trainer" adds
#                        Hugging Face's Trainer on PyTorch, whose .venv-torch (~5.6 GB) the bench
#                        builds on the first such run (bench/torch_venv.py); never part of make test.
#   make bench-gelu      the exact GELU's forms on TF 1.15 (~30 s): bert_runner/gelu.py against
#                        tf.math.erf, the tanh form and two other erf approximations, time and accuracy
#   make bench           every benchmark in BENCH_TARGETS, one after another (also under make -j:
#                        benchmarks running side by side would skew each other's figures)
.PHONY: bench-finetune bench-gelu bench
BENCH_FINETUNE_ARGS ?=
BENCH_GELU_ARGS ?=
BENCH_TARGETS += bench-featurizer bench-quality bench-finetune bench-server bench-gelu

bench-finetune: setup
	$(PY) -m bench.finetune $(BENCH_FINETUNE_ARGS)

bench-gelu: setup
	$(PY) -m bench.gelu $(BENCH_GELU_ARGS)

bench:
	@set -e; for target in $(BENCH_TARGETS); do \
	  echo "==> make $$target"; $(MAKE) --no-print-directory $$target; done
