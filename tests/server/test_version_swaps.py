"""Memory stays flat across version swaps: an unloaded version's memory goes back to the OS.

Each version holds 32 MiB of variables in many small tensors; after the first
swaps (heaps and caches warm up), four more swaps may not grow the server's
RSS by one version's worth (they grew ~25 MiB each, 547 -> 772 MiB over ten,
before unloads trimmed the heap; 398 -> 415 MiB after).
"""

import os
import shutil

import pytest

from conftest import Rest
from model_servers import running_server
from test_grpc_tensors import MiB
from test_versions import states, wait_for

pytestmark = pytest.mark.needs_tf

WEIGHT_FLOATS = 8 * 1024 * 1024  # 32 MiB of float32 per version
PARTS = 512  # in variables of 64 KiB
SWAPS = 6


def build_weighty(base_dir, version):
    """<base_dir>/<version>: serving_default(x float [-1]) -> x + version + the means of 32 MiB of zero variables."""
    import tensorflow.compat.v1 as tf

    temp, final = os.path.join(base_dir, "temp-%d" % version), os.path.join(base_dir, str(version))
    graph = tf.Graph()
    with graph.as_default(), tf.Session(graph=graph) as sess:
        x = tf.placeholder(tf.float32, [None], name="x")
        # Many small tensors, as a BERT's are: each is below glibc's mmap threshold, so its
        # memory lands in the heap arenas, which keep freed pages unless trimmed.
        weights = [tf.Variable(tf.zeros([WEIGHT_FLOATS // PARTS]), name="weights_%d" % i) for i in range(PARTS)]
        y = tf.identity(x + tf.add_n([tf.reduce_mean(w) for w in weights]) + float(version), name="y")
        sess.run(tf.global_variables_initializer())
        signature = tf.saved_model.signature_def_utils.predict_signature_def({"x": x}, {"y": y})
        builder = tf.saved_model.builder.SavedModelBuilder(temp)
        builder.add_meta_graph_and_variables(sess, ["serve"], signature_def_map={"serving_default": signature})
        builder.save()
    os.rename(temp, final)


def rss_bytes(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def test_rss_does_not_grow_with_version_swaps(tmp_path):
    source, base = tmp_path / "source", tmp_path / "models"
    source.mkdir()
    base.mkdir()
    build_weighty(str(source), 1)
    shutil.copytree(str(source / "1"), str(base / "1"))
    with running_server(["--model_name=w", "--model_base_path=%s" % base, "--file_system_poll_wait_seconds=1"]) as server:
        rest = Rest(server.rest_url)
        rss = []
        for version in range(2, SWAPS + 2):
            temp = base / ("temp-%d" % version)
            shutil.copytree(str(source / "1"), str(temp))
            os.rename(str(temp), str(base / str(version)))
            wait_for(lambda: states(rest, "w").get(version - 1, {}).get("state") == "END", timeout=120,
                     what="version %d to replace %d" % (version, version - 1))
            assert rest.post("/v1/models/w:predict", {"instances": [1.0]}) == (200, {"predictions": [2.0]})
            shutil.rmtree(str(base / str(version - 1)))
            rss.append(rss_bytes(server.process.pid))
    growth = rss[-1] - rss[1]
    assert growth < WEIGHT_FLOATS * 4, "RSS after each swap (MiB): %s" % [r // MiB for r in rss]
