"""Maximum-likelihood fits recover the parameters of seeded simulations; unidentifiable data raise.

Tolerances: relative error < 10% for r, alpha and the Gamma-Gamma q, < 15% for a, b, p, v (about 3 standard
errors or more at the simulated sizes, whose standard errors the fits report and the tests also check: every
estimate within 4 standard errors of the truth).
"""

from __future__ import annotations

import numpy as np
import pytest
import threadpoolctl
from scipy import optimize
from scipy.special import betaln, gammaln

from numeric import bgnbd, fitting
from numeric.fitting import ModelNotIdentifiedError, fit_bgnbd, fit_gamma_gamma
from numeric.simulate import simulate_bgnbd, simulate_gamma_gamma


def check_recovery(fit_params, true, log_se, rel_tol):
    fit_params, true, log_se = np.array(fit_params), np.array(true), np.array(log_se)
    rel = fit_params / true - 1
    assert (np.abs(rel) < np.array(rel_tol)).all(), (fit_params, rel)
    assert (np.abs(np.log(fit_params / true)) < 4 * log_se).all(), (rel, log_se)


def test_bgnbd_recovers_simulated_parameters():
    true = (0.8, 6.0, 0.9, 3.0)
    x, t_x, big_t = simulate_bgnbd(np.random.default_rng(20), 20_000, *true, t_low=26, t_high=78)
    fit = fit_bgnbd(x, t_x, big_t)
    assert fit.converged and fit.n_customers == 20_000 and fit.n_repeat_customers == int((x > 0).sum())
    check_recovery(fit.params, true, fit.log_param_se, [0.10, 0.10, 0.15, 0.15])
    assert max(fit.log_param_se) < 0.06


def test_bgnbd_cdnow_like_parameters_within_standard_errors():
    """CDNOW-like (weeks, mostly one-off buyers): a and b are weakly identified, so only the 4-SE check applies."""
    true = (0.243, 4.414, 0.793, 2.426)
    x, t_x, big_t = simulate_bgnbd(np.random.default_rng(21), 20_000, *true, t_low=27, t_high=39)
    fit = fit_bgnbd(x, t_x, big_t)
    check_recovery(fit.params, true, fit.log_param_se, [0.10, 0.10, 0.5, 0.5])


def test_bgnbd_fit_is_the_maximum_of_an_independent_likelihood():
    """scipy Nelder-Mead on a betaln/gammaln likelihood, started at our optimum, does not find a better point."""
    x, t_x, big_t = simulate_bgnbd(np.random.default_rng(22), 3_000, 0.5, 3.0, 1.2, 4.0, 20, 60)
    fit = fit_bgnbd(x, t_x, big_t)

    def neg_ll(theta):
        r, alpha, a, b = np.exp(theta)
        head = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
        t1 = betaln(a, b + x) - betaln(a, b) - (r + x) * np.log(alpha + big_t)
        with np.errstate(invalid="ignore", divide="ignore"):
            t2 = np.where(x > 0, betaln(a + 1, b + x - 1) - betaln(a, b) - (r + x) * np.log(alpha + t_x), -np.inf)
        return -np.sum(head + np.logaddexp(t1, t2))

    assert -neg_ll(np.log(fit.params)) == pytest.approx(fit.log_likelihood, rel=1e-12)
    res = optimize.minimize(neg_ll, np.log(fit.params), method="Nelder-Mead", options={"xatol": 1e-9, "fatol": 1e-9})
    assert res.fun >= -fit.log_likelihood - 1e-6
    np.testing.assert_allclose(np.exp(res.x), fit.params, rtol=1e-3)


def test_bgnbd_collapsing_identical_rows_changes_nothing():
    rng = np.random.default_rng(23)
    x, t_x, big_t = simulate_bgnbd(rng, 4_000, 0.8, 6.0, 0.9, 3.0, 26, 78)
    # whole weeks: many identical summaries, collapsed into weighted rows
    fit = fit_bgnbd(x, np.floor(t_x), np.ceil(big_t))
    x2, t_x2, big_t2 = np.concatenate([x, x]), np.concatenate([np.floor(t_x)] * 2), np.concatenate([np.ceil(big_t)] * 2)
    fit2 = fit_bgnbd(x2, t_x2, big_t2)
    np.testing.assert_allclose(fit2.params, fit.params, rtol=1e-5)
    assert fit2.log_likelihood == pytest.approx(2 * fit.log_likelihood, rel=1e-9)


