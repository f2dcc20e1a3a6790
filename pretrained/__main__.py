"""`python -m pretrained ...`; see pretrained/cli.py."""

import sys

from pretrained.cli import main

sys.exit(main())
