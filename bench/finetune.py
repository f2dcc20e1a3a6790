"""Fine-tuning speed and quality: the project's run_classifier.py vs Google's reference bert.run_classifier.

    .venv/bin/python -m bench.finetune          # DEFAULT, quick: 800 of the 4460 train rows
                                                # (stratified), 1 epoch, seeds 1,2,3; ~30 min (quiet)
    .venv/bin/python -m bench.finetune --full   # the issue's setting: all 4460 train rows, 1 epoch,
                                                # max_seq_length 128, batch 32; ~20 min a seed (quiet)
    .venv/bin/python -m bench.finetune --seeds 3 --variants reference,length   # one case
    .venv/bin/python -m bench.finetune --seeds 1 --variants length,trainer     # against the PyTorch Trainer

Both runners fine-tune all-MiniLM-L6-v2 (`python -m pretrained fetch`) on the SMS spam
split with the same max_seq_length, batch size, learning rate, epochs and warm-up, each
as its own process doing --do_train --do_eval --do_predict on the same rows:

- the reference, unmodified: `python -m bert.run_classifier --task_name=cola` on a copy
  of the split in CoLA's layout (spam = "1", ham = "0") in a temporary directory;
- ours (`--variants`): "length", its defaults (shuffled batches padded to their longest,
  each run as 4 length-sorted micro-batches with the batch's loss; cached features);
  "whole", `--train_micro_batches=1` (the same batches run whole, the default before
  micro-batches); "fixed", `--dynamic_padding=false --train_micro_batches=1` (every batch
  padded to max_seq_length and run whole, as the reference); and, on request, "sorted8",
  `--length_chunk_batches=8 --train_micro_batches=1` (batches sorted by length within
  random chunks of 8 batches);
- the peer a PyTorch user would pick, on request ("trainer"): Hugging Face's Trainer
  (bench/hf_trainer.py) on the same all-MiniLM-L6-v2 files, rows, steps, batch size, learning
  rate, warm-up and max length, with dynamic padding and --trainer_threads threads, in
  .venv-torch, which bench/torch_venv.py builds on demand (~5 GB: PyPI's torch pulls CUDA).

Every seed of `--seeds` picks its own quick subset and is ours' `--seed`; all variants of a
seed train on the same rows.

Measured for each run:
- steady training examples/sec, from the end of step 6 to the last step (the first
  steps pay one-off costs: graph optimisation, first allocations of each micro-batch
  width): ours from the arrival times of its per-step progress lines, the reference
  from its `global_step/sec` lines x batch size (one per step; if there are none,
  from the checkpoint-save timestamps, which then include the first step);
- training-phase examples/sec: trained examples / seconds from process start until
  `estimator.train` returned (imports, featurizing, graph building, checkpoint loading
  and saving included; ours: the mtime of its train_summary-*.json, the reference: its
  "Loss for final step" line);
- total wall time and CPU time of the process (CPU time does not depend on what else
  runs on the machine; the CPU the rest of the machine used meanwhile is recorded too);
- dev accuracy (eval_results.txt) and test accuracy, spam precision/recall/F1 from
  test_results.tsv against the test labels.
The reference has no seed flag, so its quality figures vary from run to run.

Prints, per seed, a table with the ratio ours / reference, then a table over seeds (test
errors of every variant with mean and standard deviation, speed ratios against the
reference of the same seed); writes bench/results/finetune.json, finetune.png and every
process's log with arrival times (finetune-<variant>-seed<N>.log). Skips with a message
when ../shared is absent.
"""

import argparse
import csv
import datetime
import glob
import json
import math
import os
import platform
import random
import re
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

from bench.quality import (  # TF-free
    DEFAULT_DATA_DIR,
    DEFAULT_RESULTS_DIR,
    LABELS,
    POSITIVE,
    _pyplot,
    _shown,
    headline,
    read_split,
    score,
    sms_split_present,
)
from bench import hf_trainer, torch_venv  # TF-free; hf_trainer imports torch only in its main()
from bert_contract.model_config import GELU_EXACT

# The reference's CoLA task has labels "0" and "1"; spam is the positive class.
COLA_LABELS = {"ham": "0", "spam": "1"}
QUICK_TRAIN_EXAMPLES = 800
SPEED_TARGET = 3.0  # ours / reference, steady training examples/sec (the issue)
# Steady figures start at the end of this step on both sides, as the runner's own
# (bert_runner.hooks.STEADY_FROM_STEP): the first steps pay one-off costs.
STEADY_FROM_STEP = 6


class BenchError(Exception):
    """A run that failed or left output this benchmark cannot read."""


# ---------------------------------------------------------------- data


def stratified_subset(labels: Sequence[str], size: int, seed: int) -> List[int]:
    """Row indices of about `size` rows with each label's share kept, in file order."""
    by_label = {}  # type: Dict[str, List[int]]
    for i, label in enumerate(labels):
        by_label.setdefault(label, []).append(i)
    rng = random.Random(seed)
    chosen = []  # type: List[int]
    for label in sorted(by_label):
        rows = by_label[label]
        wanted = max(1, int(round(size * len(rows) / float(len(labels)))))
        chosen += rng.sample(rows, min(wanted, len(rows)))
    return sorted(chosen)


def _check_text(text: str, where: str) -> str:
    if "\t" in text or "\n" in text or "\r" in text:
        raise BenchError("%s: the text holds a tab or line break, which an unquoted TSV cannot carry" % where)
    return text


def write_generic_tsv(path: str, texts: Sequence[str], labels: Sequence[str]) -> None:
    """`label<TAB>text` with a header, the layout of ../shared/data/sms_spam."""
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("label\ttext\n")
        for i, (text, label) in enumerate(zip(texts, labels)):
            f.write("%s\t%s\n" % (label, _check_text(text, "%s row %d" % (path, i + 1))))


def cola_lines(split: str, texts: Sequence[str], labels: Sequence[str]) -> List[str]:
    """The rows of a CoLA file for the reference's ColaProcessor.

    train/dev: no header, `id<TAB>label<TAB>*<TAB>text`; test: header `index<TAB>sentence`,
    then `index<TAB>text` (the reference reads no labels from it).
    """
    if split == "test":
        return ["index\tsentence"] + [
            "%d\t%s" % (i, _check_text(text, "test row %d" % (i + 1))) for i, text in enumerate(texts)]
    lines = []
    for i, (text, label) in enumerate(zip(texts, labels)):
        if label not in COLA_LABELS:
            raise BenchError("%s row %d: label %r is not one of %s" % (split, i + 1, label, sorted(COLA_LABELS)))
        lines.append("%s-%d\t%s\t*\t%s" % (split, i, COLA_LABELS[label], _check_text(text, "%s row %d" % (split, i + 1))))
    return lines


