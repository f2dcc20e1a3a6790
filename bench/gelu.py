"""The exact GELU's cost on TF 1.15: `bert_runner.gelu` against `tf.math.erf`, the tanh form and other erf forms.

    .venv/bin/python -m bench.gelu                 # ~30 s: [384, 1536] float32 (12 x 32 tokens x FFN), 1 thread
    .venv/bin/python -m bench.gelu --threads 2 --rows 1536
    .venv/bin/python -m bench.gelu --exhaustive    # ~20 s: bert_runner.gelu on every float32 in +-[2^-10, 8]

Every form runs in one session setting, interleaved round by round so load drifts hit
them alike, on the same tensor held in a variable (no feed copy). A run is
`reduce_max(form(x))`; "activation" subtracts the median of `reduce_max(x)` alone, and
the speed-up is `tf.math.erf`'s activation time over each form's. Accuracy is the max
abs difference from float64 `math.erf`'s GELU on the tensor and on a sweep of float32
values in +-[2^-10, 8] (every 97th float; tests/runner/test_gelu.py checks the project's
form more densely, with the large, non-finite and denormal inputs). Writes
bench/results/gelu.json.
"""

import argparse
import json
import math
import os
import platform
import statistics
import time

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results", "gelu.json")

# Abramowitz & Stegun 7.1.26 (the first candidate): |error of erf| <= 1.5e-7.
AS_P = 0.3275911
AS_A = (0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429)
# Eigen's / XLA's float erf (generic_fast_erf_float, ErfImpl32): odd rational on [-4, 4].
EIGEN_ALPHA = (-2.72614225801306e-10, 2.77068142495902e-08, -2.10102402082508e-06, -5.69250639462346e-05,
               -7.34990630326855e-04, -2.95459980854025e-03, -1.60960333262415e-02)
EIGEN_BETA = (-1.45660718464996e-05, -2.13374055278905e-04, -1.68282697438203e-03, -7.37332916720468e-03,
              -1.42647390514189e-02)


def forms():
    """name -> function of a float32 tensor; the first is the baseline the speed-ups divide."""
    import tensorflow.compat.v1 as tf
    from bert import modeling

    from bert_runner.gelu import gelu_exact

    def erf_gelu(erf):
        return lambda x: 0.5 * x * (1.0 + erf(x * (1.0 / math.sqrt(2.0))))

    def as_erf(z):
        a = tf.abs(z)
        t = 1.0 / (1.0 + AS_P * a)
        poly = t * (AS_A[0] + t * (AS_A[1] + t * (AS_A[2] + t * (AS_A[3] + t * AS_A[4]))))
        return tf.sign(z) * (1.0 - poly * tf.exp(-a * a))

    def eigen_erf(z):
        z = tf.clip_by_value(z, -4.0, 4.0)
        s = z * z
        p = EIGEN_ALPHA[0]
        for c in EIGEN_ALPHA[1:]:
            p = p * s + c
        q = EIGEN_BETA[0]
        for c in EIGEN_BETA[1:]:
            q = q * s + c
        return z * p / q

    return {
        "tf.math.erf (before)": erf_gelu(tf.math.erf),
        "tanh form (Google's gelu)": modeling.gelu,
        "A&S 7.1.26 erf": erf_gelu(as_erf),
        "Eigen/XLA rational erf": erf_gelu(eigen_erf),
        "bert_runner.gelu (exp tail)": gelu_exact,
    }


def reference(x):
    import numpy as np
    from scipy.special import erf

    x = np.asarray(x, np.float64)
    return 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))


def sweep():
    import numpy as np

    lo, hi = (np.array([v], np.float32).view(np.uint32)[0] for v in (2.0 ** -10, 8.0))
    x = np.arange(lo, hi, 97, dtype=np.uint32).view(np.float32)
    return np.concatenate([x, -x])


def exhaustive(chunk=1 << 22):
    """Max abs error of `bert_runner.gelu.gelu_exact` over every float32 in +-[2^-10, 8] (218 million values).

    Below 2^-10 the error is under |x| * 1e-7; from 8 up the result is exactly x or 0 (tests/runner/test_gelu.py).
    """
    import numpy as np
    import tensorflow.compat.v1 as tf

    from bert_runner.gelu import gelu_exact

    lo, hi = (np.array([v], np.float32).view(np.uint32)[0] for v in (2.0 ** -10, 8.0))
    worst, where = 0.0, None
    with tf.Graph().as_default():
        probe = tf.placeholder(tf.float32, [None])
        output = gelu_exact(probe)
        with tf.Session() as session:
            for start in range(int(lo), int(hi), chunk):
                positive = np.arange(start, min(start + chunk, int(hi)), dtype=np.uint32).view(np.float32)
                for x in (positive, -positive):
                    error = np.abs(session.run(output, {probe: x}) - reference(x))
                    index = int(error.argmax())
                    if error[index] > worst:
                        worst, where = float(error[index]), float(x[index])
    return {"values": 2 * int(hi - lo), "max_abs_error": worst, "at": where}


