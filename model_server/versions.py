"""Which version directories exist under a base path and which the policy wants.

A child whose whole name is an integer is a version ("00000123" -> 123);
everything else (Estimator's `temp-*` export dirs, files) is ignored.
"""

import os
import re

_VERSION_NAME = re.compile(r"^[0-9]+$")


def scan(base_path):
    """{version: directory} under base_path. Raises OSError when base_path is missing."""
    found = {}
    for name in sorted(os.listdir(base_path)):
        path = os.path.join(base_path, name)
        if _VERSION_NAME.match(name) and os.path.isdir(path):
            found.setdefault(int(name), path)
    return found


def aspired(policy, present):
    """The versions `policy` (ModelVersionPolicy) selects among `present`."""
    kind = policy.WhichOneof("policy_choice")
    if kind == "all":
        return set(present)
    if kind == "specific":
        return set(policy.specific.versions) & set(present)
    count = policy.latest.num_versions if kind == "latest" else 0
    return set(sorted(present, reverse=True)[:max(1, count)])