def write_cola_dir(data_dir: str, splits: Dict[str, Tuple[Sequence[str], Sequence[str]]]) -> None:
    """train.tsv, dev.tsv, test.tsv in CoLA's layout from (texts, labels) per split."""
    os.makedirs(data_dir, exist_ok=True)
    for split, (texts, labels) in splits.items():
        with open(os.path.join(data_dir, split + ".tsv"), "w", encoding="utf-8", newline="") as f:
            f.write("\n".join(cola_lines(split, texts, labels)) + "\n")


# ---------------------------------------------------------------- outputs of a run


def parse_eval_results(text: str) -> Dict[str, float]:
    """eval_results.txt (`key = value` per line, both runners) as numbers."""
    results = {}
    for line in text.splitlines():
        key, sep, value = line.partition(" = ")
        if sep:
            try:
                results[key.strip()] = float(value)
            except ValueError:
                pass
    return results


def read_probabilities(path: str) -> List[List[float]]:
    """test_results.tsv: one row of class probabilities per test example, no header."""
    with open(path, encoding="utf-8") as f:
        rows = [line.rstrip("\n").split("\t") for line in f if line.strip()]
    try:
        return [[float(value) for value in row] for row in rows]
    except ValueError as e:
        raise BenchError("%s: %s" % (path, e))


def predicted_labels(probabilities: Sequence[Sequence[float]], label_order: Sequence[str]) -> List[str]:
    """The most probable label of each row; columns follow `label_order`."""
    return [label_order[max(range(len(row)), key=row.__getitem__)] for row in probabilities]


def quality_figures(output_dir: str, label_order: Sequence[str], test_labels: Sequence[str]) -> Dict[str, float]:
    """Dev accuracy from eval_results.txt; test accuracy and spam P/R/F1 from test_results.tsv."""
    eval_path = os.path.join(output_dir, "eval_results.txt")
    results_path = os.path.join(output_dir, "test_results.tsv")
    for path in (eval_path, results_path):
        if not os.path.isfile(path):
            raise BenchError("the run wrote no %s" % path)
    with open(eval_path, encoding="utf-8") as f:
        dev = parse_eval_results(f.read())
    probabilities = read_probabilities(results_path)
    if len(probabilities) != len(test_labels):
        raise BenchError("%s has %d rows for %d test examples" % (results_path, len(probabilities), len(test_labels)))
    test = headline(score(test_labels, predicted_labels(probabilities, label_order)))
    return dict({"dev_accuracy": dev.get("eval_accuracy"), "dev_loss": dev.get("eval_loss")},
                **{"test_" + key: value for key, value in test.items()})


# ---------------------------------------------------------------- logs


class LogLine(NamedTuple):
    seconds: float  # since the process started
    text: str
    cpu: Optional[float] = None  # CPU seconds the process had used by then


OURS_PROGRESS = re.compile(r"step (\d+)/(\d+) \(\d+%\).*?([0-9.]+) examples/sec \(([0-9.]+) overall\)")
REFERENCE_STEP_RATE = re.compile(r"global_step/sec: ([0-9.eE+-]+)")
REFERENCE_SAVE = re.compile(r"Saving checkpoints for (\d+) into")
REFERENCE_TRAIN_DONE = re.compile(r"Loss for final step")
# Lines worth echoing to the console while a run goes on (the reference logs a lot).
NOTABLE = re.compile(r"examples/sec|Running (training|evaluation|prediction)|Loss for final step|"
                     r"eval_accuracy = |eval: accuracy|^error|Error|Traceback")
RATE = re.compile(r"examples/sec")
# tf.logging's and absl's prefixes; the reference prints every message with both.
LOG_PREFIX = re.compile(r"^(INFO:tensorflow:|[IWEF]\d{4} [\d:.]+ +\d+ [\w.]+:\d+\] )")


class Echo:
    """Prints a run's notable lines once each, its speed lines at most every `rate_every` s."""

    def __init__(self, prefix: str, rate_every: float = 30.0):
        self.prefix = prefix
        self.rate_every = rate_every
        self._last_message = None
        self._last_rate = -rate_every

    def __call__(self, line: "LogLine") -> None:
        message = LOG_PREFIX.sub("", line.text)
        if not NOTABLE.search(message) or message == self._last_message:
            return
        if RATE.search(message):
            if line.seconds - self._last_rate < self.rate_every:
                return
            self._last_rate = line.seconds
        self._last_message = message
        print("%s %7.1fs  %s" % (self.prefix, line.seconds, message[:160]), file=sys.stderr, flush=True)


def ours_steady_rate(lines: Sequence[LogLine], batch_size: int) -> Optional[float]:
    """Examples/sec over our progress lines from step STEADY_FROM_STEP to the last."""
    span = ours_step_span(lines)
    return span.steps * batch_size / span.seconds if span else None


def tf_logging_lines(lines: Sequence[LogLine]) -> Sequence[LogLine]:
    """The reference prints each message twice (tf.logging's and absl's handler): keep one copy."""
    tf_lines = [line for line in lines if line.text.startswith("INFO:tensorflow:")]
    return tf_lines or lines


def reference_step_rates(lines: Sequence[LogLine]) -> List[float]:
    """The reference's `global_step/sec` figures, after the first step.

    TPUEstimator logs one every ceil(log_step_count_steps / iterations_per_loop) steps,
    which is every step with the reference's defaults (100 / 1000).
    """
    return [float(m.group(1)) for m in (REFERENCE_STEP_RATE.search(line.text) for line in tf_logging_lines(lines)) if m]


def first_time(lines: Sequence[LogLine], pattern) -> Optional[float]:
    for line in lines:
        if pattern.search(line.text):
            return line.seconds
    return None


def reference_steady_rate(lines: Sequence[LogLine], batch_size: int) -> Tuple[Optional[float], str]:
    """Examples/sec of the reference's training steps, and where the figure comes from."""
    rates = reference_step_rates(lines)
    if rates:
        # On CPU each line covers one step, the first line step 2: leave the warm-up steps out
        # as for ours. The rate over the rest is their harmonic mean.
        steady = rates[STEADY_FROM_STEP - 1:] or rates
        return (batch_size * len(steady) / sum(1.0 / rate for rate in steady),
                "global_step/sec x batch size (after step %d)" % (STEADY_FROM_STEP if steady is not rates else 1))
    saves = [(int(m.group(1)), line.seconds) for m, line in ((REFERENCE_SAVE.search(l.text), l) for l in lines) if m]
    if len(saves) >= 2 and saves[-1][0] > saves[0][0] and saves[-1][1] > saves[0][1]:
        (first_step, start), (last_step, end) = saves[0], saves[-1]
        return (last_step - first_step) * batch_size / (end - start), "checkpoint-save timestamps (first step included)"
    return None, "not in the log"