def measure(rows, cols, threads, rounds, runs):
    import numpy as np
    import tensorflow.compat.v1 as tf

    data = (np.random.RandomState(0).randn(rows, cols) * 2.0).astype(np.float32)
    grid = sweep()
    graph = tf.Graph()
    with graph.as_default():
        held = tf.Variable(data)
        values = held.read_value() if hasattr(held, "read_value") else tf.identity(held)
        probe = tf.placeholder(tf.float32, [None])
        cases = {"(read + reduce_max only)": (tf.reduce_max(values), None)}
        for name, form in forms().items():
            cases[name] = (tf.reduce_max(form(values)), (form(values), form(probe)))
        init = tf.global_variables_initializer()
    config = tf.ConfigProto(intra_op_parallelism_threads=threads, inter_op_parallelism_threads=1)
    times = {name: [] for name in cases}
    errors = {}
    with tf.Session(graph=graph, config=config) as session:
        session.run(init)
        want_data, want_grid = reference(data), reference(grid)
        for name, (_, outputs) in cases.items():
            if outputs:
                on_data, on_grid = session.run(outputs, {probe: grid})
                errors[name] = (float(np.abs(on_data - want_data).max()), float(np.abs(on_grid - want_grid).max()))
        for _ in range(rounds):
            for name, (op, _) in cases.items():
                session.run(op)  # warm
                for _ in range(runs):
                    start = time.perf_counter()
                    session.run(op)
                    times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) * 1e3 for name, t in times.items()}, errors


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=384, help="rows of the tensor (sequences x tokens)")
    parser.add_argument("--cols", type=int, default=1536, help="columns (the FFN's intermediate size)")
    parser.add_argument("--threads", type=int, default=1, help="intra-op threads")
    parser.add_argument("--rounds", type=int, default=10, help="interleaved rounds")
    parser.add_argument("--runs", type=int, default=10, help="timed runs per form per round")
    parser.add_argument("--exhaustive", action="store_true",
                        help="instead: check bert_runner.gelu's accuracy on every float32 in +-[2^-10, 8]")
    args = parser.parse_args(argv)
    if args.exhaustive:
        started = time.time()
        result = exhaustive()
        print("bert_runner.gelu on all %(values)d float32 in +-[2^-10, 8]: max abs error %(max_abs_error).3g at x=%(at)r"
              % result + " (%.0f s)" % (time.time() - started))
        return 0
    load_before = os.getloadavg()
    started = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())
    medians, errors = measure(args.rows, args.cols, args.threads, args.rounds, args.runs)
    base_name = "(read + reduce_max only)"
    base = medians.pop(base_name)
    names = list(medians)
    erf_net = medians[names[0]] - base
    print("GELU forms on a [%d, %d] float32 tensor, %d thread(s), TF %s; %s, load %s -> %s"
          % (args.rows, args.cols, args.threads, _tf_version(), started,
             " ".join("%.2f" % v for v in load_before), " ".join("%.2f" % v for v in os.getloadavg())))
    print("| form | run median (ms) | activation (ms) | speed-up vs tf.math.erf | max abs error, tensor | max abs error, sweep |")
    print("|---|---:|---:|---:|---:|---:|")
    print("| %s | %.3f | - | - | - | - |" % (base_name, base))
    rows = []
    for name in names:
        net = medians[name] - base
        rows.append({"form": name, "run_ms": medians[name], "activation_ms": net, "speedup": erf_net / net,
                     "max_abs_error_tensor": errors[name][0], "max_abs_error_sweep": errors[name][1]})
        print("| %s | %.3f | %.3f | %.2fx | %.2g | %.2g |" % (name, medians[name], net, erf_net / net, *errors[name]))
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    with open(RESULTS, "w") as f:
        json.dump({"settings": vars(args), "started": started, "baseline_ms": base, "forms": rows,
                   "load_average": {"before": list(load_before), "after": list(os.getloadavg())},
                   "machine": platform.platform(), "tensorflow": _tf_version()}, f, indent=2)
    return 0


def _tf_version():
    import tensorflow as tf

    return tf.__version__


if __name__ == "__main__":
    raise SystemExit(main())
