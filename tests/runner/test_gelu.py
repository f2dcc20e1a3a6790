"""`bert_runner.gelu.gelu_exact` is the erf GELU to float32 accuracy over every float32, at a fraction of erf's cost."""

import math

import numpy as np
import pytest

pytestmark = pytest.mark.needs_tf

BOUND = 1e-6  # the target; the fit reaches 4.3e-7, tf.math.erf's own GELU 4.5e-7
FLOAT32_MAX = float(np.finfo(np.float32).max)


def exact(x):
    """x * Phi(x) in float64 through math.erf, per element."""
    return np.array([v * 0.5 * (1.0 + math.erf(v / math.sqrt(2.0))) for v in np.asarray(x, np.float64)])


def floats_between(low, high, step):
    """Every `step`-th float32 in [low, high) (both positive), by bit pattern: all binades alike."""
    bits = np.array([low, high], np.float32).view(np.uint32)
    return np.arange(bits[0], bits[1], step, dtype=np.uint32).view(np.float32)


def run(function, values, gradient=False):
    import tensorflow.compat.v1 as tf

    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None])
        y = function(x)
        fetch = tf.gradients(y, x)[0] if gradient else y
        with tf.Session() as session:
            return session.run(fetch, {x: np.asarray(values, np.float32)})


def erf_gelu(x):
    import tensorflow.compat.v1 as tf

    return 0.5 * x * (1.0 + tf.math.erf(x / math.sqrt(2.0)))


def fast(x):
    from bert_runner.gelu import gelu_exact

    return gelu_exact(x)


def test_within_1e6_of_the_float64_erf_gelu_where_its_value_is_not_x_or_0():
    """Every 59th float32 in +-[2^-10, 8] (~3.7 million values): all the fitted tail and the float32 rounding."""
    positive = floats_between(2.0 ** -10, 8.0, 59)
    x = np.concatenate([positive, -positive, [0.0, -0.0]]).astype(np.float32)
    from scipy.special import erf  # vectorised; spot-checked against math.erf below

    want = 0.5 * x.astype(np.float64) * (1.0 + erf(x.astype(np.float64) / math.sqrt(2.0)))
    spots = np.random.RandomState(0).choice(len(x), 2000, replace=False)
    np.testing.assert_allclose(want[spots], exact(x[spots]), rtol=0, atol=1e-15)
    error = np.abs(run(fast, x).astype(np.float64) - want)
    assert error.max() <= BOUND, "max abs error %g at x=%r" % (error.max(), x[error.argmax()])
    assert error.max() <= 5e-7  # what the docstring states
    assert error.max() <= np.abs(run(erf_gelu, x).astype(np.float64) - want).max() + 1e-7  # as good as tf.math.erf's


def test_small_large_and_denormal_inputs():
    """Tiny |x| (down to denormals) and large |x|, where erf saturates: x for x > 0, 0 for x < 0, never overflow."""
    tiny = np.concatenate([floats_between(1e-45, 2.0 ** -10, 100003), [1e-45, 1e-40, 1.1754942e-38]])
    large = np.concatenate([floats_between(8.0, FLOAT32_MAX, 100003), [FLOAT32_MAX]])
    x = np.concatenate([tiny, -tiny, large, -large]).astype(np.float32)
    got = run(fast, x)
    assert np.all(np.isfinite(got))
    assert np.abs(got.astype(np.float64) - exact(x)).max() <= BOUND
    np.testing.assert_array_equal(got[x >= 8], x[x >= 8])
    np.testing.assert_array_equal(got[x <= -8], 0.0)


def test_nan_and_infinities_come_out_as_the_erf_form_gives_them():
    x = np.array([np.nan, np.inf, -np.inf, 1.0], np.float32)
    got, before = run(fast, x), run(erf_gelu, x)
    np.testing.assert_array_equal(got[:3], before[:3])  # nan, inf, nan (-inf * 0)
    assert np.isnan(got[0]) and got[1] == np.inf and np.isnan(got[2])


def test_its_gradient_is_the_erf_gelus():
    """Training differentiates the activation: d/dx = Phi(x) + x phi(x), to float32 accuracy."""
    x = np.concatenate([np.linspace(-12, 12, 20001), [0.0]]).astype(np.float32)
    x64 = x.astype(np.float64)
    want = 0.5 * (1 + np.vectorize(math.erf)(x64 / math.sqrt(2))) + x64 * np.exp(-x64 * x64 / 2) / math.sqrt(2 * math.pi)
    got = run(fast, x, gradient=True)
    assert np.abs(got - want).max() <= 1e-6
    assert got[-1] == 0.5  # no kink at 0: the fit's R(0) is exactly 1/2


def test_no_erf_op_in_the_graph():
    """The point of it: TF 1.15's Erf kernel is scalar; the fast form only uses vectorised ops."""
    import tensorflow.compat.v1 as tf

    with tf.Graph().as_default() as graph:
        x = tf.placeholder(tf.float32, [None, 8])
        tf.gradients(fast(x), x)
        types = {op.type for op in graph.get_operations()}
    assert "Erf" not in types and "Erfc" not in types
    assert types & {"Exp"}