class Span(NamedTuple):
    """Training steps between two progress lines of a log, for CPU time per step."""

    steps: int
    seconds: float
    cpu_seconds: Optional[float]


def _span(steps: int, first: LogLine, last: LogLine) -> Optional[Span]:
    if steps < 1 or last.seconds <= first.seconds:
        return None
    cpu = last.cpu - first.cpu if first.cpu is not None and last.cpu is not None else None
    return Span(steps, last.seconds - first.seconds, cpu)


def ours_step_span(lines: Sequence[LogLine]) -> Optional[Span]:
    """From our progress line at step STEADY_FROM_STEP (or the first after it) to our last."""
    marks = [(int(m.group(1)), line) for m, line in ((OURS_PROGRESS.search(l.text), l) for l in lines) if m]
    steady = [(step, line) for step, line in marks if step >= STEADY_FROM_STEP]
    if len(steady) < 2:
        steady = marks  # a run too short for a warm-up: from the first progress line
    if len(steady) < 2:
        return None
    return _span(steady[-1][0] - steady[0][0], steady[0][1], steady[-1][1])


def reference_step_span(lines: Sequence[LogLine], train_steps: int) -> Optional[Span]:
    """From the reference's `global_step/sec` line at step STEADY_FROM_STEP to its last (evenly spaced in steps)."""
    marks = [line for line in tf_logging_lines(lines) if REFERENCE_STEP_RATE.search(line.text)]
    if len(marks) < 2:
        return None
    # The first line comes one interval after the first step; the last interval may be partial.
    steps_per_line = max(1, (train_steps - 1) // len(marks))
    first = (STEADY_FROM_STEP - 1) // steps_per_line - 1
    if first < 0 or first >= len(marks) - 1:
        first = 0
    return _span((len(marks) - 1 - first) * steps_per_line, marks[first], marks[-1])


def cpu_at(lines: Sequence[LogLine], seconds: Optional[float]) -> Optional[float]:
    """CPU seconds of the process at the first line printed at or after `seconds`."""
    if seconds is None:
        return None
    for line in lines:
        if line.seconds >= seconds:
            return line.cpu
    return None


# ---------------------------------------------------------------- running a process


class ProcessRun(NamedTuple):
    command: List[str]
    lines: List[LogLine]
    started_at: float  # time.time() at launch
    wall_seconds: float
    cpu_seconds: float  # user + system of the process
    others_cores: Optional[float]  # average CPU cores the rest of the machine used meanwhile
    load_average: Tuple[float, float]  # 1-minute load at start and end
    returncode: int


def process_cpu_seconds(pid: int) -> Optional[float]:
    """User + system CPU seconds of a running process and its threads (/proc/PID/stat)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat[stat.rfind(")") + 2:].split()  # after "pid (comm) "; comm may hold spaces
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _machine_busy_seconds() -> Optional[float]:
    """CPU seconds all cores spent busy since boot (/proc/stat), or None off Linux."""
    try:
        with open("/proc/stat") as f:
            fields = [float(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def run_logged(command: List[str], log_path: str, cwd: str, echo_prefix: str) -> ProcessRun:
    """Runs `command`, timestamping every output line as it arrives; the log goes to `log_path`."""
    env = dict(os.environ, PYTHONUNBUFFERED="1", TF_CPP_MIN_LOG_LEVEL="2")
    busy_before = _machine_busy_seconds()
    usage_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load_before = os.getloadavg()[0]
    lines = []  # type: List[LogLine]
    echo = Echo(echo_prefix)
    started_at = time.time()
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, cwd=cwd, env=env,
                               universal_newlines=True, encoding="utf-8", errors="replace")
    try:
        with open(log_path, "w", encoding="utf-8") as log:
            log.write("# %s\n# seconds since start, CPU seconds used by then, then the process's output\n"
                      % " ".join(shlex.quote(part) for part in command))
            for raw in process.stdout:
                line = LogLine(time.perf_counter() - start, raw.rstrip("\n"), process_cpu_seconds(process.pid))
                lines.append(line)
                log.write("%9.2f %8s %s\n" % (line.seconds, "%.2f" % line.cpu if line.cpu is not None else "-", line.text))
                log.flush()  # readable while the run goes on
                echo(line)
        returncode = process.wait()
    finally:
        if process.poll() is None:  # interrupted: do not leave a training process behind
            process.terminate()
            process.wait()
    wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (usage.ru_utime - usage_before.ru_utime) + (usage.ru_stime - usage_before.ru_stime)
    busy_after = _machine_busy_seconds()
    others = None
    if busy_before is not None and busy_after is not None:
        others = max(0.0, busy_after - busy_before - cpu) / wall
    return ProcessRun(command, lines, started_at, wall, cpu, others, (load_before, os.getloadavg()[0]), returncode)


# ---------------------------------------------------------------- the two runners


def pretrained_flags() -> List[str]:
    """The --bert_config_file/--vocab_file/--init_checkpoint/--do_lower_case flags of the cached model."""
    done = subprocess.run([sys.executable, "-m", "pretrained", "fetch"], cwd=REPO, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True)
    if done.returncode != 0:
        raise BenchError("python -m pretrained fetch failed: %s" % done.stderr.strip().splitlines()[-1:])
    return [line for line in done.stdout.splitlines() if line.startswith("--")]


def reference_compatible(model_flags: Sequence[str], work_dir: str) -> List[str]:
    """The model flags with a bert_config.json Google's modeling.py runs, used by both runners.

    The converter records Hugging Face's erf GELU as `"hidden_act": "gelu_exact"`, which the
    reference refuses; its only GELU is the tanh form it calls "gelu". Both runners get that
    copy, so they train the same model.
    """
    flags = []
    for flag in model_flags:
        name, _, value = flag.partition("=")
        if name == "--bert_config_file":
            with open(value, encoding="utf-8") as f:
                config = json.load(f)
            if config.get("hidden_act") == GELU_EXACT:
                config["hidden_act"] = "gelu"
                value = os.path.join(work_dir, "bert_config.json")
                with open(value, "w", encoding="utf-8") as f:
                    json.dump(config, f, indent=2)
            flag = "%s=%s" % (name, value)
        flags.append(flag)
    return flags


def common_flags(args, output_dir: str, model_flags: Sequence[str]) -> List[str]:
    """The flags both runners share (the reference's names)."""
    return [
        "--do_train=true", "--do_eval=true", "--do_predict=true",
        "--output_dir=%s" % output_dir,
        *model_flags,
        "--max_seq_length=%d" % args.max_seq_length,
        "--train_batch_size=%d" % args.train_batch_size,
        "--eval_batch_size=%d" % args.eval_batch_size,
        "--predict_batch_size=%d" % args.eval_batch_size,
        "--learning_rate=%g" % args.learning_rate,
        "--num_train_epochs=%g" % args.num_train_epochs,
        "--warmup_proportion=%g" % args.warmup_proportion,
    ]


def reference_command(args, data_dir: str, output_dir: str, model_flags: Sequence[str]) -> List[str]:
    return [sys.executable, "-m", "bert.run_classifier", "--task_name=cola", "--data_dir=%s" % data_dir,
            *common_flags(args, output_dir, model_flags)]


# Our runner's variants: the flags each adds to the common ones.
OURS_VARIANTS = {
    "length": [],  # the defaults: shuffled batches padded to their longest, run as micro-batches
    "whole": ["--train_micro_batches=1"],
    "fixed": ["--dynamic_padding=false", "--train_micro_batches=1"],
    # faster, label-skewed batches (bench/README.md)
    "sorted8": ["--length_chunk_batches=8", "--train_micro_batches=1"],
}
TRAINER = "trainer"  # Hugging Face's Trainer on PyTorch: opt-in (its venv is ~5 GB)
VARIANTS = ("reference", "fixed", "whole", "length", "sorted8", TRAINER)
DEFAULT_VARIANTS = ("reference", "fixed", "whole", "length")
TRAINER_DONE = re.compile(r"^%s$" % re.escape(hf_trainer.TRAIN_DONE))


def ours_command(args, train_file: Optional[str], output_dir: str, model_flags: Sequence[str],
                 variant: str = "length") -> List[str]:
    command = [sys.executable, os.path.join(REPO, "run_classifier.py"), "--task_name=generic",
               "--data_dir=%s" % args.data_dir, "--labels=%s" % ",".join(LABELS)]
    if train_file:
        command.append("--train_file=%s" % train_file)
    # A progress line every step, like the reference's global_step/sec lines, so the CPU cost
    # per step is measured over the same steps (both then also count steps every step).
    extra = OURS_VARIANTS[variant] + (list(args.ours_flag or []) if variant == "length" else [])
    return (command + common_flags(args, output_dir, model_flags)
            + ["--seed=%d" % args.seed, "--log_every_steps=1"] + extra)


def hf_dir_of(model_flags: Sequence[str]) -> str:
    """The Hugging Face directory `python -m pretrained fetch` unpacked beside the converted checkpoint."""
    for flag in model_flags:
        name, _, value = flag.partition("=")
        if name == "--init_checkpoint":
            from pretrained.fetch import HF_SUBDIR

            hf_dir = os.path.join(os.path.dirname(value), HF_SUBDIR)
            if not os.path.isfile(os.path.join(hf_dir, "config.json")):
                raise BenchError("the trainer variant needs the Hugging Face files of the pretrained model in %s "
                                 "(python -m pretrained fetch --force unpacks them)" % hf_dir)
            return hf_dir
    raise BenchError("the pretrained flags name no --init_checkpoint: %s" % " ".join(model_flags))


def trainer_command(args, python: str, hf_dir: str, train_file: Optional[str], output_dir: str,
                    steps: int) -> List[str]:
    """bench/hf_trainer.py in the torch venv, with the settings of the other runners."""
    command = [python, os.path.join(HERE, "hf_trainer.py"), "--hf_dir=%s" % hf_dir,
               "--data_dir=%s" % args.data_dir, "--labels=%s" % ",".join(LABELS), "--output_dir=%s" % output_dir]
    if train_file:
        command.append("--train_file=%s" % train_file)
    return command + [
        "--max_seq_length=%d" % args.max_seq_length,
        "--train_batch_size=%d" % args.train_batch_size,
        "--eval_batch_size=%d" % args.eval_batch_size,
        "--learning_rate=%g" % args.learning_rate,
        "--max_steps=%d" % steps,
        "--warmup_proportion=%g" % args.warmup_proportion,
        "--seed=%d" % args.seed,
        "--threads=%d" % args.trainer_threads,
    ]


def train_steps(num_examples: int, batch_size: int, epochs: float) -> int:
    """Both runners' step count: int(examples / batch size * epochs), last partial batch dropped."""
    return int(num_examples / batch_size * epochs)


def speed_figures(run: ProcessRun, train_seconds: Optional[float], steady: Optional[float], steady_source: str,
                  span: Optional[Span], steps: int, batch_size: int) -> Dict:
    """Speed of one run; `span` (steps between two progress lines) gives the CPU cost per step."""
    examples = steps * batch_size
    train_cpu = cpu_at(run.lines, train_seconds)
    span_cpu = span.cpu_seconds if span else None
    return {
        "train_steps": steps,
        "train_examples": examples,
        "steady_examples_per_sec": steady,
        "steady_source": steady_source,
        # Less sensitive to what else runs on the machine than examples/sec.
        "steady_examples_per_cpu_second": span.steps * batch_size / span_cpu if span_cpu else None,
        "steady_cpu_cores_used": span_cpu / span.seconds if span_cpu else None,
        "steady_span": span._asdict() if span else None,
        "train_phase_seconds": train_seconds,
        "train_phase_examples_per_sec": examples / train_seconds if train_seconds else None,
        "train_phase_cpu_seconds": train_cpu,
        # Training-phase time not spent in steady steps: start-up, featurizing, graph
        # building, checkpoint loading and saving, and the warm-up steps beyond the steady pace.
        "outside_steps_seconds": train_seconds - (steps - 1) * batch_size / steady if train_seconds and steady else None,
        "total_seconds": run.wall_seconds,
        "cpu_seconds": run.cpu_seconds,
        "cpu_cores_used": run.cpu_seconds / run.wall_seconds,
        "others_cpu_cores": run.others_cores,
        "load_average_1min": list(run.load_average),
    }


def _finished(run: ProcessRun, name: str, log_path: str) -> None:
    if run.returncode != 0:
        tail = "\n".join("    " + line.text for line in run.lines[-25:])
        raise BenchError("the %s run failed (exit status %d); its log is %s, ending with:\n%s"
                         % (name, run.returncode, _shown(log_path), tail))


def run_reference(args, work_dir: str, splits, model_flags, steps: int) -> Tuple[Dict, ProcessRun]:
    data_dir = os.path.join(work_dir, "cola_data")
    output_dir = os.path.join(work_dir, "reference")
    write_cola_dir(data_dir, splits)
    log_path = os.path.join(args.results_dir, log_name("reference", args.seed))
    run = run_logged(reference_command(args, data_dir, output_dir, model_flags), log_path, work_dir,
                     "[reference seed %d]" % args.seed)
    _finished(run, "reference", log_path)
    steady, source = reference_steady_rate(run.lines, args.train_batch_size)
    figures = speed_figures(run, first_time(run.lines, REFERENCE_TRAIN_DONE), steady, source,
                            reference_step_span(run.lines, steps), steps, args.train_batch_size)
    label_order = [label for _, label in sorted((cola, label) for label, cola in COLA_LABELS.items())]
    figures.update(quality_figures(output_dir, label_order, splits["test"][1]))
    return figures, run


def log_name(variant: str, seed: int) -> str:
    return "finetune-%s-seed%d.log" % (variant, seed)


def run_ours(args, work_dir: str, train_file: Optional[str], test_labels, model_flags, steps: int,
             variant: str = "length") -> Tuple[Dict, ProcessRun]:
    output_dir = os.path.join(work_dir, variant)
    log_path = os.path.join(args.results_dir, log_name(variant, args.seed))
    run = run_logged(ours_command(args, train_file, output_dir, model_flags, variant), log_path, work_dir,
                     "[%s seed %d]" % (variant, args.seed))
    _finished(run, variant, log_path)
    summaries = glob.glob(os.path.join(output_dir, "train_summary-*.json"))
    train_seconds = os.path.getmtime(summaries[0]) - run.started_at if summaries else None
    figures = speed_figures(run, train_seconds, ours_steady_rate(run.lines, args.train_batch_size),
                            "progress log times (after step %d)" % STEADY_FROM_STEP, ours_step_span(run.lines),
                            steps, args.train_batch_size)
    with open(os.path.join(output_dir, "label_list.txt"), encoding="utf-8") as f:
        label_order = [line.strip() for line in f if line.strip()]
    figures.update(quality_figures(output_dir, label_order, test_labels))
    return figures, run


def run_trainer(args, work_dir: str, train_file: Optional[str], test_labels, steps: int) -> Tuple[Dict, ProcessRun]:
    """Hugging Face's Trainer: timed and scored as ours (its progress lines have our format)."""
    output_dir = os.path.join(work_dir, TRAINER)
    log_path = os.path.join(args.results_dir, log_name(TRAINER, args.seed))
    command = trainer_command(args, args.torch_python, args.hf_dir, train_file, output_dir, steps)
    run = run_logged(command, log_path, work_dir, "[%s seed %d]" % (TRAINER, args.seed))
    _finished(run, TRAINER, log_path)
    return trainer_figures(run, output_dir, test_labels, steps, args.train_batch_size), run


def trainer_figures(run: ProcessRun, output_dir: str, test_labels, steps: int, batch_size: int) -> Dict:
    """Speed from the Trainer's log (steady span after step STEADY_FROM_STEP, TRAIN_DONE's arrival), quality from its files."""
    figures = speed_figures(run, first_time(run.lines, TRAINER_DONE), ours_steady_rate(run.lines, batch_size),
                            "progress log times (after step %d)" % STEADY_FROM_STEP, ours_step_span(run.lines),
                            steps, batch_size)
    with open(os.path.join(output_dir, "label_list.txt"), encoding="utf-8") as f:
        label_order = [line.strip() for line in f if line.strip()]
    figures.update(quality_figures(output_dir, label_order, test_labels))
    return figures


# ---------------------------------------------------------------- report


SPEED_ROWS = (
    ("steady_examples_per_sec", "training examples/sec, steady (after step %d)" % STEADY_FROM_STEP, "%.1f"),
    ("steady_examples_per_cpu_second", "training examples per CPU-second, steady", "%.2f"),
    ("steady_cpu_cores_used", "  cores the run got during steady steps", "%.2f"),
    ("train_phase_examples_per_sec", "training examples/sec, whole training phase", "%.1f"),
    ("train_phase_seconds", "training phase, s (start until train returns)", "%.1f"),
    ("outside_steps_seconds", "  of which outside steady steps, s", "%.1f"),
    ("train_phase_cpu_seconds", "training phase, CPU s", "%.1f"),
    ("total_seconds", "total wall time, s (train + eval + predict)", "%.1f"),
    ("cpu_seconds", "total CPU time, s", "%.1f"),
    ("others_cpu_cores", "cores used by other processes meanwhile", "%.2f"),
)
QUALITY_ROWS = (
    ("dev_accuracy", "dev accuracy", "%.4f"),
    ("test_accuracy", "test accuracy", "%.4f"),
    ("test_spam_precision", "test spam precision", "%.4f"),
    ("test_spam_recall", "test spam recall", "%.4f"),
    ("test_spam_f1", "test spam F1", "%.4f"),
    ("test_errors", "test errors", "%d"),
)


def ratios(reference: Dict, ours: Dict) -> Dict[str, Optional[float]]:
    """ours / reference for every speed figure both runs have."""
    out = {}
    for key, _, _ in SPEED_ROWS:
        a, b = ours.get(key), reference.get(key)
        out[key] = a / b if a is not None and b else None
    return out


def format_tables(reference: Dict, ours: Dict) -> str:
    """Speed rows with ours / reference; quality rows with ours - reference."""
    width = 48

    def cell(fmt, value):
        return ("%12s" % (fmt % value)) if value is not None else "%12s" % "n/a"

    lines = ["%-*s %12s %12s %12s" % (width, "speed", "reference", "ours", "ours / ref")]
    ratio = ratios(reference, ours)
    for key, label, fmt in SPEED_ROWS:
        lines.append("%-*s %s %s %s" % (width, label, cell(fmt, reference.get(key)), cell(fmt, ours.get(key)),
                                         cell("%.2fx", ratio[key])))
    lines += ["", "%-*s %12s %12s %12s" % (width, "quality", "reference", "ours", "ours - ref")]
    for key, label, fmt in QUALITY_ROWS:
        a, b = reference.get(key), ours.get(key)
        diff = None if a is None or b is None else b - a
        lines.append("%-*s %s %s %s" % (width, label, cell(fmt, a), cell(fmt, b),
                                         cell("%+d" if fmt == "%d" else "%+.4f", diff)))
    return "\n".join(lines)


def verdict(reference: Dict, ours: Dict, num_test: int) -> List[str]:
    """The issue's speed target, a warning when the runs got unequal CPU, and the test-error noise."""
    ratio = ratios(reference, ours)
    lines = []
    for key, what in (("steady_examples_per_sec", "steady examples/sec"),
                      ("steady_examples_per_cpu_second", "steady examples per CPU-second")):
        if ratio[key] is not None:
            lines.append("speed target (ours >= %.0fx reference, %s): %s (%.2fx)"
                         % (SPEED_TARGET, what, "met" if ratio[key] >= SPEED_TARGET else "NOT met", ratio[key]))
    cores = reference.get("steady_cpu_cores_used"), ours.get("steady_cpu_cores_used")
    if None not in cores and max(cores) > 1.25 * min(cores):
        lines.append("note: the runs got unequal CPU during their steady steps (reference %.2f cores, ours %.2f): "
                     "the machine's load changed between them, so the examples/sec ratio is skewed; the "
                     "per-CPU-second ratio is the fairer one" % cores)
    error_rate = reference["test_errors"] / float(num_test)
    noise = math.sqrt(num_test * error_rate * (1 - error_rate))
    lines.append("test errors: ours %d, reference %d (one binomial standard error at the reference's error rate: "
                 "%.1f rows)" % (ours["test_errors"], reference["test_errors"], noise))
    return lines


def write_png(path: str, reference: Dict, ours: Dict, title: str) -> None:
    """Bars of reference vs ours: training speed, times, quality."""
    plt = _pyplot()
    panels = (
        ("training examples per second (higher is better)", (
            ("steady_examples_per_sec", "steady\n(wall clock)"), ("steady_examples_per_cpu_second", "steady\n(per CPU-second)"),
            ("train_phase_examples_per_sec", "training phase\n(wall clock)"))),
        ("seconds (lower is better)", (("train_phase_seconds", "training phase"), ("total_seconds", "total wall"),
                                       ("cpu_seconds", "total CPU"))),
        ("quality", (("dev_accuracy", "dev acc"), ("test_accuracy", "test acc"), ("test_spam_f1", "test spam F1"))),
    )
    figure, axes = plt.subplots(1, len(panels), figsize=(13, 4.2))
    for ax, (ylabel, keys) in zip(axes, panels):
        xs = range(len(keys))
        for offset, name, figures, color in ((-0.2, "reference", reference, "tab:gray"), (0.2, "ours", ours, "tab:blue")):
            values = [figures.get(key) or 0.0 for key, _ in keys]
            bars = ax.bar([x + offset for x in xs], values, 0.4, label=name, color=color)
            for bar, value in zip(bars, values):
                ax.annotate(("%.3f" if value < 2 else "%.1f" if value < 100 else "%.0f") % value, (bar.get_x() + bar.get_width() / 2, value),
                            ha="center", va="bottom", fontsize=8)
        ax.set_xticks(list(xs))
        ax.set_xticklabels([label for _, label in keys])
        ax.set_ylabel(ylabel)
        if ylabel == "quality":
            low = min(min(f.get(key) or 1.0 for key, _ in keys) for f in (reference, ours))
            ax.set_ylim(max(0.0, low - 0.05), 1.0)
        ax.legend(fontsize=8)
    figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


# ---------------------------------------------------------------- over seeds


class Spread(NamedTuple):
    mean: float
    sd: Optional[float]  # sample standard deviation; None for a single value

    def __str__(self) -> str:
        return "%.1f" % self.mean if self.sd is None else "%.1f ± %.1f" % (self.mean, self.sd)


def spread(values: Sequence[float]) -> Optional[Spread]:
    values = [v for v in values if v is not None]
    if not values:
        return None
    return Spread(statistics.mean(values), statistics.stdev(values) if len(values) > 1 else None)


def seed_summary(runs: Dict[int, Dict[str, Dict]]) -> Dict[str, Dict]:
    """Per variant, over seeds: test errors, steady examples/sec and its ratio to the same seed's reference."""
    seeds = sorted(runs)
    variants = [v for v in VARIANTS if any(v in runs[seed] for seed in seeds)]
    summary = {}
    for variant in variants:
        figures = {seed: runs[seed][variant] for seed in seeds if variant in runs[seed]}
        row = {"test_errors": {seed: f.get("test_errors") for seed, f in figures.items()}}
        for key in ("test_errors", "steady_examples_per_sec", "steady_examples_per_cpu_second", "test_spam_recall",
                    "total_seconds", "train_phase_seconds"):
            row[key + "_spread"] = spread([f.get(key) for f in figures.values()])
        for key in ("steady_examples_per_sec", "steady_examples_per_cpu_second"):
            ratios_ = [f.get(key) / runs[seed]["reference"][key] for seed, f in figures.items()
                       if "reference" in runs[seed] and f.get(key) and runs[seed]["reference"].get(key)]
            row[key + "_ratio"] = spread(ratios_)
        row["load_average_1min"] = {seed: f.get("load_average_1min") for seed, f in figures.items()}
        summary[variant] = row
    if "length" in summary and TRAINER in summary:
        # How much sooner than the PyTorch user ours is done, per seed (the trainer / ours).
        for key in ("total_seconds", "train_phase_seconds"):
            summary["length"][key + "_vs_trainer"] = spread([
                runs[seed][TRAINER][key] / runs[seed]["length"][key] for seed in seeds
                if TRAINER in runs[seed] and "length" in runs[seed]
                and runs[seed][TRAINER].get(key) and runs[seed]["length"].get(key)])
    return summary


def format_seed_table(summary: Dict[str, Dict], seeds: Sequence[int]) -> str:
    """A markdown table: test errors per seed, mean ± sd, speed and its ratio to the reference."""
    header = (["variant"] + ["errors, seed %d" % seed for seed in seeds]
              + ["errors, mean ± sd", "whole process s", "steady ex/s", "x reference", "x reference per CPU-s"])
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" + "---:|" * (len(header) - 1)]
    for variant, row in summary.items():
        errors = ["%d" % row["test_errors"][seed] if row["test_errors"].get(seed) is not None else "-" for seed in seeds]
        ratio, cpu_ratio = row["steady_examples_per_sec_ratio"], row["steady_examples_per_cpu_second_ratio"]
        cells = ([variant] + errors + [str(row["test_errors_spread"] or "-"),
                                        str(row.get("total_seconds_spread") or "-"),
                                        str(row["steady_examples_per_sec_spread"] or "-"),
                                        ("%.2fx" % ratio.mean) if ratio and variant != "reference" else "-",
                                        ("%.2fx" % cpu_ratio.mean) if cpu_ratio and variant != "reference" else "-"])
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def seed_verdict(summary: Dict[str, Dict]) -> List[str]:
    """The issue's targets: length-aware mean errors within one sd of fixed padding's; speed >= 3x."""
    lines = []
    length, fixed = summary.get("length"), summary.get("fixed")
    if length and fixed and length["test_errors_spread"] and fixed["test_errors_spread"]:
        mean, (fixed_mean, fixed_sd) = length["test_errors_spread"].mean, fixed["test_errors_spread"]
        if fixed_sd is not None:
            met = mean <= fixed_mean + fixed_sd
            lines.append("quality target (length-aware mean errors within one sd of fixed padding's, or below): "
                         "%s (%.1f against %.1f ± %.1f)" % ("met" if met else "NOT met", mean, fixed_mean, fixed_sd))
    if length and length["steady_examples_per_sec_ratio"]:
        ratio = length["steady_examples_per_sec_ratio"]
        lines.append("speed target (length-aware >= %.0fx reference, steady examples/sec, mean over seeds): %s (%s x)"
                     % (SPEED_TARGET, "met" if ratio.mean >= SPEED_TARGET else "NOT met", ratio))
    lines += trainer_verdict(summary)
    return lines


TRAINER_TARGET = 1.5  # issue #23: ours' whole process >= 1.5x faster than the PyTorch Trainer, errors no worse


def trainer_verdict(summary: Dict[str, Dict]) -> List[str]:
    """Ours (length-aware) against Hugging Face's Trainer: whole process time, training phase, test errors."""
    length, trainer = summary.get("length"), summary.get(TRAINER)
    if not length or not trainer or not length.get("total_seconds_vs_trainer"):
        return []
    whole, phase = length["total_seconds_vs_trainer"], length.get("train_phase_seconds_vs_trainer")

    def times(ratio):
        return "-" if not ratio else "%.2fx" % ratio.mean + ("" if ratio.sd is None else " ± %.2f" % ratio.sd)

    lines = ["against the PyTorch Trainer (whole process >= %.1fx faster, mean over seeds): %s (%s; training "
             "phase %s)" % (TRAINER_TARGET, "met" if whole.mean >= TRAINER_TARGET else "NOT met", times(whole),
                            times(phase))]
    ours_errors, its_errors = length["test_errors_spread"], trainer["test_errors_spread"]
    if ours_errors and its_errors:
        lines.append("against the PyTorch Trainer (test errors no worse, mean over seeds): %s (ours %s, Trainer %s)"
                     % ("met" if ours_errors.mean <= its_errors.mean else "NOT met", ours_errors, its_errors))
    return lines


# ---------------------------------------------------------------- main


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog="Default: the quick run (%d stratified train rows, 1 epoch). --full: all train rows, the issue's "
               "setting." % QUICK_TRAIN_EXAMPLES)
    parser.add_argument("--full", action="store_true",
                        help="train on all train rows (the issue's measurement, ~20 min a seed); "
                             "default: the quick run on %d stratified train rows (~10 min a seed)" % QUICK_TRAIN_EXAMPLES)
    parser.add_argument("--train_examples", type=int,
                        help="train rows to sample, stratified by label (default: %d, or all with --full)"
                             % QUICK_TRAIN_EXAMPLES)
    parser.add_argument("--data_dir", default=DEFAULT_DATA_DIR,
                        help="holds train.tsv, dev.tsv, test.tsv as label<TAB>text (default: %(default)s)")
    parser.add_argument("--results_dir", default=DEFAULT_RESULTS_DIR,
                        help="where finetune.json, finetune.png and the logs go (default: %(default)s)")
    parser.add_argument("--work_dir", help="keep every run's data and model directories here "
                                           "(default: a temporary directory, deleted at the end)")
    parser.add_argument("--num_train_epochs", type=float, default=1.0, help="(default: %(default)g)")
    parser.add_argument("--learning_rate", type=float, default=5e-5,
                        help="peak Adam learning rate (default: %(default)g, the reference's)")
    parser.add_argument("--train_batch_size", type=int, default=32, help="(default: %(default)s)")
    parser.add_argument("--eval_batch_size", type=int, default=32,
                        help="for dev and test, both runners (default: %(default)s)")
    parser.add_argument("--max_seq_length", type=int, default=128, help="(default: %(default)s)")
    parser.add_argument("--warmup_proportion", type=float, default=0.1, help="(default: %(default)g)")
    parser.add_argument("--seeds", type=seed_list, default=[1, 2, 3],
                        help="comma-separated; each picks the quick subset and is ours' --seed. The reference "
                             "has no seed flag (default: 1,2,3)")
    parser.add_argument("--variants", type=variant_list, default=list(DEFAULT_VARIANTS),
                        help="which runs, of %s (default: %s)" % (",".join(VARIANTS), ",".join(DEFAULT_VARIANTS)))
    parser.add_argument("--torch_venv", default=torch_venv.DEFAULT_VENV,
                        help="the trainer variant's venv, built there on demand from bench/requirements-torch.txt "
                             "(default: %(default)s)")
    parser.add_argument("--trainer_threads", type=int, default=os.cpu_count() or 1,
                        help="the trainer variant's torch threads (default: the machine's cores, %(default)s)")
    parser.add_argument("--ours_flag", action="append", metavar="FLAG",
                        help="an extra run_classifier.py flag for the length-aware variant (repeatable), "
                             "e.g. --ours_flag=--length_chunk_batches=16")
    args = parser.parse_args(argv)
    if args.train_examples is None and not args.full:
        args.train_examples = QUICK_TRAIN_EXAMPLES
    return args, parser


def seed_list(text: str) -> List[int]:
    try:
        seeds = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError("%r is not a comma-separated list of integers" % text)
    if not seeds or len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError("%r: give at least one seed, each once" % text)
    return seeds


def variant_list(text: str) -> List[str]:
    variants = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown or not variants:
        raise argparse.ArgumentTypeError("%r: variants are %s" % (text, ",".join(VARIANTS)))
    return [v for v in VARIANTS if v in variants]


def _git_commit() -> Optional[str]:
    done = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, stdout=subprocess.PIPE,
                          stderr=subprocess.DEVNULL, universal_newlines=True)
    return done.stdout.strip() or None


