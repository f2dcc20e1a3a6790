#!/usr/bin/env python
r"""BERT fine-tuning runner: Google's `run_classifier.py` command line, plus export for TF Serving.

    python run_classifier.py --task_name=generic --data_dir=DATA --vocab_file=VOCAB \
        --bert_config_file=CONFIG --init_checkpoint=CKPT --output_dir=OUT \
        --do_train --do_eval --do_export

The work happens in `bert_runner/`; this file only parses flags.
"""

from absl import app, flags

from bert_runner import flags as runner_flags

runner_flags.define_flags()
# Show the runner's flags in --help, as if they were defined here.
flags.adopt_module_key_flags(runner_flags)
FLAGS = flags.FLAGS


def main(_):
    from bert_runner.main import run_command

    return run_command(FLAGS)


if __name__ == "__main__":
    app.run(main)
