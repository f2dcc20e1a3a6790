"""One loaded model version: a TF1 session over a SavedModel and its signatures.

Each version gets its own graph and session, so loading a new version never
touches the one serving. The same code runs on TensorFlow 1.15 and, through
`tf.compat.v1`, on TensorFlow 2.x (TF2-exported SavedModels load as TF Serving
2.x loads them: into a graph and a session).

`run` feeds the session the way TF Serving's C++ `Session::Run` does: input
shapes are not checked against the signature's static shapes (only the graph
decides what it can compute; its error becomes INVALID_ARGUMENT), which
Python's `Session.run` / `make_callable` would refuse up front. It is
thread-safe (TF sessions are) and keeps the resolved feeds and fetches per
(signature, inputs, outputs).
"""

import sys
import threading
import time

import numpy as np

from bert_contract import DEFAULT_SIGNATURE
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
        # alias -> numpy dtype, per signature.
        self._input_dtypes = {
            key: {alias: np.dtype(tf.as_dtype(info.dtype).as_numpy_dtype)
                  for alias, info in signature.inputs.items()}
            for key, signature in self.signatures.items()}
        self._plans = {}
        self._lock = threading.Lock()

    def signature(self, name):
        """The SignatureDef called `name` ('' = serving_default) or FAILED_PRECONDITION."""
        name = name or DEFAULT_SIGNATURE
        if name not in self.signatures:
            raise ServingError("FAILED_PRECONDITION", 'Serving signature key "%s" not found.' % name)
        return self.signatures[name]

    def check_inputs(self, signature_name, inputs):
        """Reject feeds whose dtype the signature does not allow (400, not a crash).

        Shapes are the graph's business, as in TF Serving: what it cannot
        compute fails in the run with the graph's own INVALID_ARGUMENT.
        """
        dtypes = self._input_dtypes[signature_name or DEFAULT_SIGNATURE]
        for alias, array in inputs.items():
            expected = dtypes[alias]
            if array.dtype != expected and not (expected == np.object_ and array.dtype.kind in "SUO"):
                raise invalid_argument("Expects arg[%s] to be %s but %s is provided"
                                       % (alias, _np_name(expected), _np_name(array.dtype)))

    def run(self, signature_name, inputs, output_aliases, deadline=None):
        """Run one signature: {alias: ndarray} -> {alias: ndarray} for output_aliases.

        `deadline` (time.monotonic() seconds) makes TF cancel a run still going then,
        so a request answered 504 does not keep a core busy.
        """
        signature = self.signature(signature_name)
        input_aliases = tuple(sorted(inputs))
        key = (signature_name, input_aliases, tuple(output_aliases))
        plan = self._plans.get(key)
        if plan is None:
            with self._lock:
                plan = self._plans.get(key)
                if plan is None:
                    plan = self._plans[key] = _RunPlan(
                        self._session, [signature.inputs[alias].name for alias in input_aliases],
                        [signature.outputs[alias].name for alias in output_aliases])
        timeout_ms = None
        if deadline is not None:
            timeout_ms = int((deadline - time.monotonic()) * 1000)
            if timeout_ms <= 0:
                raise ServingError("DEADLINE_EXCEEDED", "Deadline exceeded before the model run started")
        values = plan.run([inputs[alias] for alias in input_aliases], timeout_ms)
        return dict(zip(output_aliases, values))

    def close(self):
        """Close the session and let go of the graph, so its memory can go back to the OS."""
        self._session.close()
        self._plans.clear()
        self._graph = None


class _RunPlan(object):
    """Feeds and fetches of one (signature, inputs, outputs), run through the session's C API.

    This is what `Session.run` does after its Python-side feed checks: the
    fed arrays go to the C session as they are (their dtype already matches,
    `check_inputs`), so a shape the signature did not declare reaches the
    graph, as it does in TF Serving.
    """

    def __init__(self, session, feed_names, fetch_names):
        graph = session.graph
        self._session = session
        self._c_api = sys.modules[type(session).__module__].tf_session  # TF 1.15 and 2.x alike
        self._feeds = [graph.get_tensor_by_name(name)._as_tf_output() for name in feed_names]
        self._fetches = [graph.get_tensor_by_name(name)._as_tf_output() for name in fetch_names]
        session._extend_graph()

    def run(self, arrays, timeout_ms=None):
        feed_dict = dict(zip(self._feeds, arrays))
        options = None
        if timeout_ms is not None:
            options = self._c_api.TF_NewBufferFromString(
                _tf().RunOptions(timeout_in_ms=timeout_ms).SerializeToString())
        try:
            return self._session._call_tf_sessionrun(options, feed_dict, self._fetches, [], None)
        finally:
            if options is not None:
                self._c_api.TF_DeleteBuffer(options)


def _np_name(dtype):
    if dtype.kind in "SUO":
        return "string"
    return {"float32": "float", "float64": "double"}.get(dtype.name, dtype.name)

