"""`--export_onnx`: the export's `serving_default` as an ONNX model, for runtimes without TensorFlow.

The serverless handler's `onnx` backend (text_lambda/) runs it with
onnxruntime on a current Python. tf2onnx (its documented command line, in a
child process so that its graph work never touches the trainer's) converts the
finished SavedModel version; the ONNX model keeps the signature's input and
output names. ONNX has no string outputs to carry the `metadata` and `vocab`
signatures, so their contents go beside it as files: `<version>/onnx/` holds
`model.onnx`, `vocab.txt`, `sha256sums.txt` (their digests, `sha256sum -c`
checks them; so does the Lambda handler on a copy from an object store) and
`model_info.json` (the `ModelInfo` JSON), written in that order, each
atomically: `model_info.json` present means the directory is complete. Servers ignore the extra directory in a version.

An export written before `--export_onnx` (or without it) is converted alone:

    .venv/bin/python -m export.onnx <export_dir>/<version>
"""

import argparse
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from typing import Tuple

from bert_contract import (
    DEFAULT_SIGNATURE,
    METADATA_OUTPUT,
    ONNX_DIGESTS_FILE,
    METADATA_SIGNATURE,
    ONNX_DIR,
    ONNX_INFO_FILE,
    ONNX_MODEL_FILE,
    ONNX_VOCAB_FILE,
    SERVING_INPUTS,
    SERVING_OUTPUT,
    VOCAB_OUTPUT,
    VOCAB_SIGNATURE,
    ModelInfo,
    MetadataError,
    bytes_sha256,
    file_sha256,
)
from bert_runner import storage
from bert_runner.errors import RunnerError

log = logging.getLogger("bert_runner")
# Supported by tf2onnx 1.16 and by every onnxruntime since 1.10.
ONNX_OPSET = 15
CONVERT_TIMEOUT_SECONDS = 3600


def export_onnx(version_dir: str, info: ModelInfo, vocab_bytes: bytes) -> str:
    """Converts the SavedModel in `version_dir` into `version_dir/onnx/`; returns that directory."""
    target = os.path.join(version_dir, ONNX_DIR)
    scratch = tempfile.mkdtemp(prefix="onnx-")
    try:
        model = os.path.join(scratch, ONNX_MODEL_FILE)
        _convert(version_dir, model)
        _check_names(model)
        storage.makedirs(target)
        staged = storage.staging_path(os.path.join(target, ONNX_MODEL_FILE))
        storage.copy(model, staged)
        storage.publish(staged, os.path.join(target, ONNX_MODEL_FILE))
        storage.write_atomic(os.path.join(target, ONNX_VOCAB_FILE), vocab_bytes)
        digests = [(file_sha256(model), ONNX_MODEL_FILE), (bytes_sha256(vocab_bytes), ONNX_VOCAB_FILE)]
        storage.write_text(os.path.join(target, ONNX_DIGESTS_FILE), "".join("%s  %s\n" % pair for pair in digests))
        storage.write_text(os.path.join(target, ONNX_INFO_FILE), info.to_json())
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    log.info("exported ONNX model %s", target)
    return target


def _convert(saved_model_dir: str, output: str) -> None:
    command = [
        sys.executable, "-m", "tf2onnx.convert", "--saved-model", saved_model_dir, "--tag", "serve",
        "--signature_def", DEFAULT_SIGNATURE, "--opset", str(ONNX_OPSET), "--output", output,
    ]
    log.info("converting %s to ONNX with tf2onnx", saved_model_dir)
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=CONVERT_TIMEOUT_SECONDS)
    if result.returncode != 0 or not os.path.exists(output):
        lines = result.stdout.decode("utf-8", "replace").strip().splitlines()
        raise RunnerError("--export_onnx: tf2onnx could not convert %s: %s" % (saved_model_dir, lines[-1] if lines else "no output"))


def _check_names(path: str) -> None:
    """The handler feeds inputs by the signature's names and reads `output`: refuse a model that renamed them."""
    import onnx  # only the exporter needs it

    graph = onnx.load(path, load_external_data=False).graph
    inputs = [i.name for i in graph.input]
    outputs = [o.name for o in graph.output]
    if not set(inputs) <= set(SERVING_INPUTS) or outputs != [SERVING_OUTPUT]:
        raise RunnerError(
            "--export_onnx: the ONNX model has inputs %s and outputs %s; expected inputs among %s and output %s"
            % (inputs, outputs, list(SERVING_INPUTS), SERVING_OUTPUT)
        )


def contract_of(version_dir: str) -> Tuple[ModelInfo, bytes]:
    """The `ModelInfo` and vocab bytes an export carries in its `metadata` and `vocab` signatures."""
    import tensorflow.compat.v1 as tf

    graph = tf.Graph()
    with tf.Session(graph=graph) as session:
        signatures = tf.saved_model.loader.load(session, ["serve"], version_dir).signature_def
        missing = [name for name in (METADATA_SIGNATURE, VOCAB_SIGNATURE) if name not in signatures]
        if missing:
            raise RunnerError("%s has no %s signature: export it again with this version's --do_export"
                              % (version_dir, " and no ".join(missing)))
        values = []
        for name, output in ((METADATA_SIGNATURE, METADATA_OUTPUT), (VOCAB_SIGNATURE, VOCAB_OUTPUT)):
            signature = signatures[name]
            feeds = {graph.get_tensor_by_name(spec.name): _one_zero_row(spec) for spec in signature.inputs.values()}
            values.append(session.run(graph.get_tensor_by_name(signature.outputs[output].name), feeds)[0])
    try:
        return ModelInfo.from_json(values[0].decode("utf-8")), values[1]
    except MetadataError as e:
        raise RunnerError("%s: %s" % (version_dir, e))


def _one_zero_row(spec):
    import numpy as np

    dims = [d.size for d in spec.tensor_shape.dim]
    return np.zeros([1] + [d if d > 0 else 1 for d in dims[1:]], np.int32)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Convert an exported SavedModel version to ONNX (<version>/onnx/).")
    parser.add_argument("version_dir", help="<export_dir>/<version>, written by --do_export")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    try:
        info, vocab = contract_of(args.version_dir)
        print(export_onnx(args.version_dir, info, vocab))
    except (RunnerError, OSError) as e:
        print("error: %s" % e, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
