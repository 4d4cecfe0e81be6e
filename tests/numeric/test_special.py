"""digamma and hyp2f1 against scipy.special (and mpmath where c - a - b is an integer)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.special as sp

from numeric.special import digamma, hyp2f1, hyp2f1_vec

Z_GRID = [0.0, 0.01, 0.3, 0.6, 0.8, 0.9, 0.949, 0.951, 0.97, 0.99, 0.999, 0.9999, 1 - 1e-6, 1 - 1e-8]


def test_digamma():
    xs = np.concatenate([np.geomspace(1e-4, 1e4, 400), np.linspace(0.5, 30, 301)])
    mine = np.array([digamma(x) for x in xs])
    np.testing.assert_allclose(mine, sp.digamma(xs), rtol=1e-13, atol=1e-14)
    assert np.isnan(digamma(0.0)) and np.isnan(digamma(-1.5))


def bgnbd_grid():
    """The arguments E[Y(t)] uses: 2F1(r + x, b + x; a + b + x - 1; z), over plausible fits and customers."""
    rows = []
    for r, x, a, b, z in itertools.product(
        [0.05, 0.243, 0.9, 2.7, 11.3],
        [0, 1, 2, 5, 17, 60],
        [0.2, 0.793, 1.3, 3.9],
        [0.4, 2.426, 9.1],
        Z_GRID,
    ):
        if a + b + x - 1 > 0:
            rows.append((r + x, b + x, a + b + x - 1, z))
    return np.array(rows)


def test_hyp2f1_matches_scipy_over_bgnbd_ranges():
    q = bgnbd_grid()
    mine = hyp2f1_vec(q[:, 0], q[:, 1], q[:, 2], q[:, 3])
    ref = sp.hyp2f1(q[:, 0], q[:, 1], q[:, 2], q[:, 3])
    ok = np.isfinite(ref)
    assert ok.mean() > 0.97  # only overflowing values (huge a, b with z -> 1) are excluded
    assert len(q) > 3000
    np.testing.assert_allclose(mine[ok], ref[ok], rtol=1e-9)
    assert np.all(np.isinf(mine[~ok]) | np.isnan(mine[~ok]))


@pytest.mark.parametrize("m", [-3.0, -1.0, 0.0, 1.0, 2.0, 5e-5, -1e-6])
def test_hyp2f1_integer_c_minus_a_minus_b(m):
    """Where c - a - b is (near) an integer the 1 - z transformation is degenerate; checked against mpmath."""
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 40
    for a, b, z in itertools.product([0.243, 3.0, 12.5], [0.7, 4.426], [0.951, 0.99, 0.9999, 1 - 1e-7]):
        c = a + b + m
        if c <= 0:
            continue
        ref = float(mpmath.hyp2f1(a, b, c, z))
        assert hyp2f1(a, b, c, z) == pytest.approx(ref, rel=1e-9), (a, b, c, z)


def test_hyp2f1_general_real_arguments():
    rng = np.random.default_rng(3)
    n = 400
    a = rng.uniform(-4.5, 6, n)
    b = rng.uniform(-4.5, 6, n)
    c = rng.uniform(0.3, 8, n) * rng.choice([-1.0, 1.0], n, p=[0.2, 0.8])
    z = rng.uniform(-3, 0.999, n)
    mine = hyp2f1_vec(a, b, c, z)
    ref = sp.hyp2f1(a, b, c, z)
    ok = np.isfinite(ref) & (np.abs(ref) > 1e-3)  # away from zeros of F, where relative error is meaningless
    np.testing.assert_allclose(mine[ok], ref[ok], rtol=1e-8)


def test_hyp2f1_special_values():
    assert hyp2f1(1.0, 1.0, 2.0, 0.5) == pytest.approx(-np.log(0.5) / 0.5, rel=1e-14)  # -log(1 - z) / z
    assert hyp2f1(2.0, 3.0, 4.0, 0.0) == 1.0
    assert np.isnan(hyp2f1(1.0, 1.0, 2.0, 1.0))
    assert np.isnan(hyp2f1(1.0, 1.0, -2.0, 0.5))
    assert hyp2f1(-2.0, 3.0, 4.0, 0.7) == pytest.approx(sp.hyp2f1(-2.0, 3.0, 4.0, 0.7), rel=1e-14)  # polynomial
