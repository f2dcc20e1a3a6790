"""Reproduces `bert_runner/gelu.py`'s constants: a weighted minimax (Remez) fit of the scaled Mills ratio.

    .venv/bin/python scripts/gelu_coefficients.py

R(a) = (P0 + P1 a + P2 a^2) / (Q0 + Q1 a + Q2 a^2 + a^3) approximates
0.5 * erfcx(a / sqrt 2) = Phi(-a) * exp(a^2 / 2) on [0, 6] with P0 = Q0 / 2 (so the
GELU's value and slope at 0 are exact, no kink), minimising the largest error of
the GELU it gives, a * exp(-a^2 / 2) * |R - target|. Beyond 6 the tail is below
float32's resolution of the result. Prints the fit's error and the float32 constants.
"""

import math

import numpy as np
import scipy.linalg
from scipy.special import erfcx

INTERVAL = 6.0
GRID = 300000


def _rows(a, target, weight):
    """w (P - target Q) = +-E Q for v = (Q0, Q1, Q2, Q3, P1, P2), P0 = Q0 / 2: as A v = E B v."""
    zero = np.zeros_like(a)
    lhs = np.stack([weight * (0.5 - target), -weight * target * a, -weight * target * a ** 2,
                    -weight * target * a ** 3, weight * a, weight * a ** 2], 1)
    rhs = np.stack([np.ones_like(a), a, a ** 2, a ** 3, zero, zero], 1)
    return lhs, rhs


def _rational(v, a):
    return (v[0] / 2 + v[4] * a + v[5] * a ** 2) / (v[0] + v[1] * a + v[2] * a ** 2 + v[3] * a ** 3)


def fit(iterations=100):
    a = np.linspace(0.0, INTERVAL, GRID)
    target = 0.5 * erfcx(a / math.sqrt(2.0))
    weight = np.maximum(a, 1e-3) * np.exp(-a * a / 2)
    points = 6
    reference = np.searchsorted(a, INTERVAL * (1 - np.cos(math.pi * (np.arange(points) + 0.5) / points)) / 2)
    best = (np.inf, None)
    for _ in range(iterations):
        lhs, rhs = _rows(a[reference], target[reference], weight[reference])
        rhs *= ((-1.0) ** np.arange(points))[:, None]
        candidates = []
        levels, vectors = scipy.linalg.eig(lhs, rhs)
        for level, v in zip(levels, vectors.T):
            if np.isfinite(level) and abs(level.imag) <= 1e-9 * abs(level.real):
                v = v.real / v.real[3]
                denominator = v[0] + v[1] * a + v[2] * a ** 2 + a ** 3
                if np.all(denominator > 0):  # no pole on the interval
                    candidates.append((abs(level.real), v))
        level, v = min(candidates, key=lambda c: c[0])
        error = (_rational(v, a) - target) * weight
        if np.abs(error).max() < best[0]:
            best = (np.abs(error).max(), v)
        if np.abs(error).max() <= level * (1 + 1e-7):
            break
        # exchange: the largest error of each run of one sign, alternating, `points` of them
        runs = np.split(np.arange(len(a)), np.flatnonzero(np.diff(np.sign(error)) != 0) + 1)
        extrema = [run[np.argmax(np.abs(error[run]))] for run in runs]
        while len(extrema) > points:
            extrema.pop(0 if abs(error[extrema[0]]) < abs(error[extrema[-1]]) else -1)
        if len(extrema) < points:
            break
        reference = np.array(extrema)
    return best


def main():
    error, v = fit()
    print("max GELU error of the fit (float64): %.3g" % error)
    print("P = (%s)" % ", ".join("%.9g" % np.float32(c) for c in (v[0] / 2, v[4], v[5])))
    print("Q = (%s)" % ", ".join("%.9g" % np.float32(c) for c in (v[0], v[1], v[2])))


if __name__ == "__main__":
    main()
