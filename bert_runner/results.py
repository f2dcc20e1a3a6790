"""Result files of a run (`eval_results.*`, predictions, summaries) written whole or not at all."""

import json
import os


def write_text(path: str, text: str) -> None:
    """Writes `path` through a temporary name, so a reader never sees half a file."""
    tmp_path = "%s.tmp-%d" % (path, os.getpid())
    with open(tmp_path, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp_path, path)


def write_json(path: str, data) -> None:
    write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")
