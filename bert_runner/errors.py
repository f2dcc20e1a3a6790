"""The runner's one exception type: bad input that the user can fix."""


class RunnerError(Exception):
    """A problem with a flag, file or setting; the message names it.

    `run_classifier.py` prints it as one line and exits 2, before any
    training starts, so no work is lost.
    """
