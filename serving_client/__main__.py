"""`python -m serving_client ...` runs the `bert-classify` CLI."""

import sys

from serving_client.cli import main

sys.exit(main())
