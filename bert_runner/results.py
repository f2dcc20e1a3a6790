"""Result files of a run (`eval_results.*`, predictions, summaries) written whole or not at all."""

import json

from bert_runner import storage


def write_text(path: str, text: str) -> None:
    """Writes `path` (any file system) so that a reader never sees half a file."""
    storage.write_text(path, text)


def write_json(path: str, data) -> None:
    write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")
