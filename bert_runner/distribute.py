"""Training on more than one device or process, with TensorFlow's own runtimes.

* Several processes: `TF_CONFIG` (chief, workers, parameter servers,
  optionally an evaluator), run by `tf.estimator.train_and_evaluate` exactly as
  the estimator documents. Every process runs the same command line.
* Several devices of one machine: `--distribution_strategy=mirrored`
  (synchronous all-reduce over the local GPUs, or over virtual CPU devices with
  `--virtual_cpu_devices`, which is how the tests exercise it without GPUs).
"""

import json
import os
from typing import List, NamedTuple, Optional

import tensorflow.compat.v1 as tf

from bert_runner.errors import RunnerError

STRATEGIES = ("", "none", "mirrored")


class Cluster(NamedTuple):
    """This process's place in a TF_CONFIG cluster (task_type "" when there is none)."""

    task_type: str = ""
    task_index: int = 0
    num_workers: int = 1
    # This task's place among the training workers (chief or master first), for input shards.
    worker_index: int = 0

    @property
    def is_distributed(self) -> bool:
        return bool(self.task_type)

    @property
    def is_chief(self) -> bool:
        """The process that writes results and exports (the only one outside a cluster)."""
        return self.task_type in ("", "chief", "master")

    @property
    def name(self) -> str:
        return "%s-%d" % (self.task_type, self.task_index) if self.task_type else "local"


def cluster_from_env(environ=None) -> Cluster:
    raw = (environ if environ is not None else os.environ).get("TF_CONFIG", "")
    if not raw.strip():
        return Cluster()
    try:
        config = json.loads(raw)
        spec = config.get("cluster") or {}
        task = config.get("task") or {}
        if not spec:
            return Cluster()
        task_type = str(task["type"])
        task_index = int(task.get("index", 0))
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise RunnerError("TF_CONFIG is not valid (%s): %s" % (e, raw[:200]))
    if task_type not in spec and task_type != "evaluator":
        raise RunnerError("TF_CONFIG: task type %r is not in the cluster %s" % (task_type, sorted(spec)))
    chiefs = len(spec.get("chief", [])) + len(spec.get("master", []))
    workers = chiefs + len(spec.get("worker", []))
    worker_index = task_index + chiefs if task_type == "worker" else task_index if task_type in ("chief", "master") else 0
    return Cluster(task_type, task_index, max(workers, 1), worker_index)


def mirrored_devices(num_gpus: int, virtual_cpu_devices: int) -> List[str]:
    """Devices for MirroredStrategy: the local GPUs, else virtual CPU devices."""
    if virtual_cpu_devices:
        return ["/cpu:%d" % i for i in range(virtual_cpu_devices)]
    from tensorflow.python.client import device_lib  # noqa: lazy, lists devices once

    gpus = [d.name for d in device_lib.list_local_devices() if d.device_type == "GPU"]
    if num_gpus:
        if num_gpus > len(gpus):
            raise RunnerError("--num_gpus=%d but only %d GPU(s) are visible" % (num_gpus, len(gpus)))
        gpus = gpus[:num_gpus]
    if not gpus:
        raise RunnerError(
            "--distribution_strategy=mirrored found no GPU (use --virtual_cpu_devices=N to try it on CPU)"
        )
    return gpus


def train_strategy(strategy: str, num_gpus: int, virtual_cpu_devices: int) -> Optional[object]:
    name = (strategy or "").lower()
    if name not in STRATEGIES:
        raise RunnerError("--distribution_strategy=%s is not one of: none, mirrored" % strategy)
    if name != "mirrored":
        return None
    return tf.distribute.MirroredStrategy(devices=mirrored_devices(num_gpus, virtual_cpu_devices))


def session_config(virtual_cpu_devices: int) -> Optional[tf.ConfigProto]:
    if not virtual_cpu_devices:
        return None
    return tf.ConfigProto(device_count={"CPU": virtual_cpu_devices}, allow_soft_placement=True)
