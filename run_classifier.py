#!/usr/bin/env python
r"""BERT fine-tuning runner: Google's `run_classifier.py` command line, plus export for TF Serving.

    python run_classifier.py --task_name=generic --data_dir=DATA --vocab_file=VOCAB \
        --bert_config_file=CONFIG --init_checkpoint=CKPT --output_dir=OUT \
        --do_train --do_eval --do_export

The work happens in `bert_runner/`; this file only parses flags.
"""

import logging
import os
import sys

from absl import app, flags

from bert_runner import flags as runner_flags

runner_flags.define_flags()
# Show the runner's flags in --help, as if they were defined here.
flags.adopt_module_key_flags(runner_flags)
FLAGS = flags.FLAGS


def main(_):
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")  # TensorFlow's C++ INFO lines
    import tensorflow.compat.v1 as tf

    from bert_runner.errors import RunnerError
    from bert_runner.options import RunOptions
    from bert_runner.run import run

    # TF 1.15 warns about its own deprecations on every graph build; keep our progress readable.
    tf.logging.set_verbosity(tf.logging.ERROR)
    logging.getLogger("bert_runner").setLevel(logging.INFO)
    try:
        run(RunOptions.from_flags(FLAGS))
    except RunnerError as e:
        print("error: %s" % e, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    app.run(main)
