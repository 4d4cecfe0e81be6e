"""Gamma-Gamma kernels against scipy evaluations (a different route: the distribution of a sum of Gammas)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, special, stats
from scipy.special import gammaln

from numeric import gamma_gamma

PARAMS = [(6.25, 3.74, 15.44), (0.8, 1.3, 2.0), (20.0, 9.0, 400.0)]  # first: the CDNOW fit as commonly published


def reference_ll(p, q, v, x, m):
    """The paper's closed form, written as a density of the mean from gamma functions (scipy)."""
    return (
        gammaln(p * x + q)
        - gammaln(p * x)
        - gammaln(q)
        + q * np.log(v)
        + (p * x - 1) * np.log(m)
        + p * x * np.log(x)
        - (p * x + q) * np.log(v + x * m)
    )


def spend(rng, n=300):
    x = rng.integers(1, 30, n).astype(float)
    m = rng.lognormal(3, 1, n)
    return x, m


@pytest.mark.parametrize("params", PARAMS)
def test_log_likelihood_matches_reference(params):
    x, m = spend(np.random.default_rng(1))
    mine = gamma_gamma.log_likelihood_per_customer(*params, x, m)
    np.testing.assert_allclose(mine, reference_ll(*params, x, m), rtol=1e-10)


def test_density_is_the_mixture_integral():
    """Independent check of the closed form: integrate Gamma(p x, rate nu x) (the mean) over nu ~ Gamma(q, v)."""
    p, q, v = 2.5, 3.0, 10.0
    for x, m in [(1.0, 4.0), (3.0, 2.5), (7.0, 9.0)]:

        def integrand(nu, x=x, m=m):
            return stats.gamma.pdf(m, p * x, scale=1 / (nu * x)) * stats.gamma.pdf(nu, q, scale=1 / v)

        value, _ = integrate.quad(integrand, 0, np.inf, epsabs=0, epsrel=1e-12, limit=200)
        mine = gamma_gamma.log_likelihood_per_customer(p, q, v, np.array([x]), np.array([m]))[0]
        assert mine == pytest.approx(np.log(value), rel=1e-9)


@pytest.mark.parametrize("params", PARAMS)
def test_gradient_by_finite_differences(params):
    x, m = spend(np.random.default_rng(2), n=150)
    w = np.random.default_rng(3).integers(1, 4, x.shape[0]).astype(float)
    total, grad = gamma_gamma.log_likelihood_and_gradient(*params, x, m, w)
    assert total == pytest.approx(reference_ll(*params, x, m) @ w, rel=1e-12)
    for j in range(3):
        h = 1e-6 * params[j]
        up, down = list(params), list(params)
        up[j] += h
        down[j] -= h
        fd = (reference_ll(*up, x, m) @ w - reference_ll(*down, x, m) @ w) / (2 * h)
        assert grad[j] == pytest.approx(fd, rel=1e-6, abs=1e-7), j
    theta = np.log(np.array(params))
    obj, g_theta = gamma_gamma.neg_log_likelihood_log_params(theta, x, m, w, 2.0)
    assert obj == pytest.approx(-2.0 * total, rel=1e-14)
    np.testing.assert_allclose(g_theta, -2.0 * grad * np.array(params), rtol=1e-12)


def test_conditional_expected_average_value():
    p, q, v = PARAMS[0]
    x = np.array([0.0, 1.0, 2.0, 10.0])
    m = np.array([0.0, 20.0, 35.0, 12.5])
    mine = gamma_gamma.conditional_expected_average_value(p, q, v, x, m)
    # posterior of nu is Gamma(p x + q, v + x m); E[p / nu] = p (v + x m) / (p x + q - 1)
    post = [p * stats.invgamma.mean(p * xi + q, scale=v + xi * mi) for xi, mi in zip(x, m, strict=True)]
    np.testing.assert_allclose(mine, post, rtol=1e-12)
    # a weighted average of the population mean and the customer's own average
    w = p * x / (p * x + q - 1)
    np.testing.assert_allclose(mine, (1 - w) * p * v / (q - 1) + w * m, rtol=1e-12)
    assert np.isnan(gamma_gamma.conditional_expected_average_value(1.0, 0.5, 1.0, np.zeros(1), np.ones(1))[0])


@pytest.mark.parametrize("x", [1.0, 2.0, 3.0])
def test_expected_value_after_zero_value_purchases_is_the_censored_posterior_mean(x):
    """x values recorded as 0.00, i.e. each below half a cent: the posterior mean of p / nu by quadrature.

    Under the model the sum S of x values is Gamma(p x, nu): the likelihood of nu is P(S < x e) (scipy's
    regularised incomplete gamma), the prior Gamma(q, v). As e -> 0 the mean tends to the kernel's value at m = 0.
    """
    p, q, v = PARAMS[0]
    bound = x * 1e-7  # e: a small enough bound that its own effect (order nu e) is below 1e-7

    def posterior(nu, moment):
        scaled_likelihood = np.exp(np.log(special.gammainc(p * x, nu * bound)) - p * x * np.log(bound))
        return (p / nu) ** moment * scaled_likelihood * stats.gamma.pdf(nu, q, scale=1 / v)

    first, total = (
        integrate.quad(posterior, 0, np.inf, args=(moment,), epsabs=0, epsrel=1e-12, limit=200)[0] for moment in (1, 0)
    )
    mean = first / total
    mine = gamma_gamma.conditional_expected_average_value(p, q, v, np.array([x]), np.zeros(1))[0]
    assert mine == pytest.approx(mean, rel=1e-6)
    # below the population mean (no repeat purchase), above zero
    assert 0 < mine < p * v / (q - 1)


def test_validate_spend():
    for bad in (([0], [1.0]), ([1], [0.0]), ([1.5], [1.0]), ([1], [np.inf])):
        with pytest.raises(ValueError):
            gamma_gamma.validate_spend(*bad)
