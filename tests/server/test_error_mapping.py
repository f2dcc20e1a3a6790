"""Only client mistakes become 4xx: a ValueError/TypeError of the server's own code is INTERNAL and logged."""

import logging

import numpy as np
import pytest

from model_server.errors import from_exception

pytestmark = pytest.mark.needs_tf


def raise_in_our_code():
    return int("not a number")


def test_a_bug_of_the_server_is_internal_with_a_logged_traceback(caplog):
    with pytest.raises(ValueError) as info:
        raise_in_our_code()
    with caplog.at_level(logging.ERROR, logger="model_server.errors"):
        error = from_exception(info.value)
        assert from_exception(info.value).code == "INTERNAL"  # a second mapping logs nothing more
    assert error.code == "INTERNAL" and "ValueError" in error.message
    assert len(caplog.records) == 1 and caplog.records[0].exc_info is not None
    assert "raise_in_our_code" in caplog.text


def test_tensorflows_own_feed_checks_are_invalid_argument():
    import tensorflow.compat.v1 as tf
    graph = tf.Graph()
    with graph.as_default():
        x = tf.placeholder(tf.int32, [None, 2])
    with tf.Session(graph=graph) as session:
        with pytest.raises((ValueError, TypeError)) as info:
            session.run(x, {x: np.zeros([3], np.int32)})
    assert from_exception(info.value).code == "INVALID_ARGUMENT"
