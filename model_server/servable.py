"""One loaded model version: a TF1 session over a SavedModel and its signatures.

Each version gets its own graph and session, so loading a new version never
touches the one serving. `run` is thread-safe (TF sessions are) and caches one
callable per (signature, outputs) to skip Session.run's per-call fetch parsing.
"""

import threading
import time

import numpy as np

from model_server.errors import ServingError, invalid_argument


def _tf():
    import tensorflow.compat.v1 as tf  # deferred: flag parsing and --version stay fast
    return tf


def _quiet_tf():
    """TensorFlow with its Python logger at ERROR (once per load: setLevel clears logging's caches)."""
    tf = _tf()
    tf.get_logger().setLevel("ERROR")
    return tf


def session_config(options):
    """ConfigProto from the --tensorflow_*_parallelism flags (0 = TF's choice)."""
    tf = _quiet_tf()
    config = tf.ConfigProto(allow_soft_placement=True)
    both = options.tensorflow_session_parallelism
    config.intra_op_parallelism_threads = options.tensorflow_intra_op_parallelism or both
    config.inter_op_parallelism_threads = options.tensorflow_inter_op_parallelism or both
    return config


class Servable(object):
    """A SavedModel version loaded into a session, ready to run signatures."""

    def __init__(self, path, tags, config):
        tf = _quiet_tf()
        self.path = path
        self._graph = tf.Graph()
        self._session = tf.Session(graph=self._graph, config=config)
        try:
            with self._graph.as_default():
                meta_graph = tf.saved_model.loader.load(self._session, tags, path)
        except BaseException:
            self._session.close()
            raise
        self.signatures = dict(meta_graph.signature_def)
        # alias -> (numpy dtype, dims or None for unknown rank, tensor name), per signature.
        self._input_specs = {
            key: {alias: (np.dtype(tf.as_dtype(info.dtype).as_numpy_dtype),
                          None if info.tensor_shape.unknown_rank else [d.size for d in info.tensor_shape.dim],
                          info.name)
                  for alias, info in signature.inputs.items()}
            for key, signature in self.signatures.items()}
        self._callables = {}
        self._lock = threading.Lock()

    def signature(self, name):
        """The SignatureDef called `name` ('' = serving_default) or FAILED_PRECONDITION."""
        name = name or "serving_default"
        if name not in self.signatures:
            raise ServingError("FAILED_PRECONDITION", 'Serving signature key "%s" not found.' % name)
        return self.signatures[name]

    def check_inputs(self, signature_name, inputs):
        """Reject feeds whose dtype or shape the signature does not allow (400, not a crash)."""
        specs = self._input_specs[signature_name or "serving_default"]
        for alias, array in inputs.items():
            expected, dims, name = specs[alias]
            if array.dtype != expected and not (expected == np.object_ and array.dtype.kind in "SUO"):
                raise invalid_argument("Expects arg[%s] to be %s but %s is provided"
                                       % (alias, _np_name(expected), _np_name(array.dtype)))
            if dims is None:
                continue
            if len(dims) != array.ndim or any(d >= 0 and d != n for d, n in zip(dims, array.shape)):
                raise invalid_argument("Cannot feed value of shape %s for Tensor '%s', which has shape '%s'"
                                       % (_shape_text(array.shape), name,
                                          _shape_text(["?" if d < 0 else d for d in dims])))

    def run(self, signature_name, inputs, output_aliases, deadline=None):
        """Run one signature: {alias: ndarray} -> {alias: ndarray} for output_aliases.

        `deadline` (time.monotonic() seconds) makes TF cancel a run still going then,
        so a request answered 504 does not keep a core busy.
        """
        signature = self.signature(signature_name)
        input_aliases = tuple(sorted(inputs))
        key = (signature_name, input_aliases, tuple(output_aliases))
        fn = self._callables.get(key)
        if fn is None:
            with self._lock:
                fn = self._callables.get(key)
                if fn is None:
                    fn = self._session.make_callable(
                        [signature.outputs[alias].name for alias in output_aliases],
                        feed_list=[signature.inputs[alias].name for alias in input_aliases],
                        accept_options=True)
                    self._callables[key] = fn
        args = [inputs[alias] for alias in input_aliases]
        if deadline is None:
            values = fn(*args)
        else:
            left_ms = int((deadline - time.monotonic()) * 1000)
            if left_ms <= 0:
                raise ServingError("DEADLINE_EXCEEDED", "Deadline exceeded before the model run started")
            values = fn(*args, options=_tf().RunOptions(timeout_in_ms=left_ms))
        return dict(zip(output_aliases, values))

    def close(self):
        self._session.close()


def _np_name(dtype):
    if dtype.kind in "SUO":
        return "string"
    return {"float32": "float", "float64": "double"}.get(dtype.name, dtype.name)


def _shape_text(shape):
    dims = [str(d) for d in shape]
    if len(dims) == 1:
        return "(%s,)" % dims[0]
    return "(%s)" % ", ".join(dims)