def test_screening_starts_on_a_subsample_gives_the_same_fit(monkeypatch):
    """Screened: L-BFGS-B on a subsample, then Newton (BG/NBD) or L-BFGS-B (Gamma-Gamma) on all rows."""
    x, t_x, big_t = simulate_bgnbd(np.random.default_rng(24), 5_000, 0.8, 6.0, 0.9, 3.0, 26, 78)
    xs, ms = simulate_gamma_gamma(np.random.default_rng(25), 5_000, 2.0, 5.0, 40.0, x_max=10)
    full, full_gg = fit_bgnbd(x, t_x, big_t), fit_gamma_gamma(xs, ms)
    monkeypatch.setattr(fitting, "SCREEN_ROWS", 500)
    screened, screened_gg = fit_bgnbd(x, t_x, big_t), fit_gamma_gamma(xs, ms)
    assert screened.message.startswith("trust-exact") and not full.message.startswith("trust-exact")
    np.testing.assert_allclose(screened.params, full.params, rtol=1e-6)
    np.testing.assert_allclose(screened.log_param_se, full.log_param_se, rtol=1e-4)
    np.testing.assert_allclose(screened_gg.params, full_gg.params, rtol=1e-5)
    assert screened.log_likelihood == pytest.approx(full.log_likelihood, rel=1e-10)


def test_analytic_and_finite_difference_standard_errors_agree():
    x, t_x, big_t = simulate_bgnbd(np.random.default_rng(27), 5_000, 0.8, 6.0, 0.9, 3.0, 26, 78)
    fit = fit_bgnbd(x, t_x, big_t)
    theta, weight = np.log(fit.params), np.ones_like(x)

    def objective(th):
        return bgnbd.neg_log_likelihood_log_params(th, x, t_x, big_t, weight, 1 / x.shape[0])

    hessian = fitting._finite_difference_hessian(objective, theta)
    se = fitting._log_param_se(hessian, theta, x.shape[0], "BG/NBD", ("r", "alpha", "a", "b"))
    np.testing.assert_allclose(fit.log_param_se, se, rtol=1e-5)


def test_newton_refinement_falls_back_to_l_bfgs_b():
    def objective(theta):  # a quadratic bowl with its minimum at (1, -2)
        return float((theta[0] - 1) ** 2 + 3 * (theta[1] + 2) ** 2), np.array([2 * (theta[0] - 1), 6 * (theta[1] + 2)])

    def with_hessian(theta):
        return (*objective(theta), np.diag([2.0, 6.0]))

    bounds = [(-5.0, 5.0)] * 2
    found = fitting._minimise(objective, [np.zeros(2)], bounds, 10, "test", ("u", "w"), objective, with_hessian)
    assert found.message.startswith("trust-exact") and found.converged
    np.testing.assert_allclose(found.theta, [1.0, -2.0], atol=1e-10)
    np.testing.assert_allclose(found.log_param_se, [np.sqrt(1 / 20), np.sqrt(1 / 60)], rtol=1e-12)

    def unbounded_below(theta):  # Newton runs out of the box; L-BFGS-B then stops on the bound
        return float(theta[0] + (theta[1] - 1) ** 2), np.array([1.0, 2 * (theta[1] - 1)])

    def unbounded_with_hessian(theta):
        return (*unbounded_below(theta), np.diag([0.0, 2.0]))

    with pytest.raises(ModelNotIdentifiedError, match="boundary"):
        fitting._minimise(
            unbounded_below, [np.zeros(2)], bounds, 10, "test", ("u", "w"), unbounded_below, unbounded_with_hessian
        )


def test_optimisers_run_with_one_blas_thread():
    seen = []

    def objective(theta):
        seen.append({info["num_threads"] for info in threadpoolctl.threadpool_info() if info["user_api"] == "blas"})
        return float((theta[0] - 1) ** 2 + (theta[1] + 2) ** 2), np.array([2 * (theta[0] - 1), 2 * (theta[1] + 2)])

    fitting._minimise(objective, [np.zeros(2)], [(-5.0, 5.0)] * 2, 10, "test", ("u", "w"))
    assert seen and all(threads == {1} for threads in seen)


def test_collapse_groups_identical_rows_whatever_the_input_order():
    rng = np.random.default_rng(26)
    columns = [rng.integers(0, 4, 3000).astype(float), rng.integers(0, 5, 3000) / 2, rng.integers(5, 8, 3000) * 1.0]
    columns[1][:7] = -0.0  # equals 0.0
    unique, weight = fitting._collapse(*columns)
    expected, counts = np.unique(np.stack(columns, axis=1) + 0.0, axis=0, return_counts=True)
    order = np.lexsort(unique[::-1])
    np.testing.assert_array_equal(np.stack(unique, axis=1)[order], expected)
    np.testing.assert_array_equal(weight[order], counts)
    permuted = rng.permutation(3000)
    unique_p, weight_p = fitting._collapse(*(c[permuted] for c in columns))
    for a, b in zip(unique_p, unique, strict=True):
        np.testing.assert_array_equal(a, b)  # the same rows in the same order
    np.testing.assert_array_equal(weight_p, weight)


