"""Runs an export's signatures in-process on TF 1.15: the shapes `serving_default` declares and what it answers."""

from typing import Dict, List, NamedTuple

import numpy as np


class ExportAnswer(NamedTuple):
    label_ids_dims: List[int]  # serving_default's `label_ids` placeholder
    output_dims: List[int]  # serving_default's `output`
    served: np.ndarray  # serving_default's output for the batch
    info: object  # the `metadata` signature's ModelInfo


def run_export(export_path: str, batch: Dict[str, np.ndarray]) -> ExportAnswer:
    import tensorflow.compat.v1 as tf

    from bert_contract import DEFAULT_SIGNATURE, LABEL_IDS, METADATA_OUTPUT, METADATA_SIGNATURE, SERVING_OUTPUT, ModelInfo

    with tf.Graph().as_default() as graph, tf.Session() as session:
        meta_graph = tf.saved_model.loader.load(session, ["serve"], export_path)
        signature = meta_graph.signature_def[DEFAULT_SIGNATURE]

        def call(name, output):
            sig = meta_graph.signature_def[name]
            feed = {graph.get_tensor_by_name(sig.inputs[k].name): v for k, v in batch.items()}
            return session.run(graph.get_tensor_by_name(sig.outputs[output].name), feed)

        return ExportAnswer(
            label_ids_dims=[d.size for d in signature.inputs[LABEL_IDS].tensor_shape.dim],
            output_dims=[d.size for d in signature.outputs[SERVING_OUTPUT].tensor_shape.dim],
            served=call(DEFAULT_SIGNATURE, SERVING_OUTPUT),
            info=ModelInfo.from_json(call(METADATA_SIGNATURE, METADATA_OUTPUT)[0].decode("utf-8")),
        )