def _run_seed(args, work_dir: str, model_flags: List[str]) -> Dict:
    """Every variant of one seed (args.seed) on the same rows."""
    os.makedirs(work_dir, exist_ok=True)
    splits = {split: read_split(args.data_dir, split) for split in ("train", "dev", "test")}
    train_file = None
    texts, labels = splits["train"]
    if args.train_examples and args.train_examples < len(texts):
        rows = stratified_subset(labels, args.train_examples, args.seed)
        splits["train"] = ([texts[i] for i in rows], [labels[i] for i in rows])
        train_file = os.path.join(work_dir, "train-subset.tsv")
        write_generic_tsv(train_file, *splits["train"])
    num_train = len(splits["train"][0])
    steps = train_steps(num_train, args.train_batch_size, args.num_train_epochs)
    if steps < 1:
        raise BenchError("%d train rows at batch size %d make no training step" % (num_train, args.train_batch_size))
    print("seed %d: train %d rows (%d spam), %d steps of %d; dev %d, test %d rows"
          % (args.seed, num_train, splits["train"][1].count(POSITIVE), steps, args.train_batch_size,
             len(splits["dev"][0]), len(splits["test"][0])), file=sys.stderr)
    figures, commands = {}, {}
    for variant in args.variants:
        if variant == "reference":
            result, run = run_reference(args, work_dir, splits, model_flags, steps)
        elif variant == TRAINER:
            result, run = run_trainer(args, work_dir, train_file, splits["test"][1], steps)
        else:
            result, run = run_ours(args, work_dir, train_file, splits["test"][1], model_flags, steps, variant)
        figures[variant], commands[variant] = result, run.command
    return {
        "seed": args.seed,
        "mode": "full" if train_file is None else "quick",
        "rows": {"train": num_train, "dev": len(splits["dev"][0]), "test": len(splits["test"][0])},
        "train_steps": steps,
        "commands": commands,
        "figures": figures,
    }