def test_colliding_hashes_are_grouped_by_value():
    """Distinct rows sharing a hash (forced here: all hashes 0) still form one group per distinct row, in order."""
    rng = np.random.default_rng(28)
    values = np.stack([rng.integers(0, 3, 200) * 1.0, rng.integers(0, 3, 200) * 1.0])
    bits = values.view(np.uint64)
    first, count = fitting._group_rows(bits, np.zeros(200, dtype=np.uint64), rng.permutation(200))
    expected, counts = np.unique(values.T, axis=0, return_counts=True)
    np.testing.assert_array_equal(values[:, first].T, expected)  # non-negative floats: bit order is value order
    np.testing.assert_array_equal(count, counts)


def test_gamma_gamma_recovers_simulated_parameters():
    true = (2.0, 5.0, 40.0)
    x, m = simulate_gamma_gamma(np.random.default_rng(30), 20_000, *true, x_max=10)
    fit = fit_gamma_gamma(x, m)
    assert fit.converged and fit.n_customers == 20_000
    check_recovery(fit.params, true, fit.log_param_se, [0.15, 0.10, 0.15])


def test_gamma_gamma_cdnow_like_parameters_within_standard_errors():
    true = (6.25, 3.74, 15.44)
    x, m = simulate_gamma_gamma(np.random.default_rng(31), 10_000, *true, x_max=20)
    fit = fit_gamma_gamma(x, m)
    check_recovery(fit.params, true, fit.log_param_se, [0.5, 0.10, 0.5])


def test_bgnbd_unidentifiable_data_raise():
    rng = np.random.default_rng(40)
    x, t_x, big_t = simulate_bgnbd(rng, 2_000, 0.8, 6.0, 0.9, 3.0, 26, 78)
    with pytest.raises(ModelNotIdentifiedError, match="repeat"):
        fit_bgnbd(np.zeros(500), np.zeros(500), np.full(500, 30.0))
    with pytest.raises(ModelNotIdentifiedError, match="same"):
        fit_bgnbd(np.full(500, 3.0), np.full(500, 20.0), np.full(500, 30.0))
    with pytest.raises(ModelNotIdentifiedError, match="customers"):
        fit_bgnbd(x[:5], t_x[:5], big_t[:5])
    # no dropout at all (Poisson purchases with gamma rates): a -> 0 with b free, a flat ridge to the boundary
    lam = rng.gamma(0.8, 1 / 6.0, 5_000)
    big_t = rng.uniform(26, 78, 5_000)
    x = rng.poisson(lam * big_t).astype(float)
    t_x = np.where(x > 0, big_t * rng.beta(np.maximum(x, 1), 1), 0.0)  # the last of x uniform arrivals
    with pytest.raises(ModelNotIdentifiedError, match=r"not identified|boundary"):
        fit_bgnbd(x, t_x, big_t)
    with pytest.raises(ValueError):
        fit_bgnbd([1.0, 2.0], [3.0, 1.0], [2.0, 2.0])  # t_x > T: invalid, not unidentified


def test_gamma_gamma_unidentifiable_data_raise():
    rng = np.random.default_rng(41)
    with pytest.raises(ModelNotIdentifiedError, match="same average"):
        fit_gamma_gamma(rng.integers(1, 5, 100).astype(float), np.full(100, 25.0))
    with pytest.raises(ModelNotIdentifiedError, match="customers"):
        fit_gamma_gamma([1.0, 2.0, 3.0], [10.0, 20.0, 30.0])
    # every customer has the same spend rate nu: q -> infinity (no heterogeneity), flat towards the bound
    x = rng.integers(1, 10, 5_000).astype(float)
    m = rng.gamma(2 * x, 1 / (0.1 * x))
    with pytest.raises(ModelNotIdentifiedError, match=r"not identified|boundary"):
        fit_gamma_gamma(x, m)
    with pytest.raises(ValueError):
        fit_gamma_gamma([0.0, 1.0], [0.0, 3.0])  # x = 0 customers are not input to Gamma-Gamma


def test_non_finite_likelihood_raises():
    def objective(theta):
        return np.nan, np.full(theta.shape, np.nan)

    with pytest.raises(ModelNotIdentifiedError, match="not finite"):
        fitting._minimise(objective, [np.zeros(2)], [(-5.0, 5.0)] * 2, 10, "test", ("u", "w"))


def test_boundary_solution_raises():
    def objective(theta):  # minimum at theta[0] -> -inf: runs into the lower bound
        return float(theta[0] + (theta[1] - 1) ** 2), np.array([1.0, 2 * (theta[1] - 1)])

    with pytest.raises(ModelNotIdentifiedError, match="boundary"):
        fitting._minimise(objective, [np.zeros(2)], [(-5.0, 5.0)] * 2, 10, "test", ("u", "w"))
