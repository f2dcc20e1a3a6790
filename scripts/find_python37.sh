#!/usr/bin/env bash
# Prints the path of a Python 3.7 interpreter, or explains how to get one and exits 1.
# Order: $PYTHON, python3.7 on PATH, pyenv's versions/3.7.*.
set -euo pipefail

is_py37() {
  "$1" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 7) else 1)' 2>/dev/null
}

if [ -n "${PYTHON:-}" ]; then
  if is_py37 "$PYTHON"; then echo "$PYTHON"; exit 0; fi
  echo "error: PYTHON=$PYTHON is not a Python 3.7 interpreter (TensorFlow 1.15 needs 3.7)." >&2
  exit 1
fi

if command -v python3.7 >/dev/null 2>&1; then
  candidate=$(command -v python3.7)
  # pyenv's shim exists even when 3.7 is not the selected version, so ask it.
  if is_py37 "$candidate"; then echo "$candidate"; exit 0; fi
fi

pyenv_root=$( (command -v pyenv >/dev/null 2>&1 && pyenv root) || echo "${PYENV_ROOT:-$HOME/.pyenv}")
for candidate in $(ls -d "$pyenv_root"/versions/3.7.*/bin/python 2>/dev/null | sort -V -r); do
  if is_py37 "$candidate"; then echo "$candidate"; exit 0; fi
done

cat >&2 <<'MSG'
error: no Python 3.7 found. TensorFlow 1.15 runs only on Python 3.7.
  Install one, then run `make setup` again:
    pyenv install 3.7.16              # https://github.com/pyenv/pyenv
    (or: apt-get install python3.7 python3.7-venv, where your distribution has it)
  or point at an existing interpreter:  make setup PYTHON=/path/to/python3.7
MSG
exit 1