def main(argv=None) -> int:
    args, parser = parse_args(argv)
    if not sms_split_present(args.data_dir, parser):
        return 0
    if args.work_dir and os.path.isdir(args.work_dir) and os.listdir(args.work_dir):
        parser.error("--work_dir=%s is not empty; the runners would resume from old checkpoints" % args.work_dir)
    os.makedirs(args.results_dir, exist_ok=True)
    work_dir = args.work_dir or tempfile.mkdtemp(prefix="bench-finetune-")
    os.makedirs(work_dir, exist_ok=True)
    started = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    load_before = os.getloadavg()
    per_seed = {}  # type: Dict[int, Dict]
    try:
        fetched = pretrained_flags()
        if TRAINER in args.variants:  # before any run: a failed build should cost no training
            args.hf_dir = hf_dir_of(fetched)
            args.torch_python = torch_venv.ensure(args.torch_venv)
        model_flags = reference_compatible(fetched, work_dir)
        for seed in args.seeds:
            args.seed = seed
            per_seed[seed] = _run_seed(args, os.path.join(work_dir, "seed-%d" % seed), model_flags)
            _print_seed(per_seed[seed])
            # After every seed, so a long run that is stopped keeps the seeds it finished.
            _write_results(args, started, load_before, model_flags, per_seed)
    except (BenchError, torch_venv.VenvError) as e:
        print("error: %s" % e, file=sys.stderr)
        return 1
    finally:
        if not args.work_dir:
            shutil.rmtree(work_dir, ignore_errors=True)

    first = per_seed[args.seeds[0]]
    summary = seed_summary({seed: run["figures"] for seed, run in per_seed.items()})
    title = ("fine-tuning all-MiniLM-L6-v2 on SMS spam (%s: %d train rows, %g epoch, max_seq_length %d, batch %d, "
             "lr %g), %d CPUs" % (first["mode"], first["rows"]["train"], args.num_train_epochs, args.max_seq_length,
                                  args.train_batch_size, args.learning_rate, os.cpu_count()))
    print()
    print(title)
    print("over seeds %s (test: %d rows; load average before: %s, after: %s)"
          % (",".join(map(str, args.seeds)), first["rows"]["test"], " ".join("%.2f" % v for v in load_before),
             " ".join("%.2f" % v for v in os.getloadavg())))
    print()
    print(format_seed_table(summary, args.seeds))
    print()
    print("\n".join(seed_verdict(summary)))
    figures = first["figures"]
    if "reference" in figures and "length" in figures:
        png = os.path.join(args.results_dir, "finetune.png")
        write_png(png, figures["reference"], figures["length"], title + ", seed %d" % first["seed"])
        print("wrote %s" % _shown(png))
    path = _write_results(args, started, load_before, model_flags, per_seed)
    print("wrote %s and the logs finetune-<variant>-seed<N>.log" % _shown(path))
    return 0


