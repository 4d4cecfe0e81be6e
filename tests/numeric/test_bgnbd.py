"""BG/NBD kernels against plain numpy/scipy evaluations of the paper's formulas."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import betaln, gammaln, hyp2f1

from numeric import bgnbd

CDNOW = (0.243, 4.414, 0.793, 2.426)  # Fader, Hardie & Lee (2005), weeks


def reference_ll(r, alpha, a, b, x, t_x, big_t):
    """Eq. (6) of the paper: L = A1 * A2 + [x > 0] * A1 * A3 terms, in logs via betaln / gammaln."""
    head = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    t1 = betaln(a, b + x) - betaln(a, b) - (r + x) * np.log(alpha + big_t)
    with np.errstate(invalid="ignore", divide="ignore"):
        t2 = betaln(a + 1, b + x - 1) - betaln(a, b) - (r + x) * np.log(alpha + t_x)
    t2 = np.where(x > 0, t2, -np.inf)
    return head + np.logaddexp(t1, t2)


def reference_conditional(r, alpha, a, b, t, x, t_x, big_t):
    """Eq. (10) of the paper with scipy's hyp2f1."""
    f = hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + big_t + t))
    num = (a + b + x - 1) / (a - 1) * (1 - ((alpha + big_t) / (alpha + big_t + t)) ** (r + x) * f)
    den = 1 + (x > 0) * a / (b + x - 1) * ((alpha + big_t) / (alpha + t_x)) ** (r + x)
    return num / den


def reference_p_alive(r, alpha, a, b, x, t_x, big_t):
    return 1 / (1 + (x > 0) * a / (b + x - 1) * ((alpha + big_t) / (alpha + t_x)) ** (r + x))


def summary(rng, n=500, max_x=40):
    big_t = rng.uniform(0.5, 80, n)
    x = rng.integers(0, max_x, n).astype(float)
    x[rng.random(n) < 0.4] = 0
    t_x = np.where(x > 0, big_t * rng.uniform(0.01, 1, n), 0.0)
    return x, t_x, big_t


PARAMS = [CDNOW, (1.7, 0.8, 2.3, 0.6), (0.05, 30.0, 0.3, 12.0), (12.0, 90.0, 1.4, 3.3)]


@pytest.mark.parametrize("params", PARAMS)
def test_log_likelihood_matches_reference(params):
    x, t_x, big_t = summary(np.random.default_rng(1))
    mine = bgnbd.log_likelihood_per_customer(*params, x, t_x, big_t)
    np.testing.assert_allclose(mine, reference_ll(*params, x, t_x, big_t), rtol=1e-10)
    total, _ = bgnbd.log_likelihood_and_gradient(*params, x, t_x, big_t, np.ones_like(x))
    assert total == pytest.approx(reference_ll(*params, x, t_x, big_t).sum(), rel=1e-12)


@pytest.mark.parametrize("params", PARAMS)
def test_gradient_by_finite_differences(params):
    x, t_x, big_t = summary(np.random.default_rng(2), n=200)
    w = np.random.default_rng(3).integers(1, 5, x.shape[0]).astype(float)
    _, grad = bgnbd.log_likelihood_and_gradient(*params, x, t_x, big_t, w)
    for j in range(4):
        h = 1e-6 * params[j]
        up, down = list(params), list(params)
        up[j] += h
        down[j] -= h
        fd = (reference_ll(*up, x, t_x, big_t) @ w - reference_ll(*down, x, t_x, big_t) @ w) / (2 * h)
        assert grad[j] == pytest.approx(fd, rel=1e-6, abs=1e-6 * abs(fd) + 1e-7), j
    # log-parameter objective: gradient is -scale * p * d ll / dp
    theta = np.log(np.array(params))
    obj, g_theta = bgnbd.neg_log_likelihood_log_params(theta, x, t_x, big_t, w, 0.5)
    assert obj == pytest.approx(-0.5 * (reference_ll(*params, x, t_x, big_t) @ w), rel=1e-12)
    np.testing.assert_allclose(g_theta, -0.5 * grad * np.array(params), rtol=1e-12)


