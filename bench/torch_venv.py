"""The opt-in PyTorch venv of bench/finetune.py's `trainer` variant, built on demand.

    .venv/bin/python -m bench.torch_venv             # build or update .venv-torch (~5 GB: torch pulls CUDA)
    .venv/bin/python -m bench.torch_venv --dry_run   # print what it would run, run nothing

The venv is created with a Python 3.10+ found on the machine (python3.11, python3.12,
python3.10, /usr/bin/python3; or --base_python) and filled from bench/requirements-torch.txt.
A stamp file holding that file's sha256 marks a finished build: a venv whose stamp matches
is reused as it is; one without it (an interrupted build) or with another (changed pins) is
installed into again. Not part of `make setup` or `make test`.
"""

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
from typing import List, Optional, Sequence, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
DEFAULT_VENV = os.path.join(REPO, ".venv-torch")
REQUIREMENTS = os.path.join(HERE, "requirements-torch.txt")
STAMP = "bench-requirements.sha256"
BASE_CANDIDATES = ("python3.11", "python3.12", "python3.10", "/usr/bin/python3")
MIN_VERSION = (3, 10)  # torch 2.14's oldest Python


class VenvError(Exception):
    """No usable base Python, or a failed build."""


def venv_python(venv_dir: str) -> str:
    return os.path.join(venv_dir, "bin", "python")


def requirements_digest(requirements: str) -> str:
    with open(requirements, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def is_current(venv_dir: str, requirements: str) -> bool:
    """The venv has a Python and a stamp naming this requirements file's exact contents."""
    try:
        with open(os.path.join(venv_dir, STAMP)) as f:
            stamp = f.read().strip()
    except OSError:
        return False
    return os.path.exists(venv_python(venv_dir)) and stamp == requirements_digest(requirements)


def interpreter(python: str) -> Optional[Tuple[Tuple[int, int], str]]:
    """((major, minor), real executable) of an interpreter (a pyenv shim resolves), or None when it does not run."""
    try:
        done = subprocess.run([python, "-c", "import sys; print(sys.version_info[0], sys.version_info[1], sys.executable)"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, universal_newlines=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None
    parts = done.stdout.strip().split(" ", 2)
    if done.returncode != 0 or len(parts) != 3:
        return None
    return (int(parts[0]), int(parts[1])), parts[2]


def find_base_python(candidates: Sequence[str] = BASE_CANDIDATES) -> str:
    """The first candidate on PATH (or an absolute path) that runs and is at least MIN_VERSION."""
    tried = []
    for name in candidates:
        path = shutil.which(name)
        found = interpreter(path) if path else None
        if found and found[0] >= MIN_VERSION:
            return found[1]
        tried.append("%s (%s)" % (name, "%d.%d" % found[0] if found else "not found"))
    raise VenvError("no Python >= %d.%d to build the torch venv from; tried %s; pass --base_python"
                    % (MIN_VERSION + (", ".join(tried),)))


def plan(venv_dir: str, requirements: str = REQUIREMENTS, base_python: Optional[str] = None) -> List[List[str]]:
    """The commands that bring `venv_dir` up to `requirements`: none when it is current."""
    if is_current(venv_dir, requirements):
        return []
    commands = []
    if not os.path.exists(venv_python(venv_dir)):
        commands.append([base_python or find_base_python(), "-m", "venv", venv_dir])
    pip = [venv_python(venv_dir), "-m", "pip", "install", "--disable-pip-version-check"]
    commands.append(pip + ["-r", requirements])
    return commands


def ensure(venv_dir: str = DEFAULT_VENV, requirements: str = REQUIREMENTS, base_python: Optional[str] = None,
           dry_run: bool = False, log=sys.stderr) -> str:
    """The venv's Python, building or updating the venv first when its stamp does not match."""
    commands = plan(venv_dir, requirements, base_python)
    for command in commands:
        print("%s %s" % ("would run:" if dry_run else "running:", " ".join(command)), file=log, flush=True)
        if not dry_run and subprocess.run(command).returncode != 0:
            raise VenvError("building %s failed: %s" % (venv_dir, " ".join(command)))
    if commands and not dry_run:
        with open(os.path.join(venv_dir, STAMP), "w") as f:
            f.write(requirements_digest(requirements) + "\n")
    return venv_python(venv_dir)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--venv", default=DEFAULT_VENV, help="(default: %(default)s)")
    parser.add_argument("--requirements", default=REQUIREMENTS, help="(default: %(default)s)")
    parser.add_argument("--base_python", help="the Python to create the venv with (default: the first of %s)"
                                              % ", ".join(BASE_CANDIDATES))
    parser.add_argument("--dry_run", action="store_true", help="print the commands, run nothing")
    args = parser.parse_args(argv)
    try:
        python = ensure(args.venv, args.requirements, args.base_python, args.dry_run)
    except VenvError as e:
        print("error: %s" % e, file=sys.stderr)
        return 1
    print(python)
    return 0


if __name__ == "__main__":
    sys.exit(main())
