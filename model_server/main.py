"""Entry point: `python -m model_server` (from the repository root, Python 3.7 venv), with TFS's flags."""

import logging
import os
import signal
import sys
import warnings

from model_server import __version__
from model_server.config import ConfigError, load_settings
from model_server.flags import parse_or_exit


def main(argv=None):
    options = parse_or_exit(sys.argv[1:] if argv is None else argv)
    if options.version:
        print("TensorFlow ModelServer: local-%s (drop-in for tensorflow_model_server)" % __version__)
        print("TensorFlow Library: %s" % _tensorflow_version())
        return 0
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname).1s %(name)s] %(message)s")
    try:
        settings = load_settings(options)
    except ConfigError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 1
    # TensorFlow 2.x takes seconds to import: a SIGTERM/SIGINT meanwhile is a clean exit, as later.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _exit_before_serving)
    from model_server.server import Server, StartupError  # imports TensorFlow: after the checks
    try:
        return Server(options, settings).run()
    except StartupError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 1


def _exit_before_serving(signum, frame):
    sys.exit(0)


def _tensorflow_version():
    """The installed TensorFlow's version, without importing it (--version stays instant)."""
    try:
        from importlib import metadata
    except ImportError:  # Python 3.7 (the TF 1.15 environment)
        return "1.15"
    for distribution in ("tensorflow-cpu", "tensorflow"):
        try:
            return metadata.version(distribution)
        except metadata.PackageNotFoundError:
            continue
    return "unknown"


if __name__ == "__main__":
    sys.exit(main())