def test_tabulated_total_equals_direct_per_customer_terms():
    """The total tabulates the gamma terms per whole x by recurrence: check it for large x (and a fractional x)."""
    rng = np.random.default_rng(6)
    big_t = rng.uniform(100, 400, 300)
    x = np.concatenate([rng.integers(0, 3000, 299), [2.5]]).astype(float)  # one fractional x: direct path
    t_x = np.where(x > 0, big_t * rng.uniform(0.5, 1, 300), 0.0)
    for params in PARAMS:
        total, grad = bgnbd.log_likelihood_and_gradient(*params, x, t_x, big_t, np.ones(300))
        assert total == pytest.approx(reference_ll(*params, x, t_x, big_t).sum(), rel=1e-11)
        for j in range(4):
            h = 1e-6 * params[j]
            up, down = list(params), list(params)
            up[j] += h
            down[j] -= h
            fd = (reference_ll(*up, x, t_x, big_t).sum() - reference_ll(*down, x, t_x, big_t).sum()) / (2 * h)
            assert grad[j] == pytest.approx(fd, rel=1e-5, abs=1e-6 * np.abs(total)), j


@pytest.mark.parametrize("params", PARAMS)
def test_hessian_by_finite_differences_of_the_gradient(params):
    """The analytic Hessian equals central differences of the (finite-difference-checked) analytic gradient."""
    x, t_x, big_t = summary(np.random.default_rng(7), n=300, max_x=400)
    w = np.random.default_rng(8).integers(1, 5, x.shape[0]).astype(float)
    total, grad, hess = bgnbd.log_likelihood_gradient_hessian(*params, x, t_x, big_t, w)
    assert total == pytest.approx(reference_ll(*params, x, t_x, big_t) @ w, rel=1e-11)
    np.testing.assert_allclose(grad, bgnbd.log_likelihood_and_gradient(*params, x, t_x, big_t, w)[1], rtol=1e-10)
    np.testing.assert_array_equal(hess, hess.T)
    for j in range(4):
        h = 1e-6 * params[j]
        up, down = list(params), list(params)
        up[j] += h
        down[j] -= h
        fd = (
            bgnbd.log_likelihood_and_gradient(*up, x, t_x, big_t, w)[1]
            - bgnbd.log_likelihood_and_gradient(*down, x, t_x, big_t, w)[1]
        ) / (2 * h)
        np.testing.assert_allclose(hess[:, j], fd, rtol=1e-6, atol=1e-7 * np.abs(hess).max(), err_msg=str(j))
    # log-parameters: d2/dtheta2 = p p' H + diag(p g), scaled and negated like the objective
    theta = np.log(np.array(params))
    obj, g_theta, h_theta = bgnbd.neg_log_likelihood_hessian_log_params(theta, x, t_x, big_t, w, 0.5)
    assert obj == pytest.approx(-0.5 * total, rel=1e-14)
    np.testing.assert_allclose(g_theta, -0.5 * grad * np.exp(theta), rtol=1e-14)
    fd_theta = np.empty((4, 4))
    for j in range(4):
        step = np.zeros(4)
        step[j] = 1e-6
        fd_theta[:, j] = (
            bgnbd.neg_log_likelihood_log_params(theta + step, x, t_x, big_t, w, 0.5)[1]
            - bgnbd.neg_log_likelihood_log_params(theta - step, x, t_x, big_t, w, 0.5)[1]
        ) / 2e-6
    np.testing.assert_allclose(h_theta, fd_theta, rtol=1e-6, atol=1e-7 * np.abs(h_theta).max())


def test_hessian_needs_whole_tabulated_x():
    one = np.ones(1)
    with pytest.raises(ValueError, match="whole"):
        bgnbd.log_likelihood_gradient_hessian(*CDNOW, np.array([2.5]), one, 2 * one, one)
    with pytest.raises(ValueError, match="whole"):
        bgnbd.log_likelihood_gradient_hessian(*CDNOW, np.array([bgnbd.TABLE_MAX_X + 1.0]), one, 2 * one, one)


