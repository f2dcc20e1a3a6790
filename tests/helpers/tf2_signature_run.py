"""Run exported signatures under TensorFlow 2.x the way TF Serving 2.x loads them (tf.compat.v1 loader).

The export parity tests call it with the TF 2.x environment's Python:

    python tf2_signature_run.py MANIFEST.json

MANIFEST lists {"export": dir, "inputs": npz, "outputs": npz}; for each, the
serving_default signature runs on the inputs and every output is saved.
Prints the TensorFlow version it ran with.
"""

import json
import sys

import numpy as np


def run_signature(tf, export_dir, inputs):
    graph = tf.Graph()
    with tf.Session(graph=graph) as session:
        signature = tf.saved_model.loader.load(session, ["serve"], export_dir).signature_def["serving_default"]
        feeds = {graph.get_tensor_by_name(signature.inputs[name].name): value for name, value in inputs.items()}
        fetches = {name: graph.get_tensor_by_name(info.name) for name, info in signature.outputs.items()}
        return session.run(fetches, feeds)


def main(manifest_path):
    import tensorflow.compat.v1 as tf

    with open(manifest_path) as f:
        manifest = json.load(f)
    for entry in manifest:
        with np.load(entry["inputs"]) as data:
            inputs = {name: data[name] for name in data.files}
        np.savez(entry["outputs"], **run_signature(tf, entry["export"], inputs))
    import tensorflow

    print("tensorflow", tensorflow.__version__)


if __name__ == "__main__":
    main(sys.argv[1])
