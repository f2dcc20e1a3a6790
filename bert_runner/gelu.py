"""The exact (erf) GELU, `x * Phi(x)`, from elementwise ops TensorFlow 1.15 vectorises.

TF 1.15 computes `tf.math.erf` one scalar at a time (most of the activation's cost),
so `gelu_exact` uses the normal tail instead:

    Phi(-a) = exp(-a^2 / 2) * R(a),   a = |x|,   R = P2(a) / Q3(a)
    gelu(x) = 0.5 * x + a * (0.5 - Phi(-a))     (= x * Phi(x) for both signs)

R is a weighted minimax fit of the scaled Mills ratio `0.5 * erfcx(a / sqrt 2)` on
[0, 6] with R(0) = 1/2 exactly (`scripts/gelu_coefficients.py` reproduces the
constants): one `exp`, one division and 18 cheap ops. Error against float64
`math.erf`'s GELU: 4.3e-7 at most over every float32 in +-[2^-10, 8] (the fit's share
is 5.4e-8, the rest float32 rounding; `tf.math.erf`'s own float32 GELU: 4.5e-7), and
its gradient within 1e-6 of `Phi(x) + x phi(x)` (tests/runner/test_gelu.py,
`bench/gelu.py --exhaustive`). From |x| = 8 on the tail is below float32's
resolution and the result is exactly x (x > 0) or 0 (x < 0); `a` is clamped there so
nothing overflows. NaN gives NaN, +inf gives +inf and -inf NaN, as
`0.5 * x * (1 + erf(x / sqrt 2))` does.

Only +, -, *, /, abs, minimum and exp: every runtime that loads the graph (TF 2.x,
tf2onnx's ONNX) has them; results differ between runtimes only by their `exp`'s last bits.
"""

import tensorflow.compat.v1 as tf

from bert_contract.model_config import GELU_EXACT

# R(a) = (P0 + P1 a + P2 a^2) / (Q0 + Q1 a + Q2 a^2 + a^3), float32 values.
P = (4.70279694, 2.10364676, 0.404258549)
Q = (9.40559387, 11.7121344, 5.44841099)
# From here on the tail (< 1e-15) leaves 0.5 - tail at 0.5: clamping changes nothing and keeps t^3 finite.
TAIL_CLAMP = 8.0


def gelu_exact(x):
    """x * Phi(x), Phi the standard normal CDF (Hugging Face's "gelu"); float32 accuracy."""
    # pretrained/trained_model.py recognises the exact GELU in an export by this scope name.
    with tf.name_scope(GELU_EXACT):
        a = tf.abs(x)
        t = tf.minimum(a, TAIL_CLAMP)
        numerator = (P[2] * t + P[1]) * t + P[0]
        denominator = ((t + Q[2]) * t + Q[1]) * t + Q[0]
        tail = tf.exp(t * t * -0.5) * (numerator / denominator)  # Phi(-|x|)
        return 0.5 * x + a * (0.5 - tail)