@pytest.mark.parametrize("params", PARAMS)
@pytest.mark.parametrize("t", [1.0, 30.0, 52.0, 365.0])
def test_conditional_expected_purchases_matches_reference(params, t):
    x, t_x, big_t = summary(np.random.default_rng(4), n=300)
    mine = bgnbd.conditional_expected_purchases(*params, t, x, t_x, big_t)
    ref = reference_conditional(*params, t, x, t_x, big_t)
    ok = np.isfinite(ref)
    assert ok.mean() > 0.95
    np.testing.assert_allclose(mine[ok], ref[ok], rtol=1e-8)
    assert (mine > 0).all()


@pytest.mark.parametrize("params", PARAMS)
def test_p_alive_matches_reference(params):
    x, t_x, big_t = summary(np.random.default_rng(5))
    mine = bgnbd.probability_alive(*params, x, t_x, big_t)
    np.testing.assert_allclose(mine, reference_p_alive(*params, x, t_x, big_t), rtol=1e-12)
    assert ((mine > 0) & (mine <= 1)).all()


def test_unconditional_expected_purchases():
    r, alpha, a, b = CDNOW
    t = np.array([0.0, 1.0, 39.0, 78.0, 520.0])
    ref = (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, t / (alpha + t)))
    np.testing.assert_allclose(bgnbd.expected_purchases(r, alpha, a, b, t), ref, rtol=1e-9, atol=1e-15)
    # with no history (x = 0) a customer at T -> 0 is a new customer: E[Y(t) | 0, 0, T -> 0] -> E[X(t)]
    cond = bgnbd.conditional_expected_purchases(r, alpha, a, b, 39.0, np.zeros(1), np.zeros(1), np.array([1e-12]))
    assert cond[0] == pytest.approx(ref[2], rel=1e-9)


def test_cdnow_published_parameters():
    """CDNOW fit of the paper (weeks): predictions for sample customers equal the paper's formulas (mpmath)."""
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 30
    r, alpha, a, b = (mpmath.mpf(v) for v in ("0.243", "4.414", "0.793", "2.426"))
    customers = [(2, 30.43, 38.86), (0, 0.0, 38.86), (1, 2.0, 38.86), (7, 35.0, 38.0), (26, 30.86, 31.0)]
    for x, t_x, big_t in customers:
        xs, txs, ts = mpmath.mpf(x), mpmath.mpf(str(t_x)), mpmath.mpf(str(big_t))
        odds = (a / (b + xs - 1) * ((alpha + ts) / (alpha + txs)) ** (r + xs)) if x > 0 else 0
        z = 39 / (alpha + ts + 39)
        f = mpmath.hyp2f1(r + xs, b + xs, a + b + xs - 1, z)
        expected = (a + b + xs - 1) / (a - 1) * (1 - ((alpha + ts) / (alpha + ts + 39)) ** (r + xs) * f) / (1 + odds)
        arrays = np.array([float(x)]), np.array([t_x]), np.array([big_t])
        mine = bgnbd.conditional_expected_purchases(*CDNOW, 39.0, *arrays)[0]
        assert mine == pytest.approx(float(expected), rel=1e-10)
        assert bgnbd.probability_alive(*CDNOW, *arrays)[0] == pytest.approx(float(1 / (1 + odds)), rel=1e-12)


def test_cdnow_paper_example():
    """The paper's worked example (section 5): x = 2, t_x = 30.43, T = 38.86 weeks -> 1.226 purchases in 39 weeks."""
    one = [np.array([v]) for v in (2.0, 30.43, 38.86)]
    assert bgnbd.conditional_expected_purchases(*CDNOW, 39.0, *one)[0] == pytest.approx(1.226, abs=5e-4)


def test_validate_summary():
    converted = bgnbd.validate_summary([0, 2], [0, 3.5], [4, 4])
    assert all(v.dtype == np.float64 for v in converted)
    for bad in (([1.5], [1], [2]), ([-1], [0], [2]), ([1], [3], [2]), ([0], [0], [0]), ([np.nan], [0], [1])):
        with pytest.raises(ValueError):
            bgnbd.validate_summary(*bad)
