"""Load a bench/ script as a module, so tests can call its helpers without running it."""

import importlib.util
import os

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def load(name):
    """bench/<name>.py as the module bench_<name>."""
    spec = importlib.util.spec_from_file_location("bench_" + name, os.path.join(REPO, "bench", name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
