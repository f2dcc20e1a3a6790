"""run_classifier.py keeps every flag of the reference with the same name and default."""

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.needs_tf

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

DUMP_FLAGS = """
import json, sys
from absl import flags
import {module}
module = sys.modules[{module!r}]
names = {{f.name for f in flags.FLAGS.get_flags_for_module(module.__name__)}}
names |= {{f.name for f in flags.FLAGS.get_flags_for_module("bert.tokenization")}}
print(json.dumps({{n: flags.FLAGS[n].default for n in sorted(names)}}))
"""


def flag_defaults(module, setup=""):
    """{flag: default} of the flags a module defines, read in a fresh interpreter."""
    out = subprocess.run(
        [sys.executable, "-c", setup + DUMP_FLAGS.format(module=module)],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        universal_newlines=True,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_every_reference_flag_keeps_its_name_and_default():
    reference = flag_defaults("bert.run_classifier")
    ours = flag_defaults("bert_runner.flags", setup="from bert_runner.flags import define_flags; define_flags()\n")
    assert len(reference) >= 27
    for name, default in reference.items():
        assert name in ours, name
        assert ours[name] == default, name


def test_run_options_defaults_equal_the_flag_defaults():
    from absl import flags as absl_flags

    from bert_runner.flags import define_token_flags
    from bert_runner.options import RunOptions

    define_token_flags()  # run_classifier.py's flags and run_ner.py's own
    options = RunOptions()
    for name, value in vars(options).items():
        assert absl_flags.FLAGS[name].default == value, name


def test_help_lists_project_flags():
    out = subprocess.run(
        [sys.executable, os.path.join(REPO, "run_classifier.py"), "--help"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        universal_newlines=True,
    ).stdout
    for flag in ("do_export", "export_dir", "text_column", "labels_file", "dynamic_padding", "init_checkpoint"):
        assert "--%s:" % flag in out or "--[no]%s:" % flag in out, flag