def _write_results(args, started: str, load_before, model_flags: List[str], per_seed: Dict[int, Dict]) -> str:
    """finetune.json: settings, every seed's figures and commands, the summary over seeds so far."""
    first = per_seed[min(per_seed, key=args.seeds.index)]
    summary = seed_summary({seed: run["figures"] for seed, run in per_seed.items()})
    results = {
        "date": started,
        "mode": first["mode"],
        "settings": {
            "data_dir": os.path.abspath(args.data_dir), "rows": first["rows"],
            "num_train_epochs": args.num_train_epochs, "train_steps": first["train_steps"],
            "learning_rate": args.learning_rate, "train_batch_size": args.train_batch_size,
            "eval_batch_size": args.eval_batch_size, "max_seq_length": args.max_seq_length,
            "warmup_proportion": args.warmup_proportion, "seeds": args.seeds, "variants": args.variants,
            "ours_flags": args.ours_flag or [], "pretrained_flags": model_flags,
            "trainer": ({"python": args.torch_python, "hf_dir": args.hf_dir, "threads": args.trainer_threads,
                         "requirements": os.path.relpath(torch_venv.REQUIREMENTS, REPO)}
                        if TRAINER in args.variants else None),
        },
        "seeds": {str(seed): run for seed, run in per_seed.items()},
        "summary": {variant: {key: (value._asdict() if isinstance(value, Spread) else value)
                              for key, value in row.items()} for variant, row in summary.items()},
        "load_average": {"before": list(load_before), "after": list(os.getloadavg())},
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    "git_commit": _git_commit()},
        "command": " ".join([sys.executable] + sys.argv),
    }
    path = os.path.join(args.results_dir, "finetune.json")
    with open(path, "w") as f:
        json.dump(results, f, indent=2)
        f.write("\n")
    return path


def _print_seed(run: Dict) -> None:
    """One seed's speed and quality table (length-aware against the reference), when both ran."""
    figures = run["figures"]
    print()
    print("seed %d (%s, %d train rows): test errors %s" % (run["seed"], run["mode"], run["rows"]["train"], ", ".join(
        "%s %s" % (variant, f.get("test_errors")) for variant, f in figures.items())))
    if "reference" in figures and "length" in figures:
        print(format_tables(figures["reference"], figures["length"]))
        print("\n".join(verdict(figures["reference"], figures["length"], run["rows"]["test"])))
    if TRAINER in figures and "length" in figures:
        ours, its = figures["length"], figures[TRAINER]
        print("against the PyTorch Trainer: whole process %.1f s vs %.1f s (%.2fx), steady %.1f vs %.1f examples/sec, "
              "test errors %d vs %d" % (ours["total_seconds"], its["total_seconds"],
                                        its["total_seconds"] / ours["total_seconds"],
                                        ours["steady_examples_per_sec"] or 0, its["steady_examples_per_sec"] or 0,
                                        ours["test_errors"], its["test_errors"]))
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
