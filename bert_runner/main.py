"""The body of the command lines (`run_classifier.py`, `run_ner.py`): flags -> run -> exit status.

A `RunnerError` (bad flag, file or line) is printed as one `error: ...` line
with exit status 2; nothing else is caught.
"""

import logging
import os
import sys


def run_command(flag_values, family=None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")  # TensorFlow's C++ INFO lines
    import tensorflow.compat.v1 as tf

    from bert_runner.errors import RunnerError
    from bert_runner.options import RunOptions
    from bert_runner.run import run

    # TF 1.15 warns about its own deprecations on every graph build; keep our progress readable.
    tf.logging.set_verbosity(tf.logging.ERROR)
    logging.getLogger("bert_runner").setLevel(logging.INFO)
    try:
        run(RunOptions.from_flags(flag_values), family)
    except RunnerError as e:
        print("error: %s" % e, file=sys.stderr)
        return 2
    return 0
