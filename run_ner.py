#!/usr/bin/env python
r"""Named entity recognition: `run_classifier.py`'s command line for CoNLL token/tag files.

    python run_ner.py --data_dir=DATA --vocab_file=VOCAB --bert_config_file=CONFIG \
        --init_checkpoint=CKPT --output_dir=OUT --do_train --do_eval --do_predict --do_export

`--data_dir` holds train/dev/test files ending in .conll, .txt or .tsv (or give
--train_file/--dev_file/--test_file): one token per line with its tag in the
last column, sentences separated by blank lines. Every flag of
run_classifier.py means the same here (--labels/--labels_file take tags);
--tag_scheme and --doc_stride are NER's own. The work happens in
`bert_runner/` (`token_classification.py` is the task family); this file only
parses flags.
"""

from absl import app, flags

from bert_runner import flags as runner_flags

runner_flags.define_token_flags()
flags.adopt_module_key_flags(runner_flags)
FLAGS = flags.FLAGS
FLAGS.set_default("task_name", "ner")


def main(_):
    from bert_runner.main import run_command
    from bert_runner.token_classification import TokenClassification

    return run_command(FLAGS, TokenClassification())


if __name__ == "__main__":
    app.run(main)
