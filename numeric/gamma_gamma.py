"""Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV: using iso-value curves for customer base analysis").

Each transaction value of a customer is Gamma(p, nu); nu varies across customers as Gamma(q, v). Fitted on repeat
customers only: ``x > 0`` transactions with average value ``m > 0``. Density of the average (eq. 3 of the note
"The Gamma-Gamma model of monetary value"), per customer::

    ll = lnG(p x + q) - lnG(p x) - lnG(q) + q ln v + (p x - 1) ln m + p x ln x - (p x + q) ln(v + x m)

Gradient w.r.t. (p, q, v) is analytic (digamma). The optimiser works in ``theta = ln(p, q, v)``.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from numeric.special import digamma


@numba.njit(cache=True)
def _ll_grad_one(p: float, q: float, v: float, x: float, m: float, grad: np.ndarray) -> float:
    px = p * x
    l_vxm = math.log(v + x * m)
    l_m = math.log(m)
    l_x = math.log(x)
    psi_pxq = digamma(px + q)
    grad[0] = x * (psi_pxq - digamma(px) + l_m + l_x - l_vxm)
    grad[1] = psi_pxq - digamma(q) + math.log(v) - l_vxm
    grad[2] = q / v - (px + q) / (v + x * m)
    return (
        math.lgamma(px + q)
        - math.lgamma(px)
        - math.lgamma(q)
        + q * math.log(v)
        + (px - 1.0) * l_m
        + px * l_x
        - (px + q) * l_vxm
    )


@numba.njit(cache=True)
def log_likelihood_per_customer(p: float, q: float, v: float, x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Gamma-Gamma log-likelihood of each repeat customer.

    Args:
        p: Gamma shape of a transaction value.
        q: Gamma shape of the customers' rate nu.
        v: Gamma rate (scale in money) of nu.
        x: Number of transactions the average is over (> 0).
        m: Average transaction value (> 0).

    Returns:
        float64 array of per-customer log-likelihoods.
    """
    out = np.empty(x.shape[0], dtype=np.float64)
    grad = np.empty(3, dtype=np.float64)
    for i in range(x.shape[0]):
        out[i] = _ll_grad_one(p, q, v, x[i], m[i], grad)
    return out


@numba.njit(cache=True)
def log_likelihood_and_gradient(
    p: float, q: float, v: float, x: np.ndarray, m: np.ndarray, weight: np.ndarray
) -> tuple[float, np.ndarray]:
    """Weighted total log-likelihood and its gradient w.r.t. (p, q, v).

    Args:
        p: Gamma shape of a transaction value.
        q: Gamma shape of the customers' rate nu.
        v: Gamma rate of nu.
        x: Number of transactions per customer (> 0).
        m: Average transaction value per customer (> 0).
        weight: Weight per row.

    Returns:
        (sum of weight * ll, gradient array of 3).
    """
    total = 0.0
    grad_total = np.zeros(3, dtype=np.float64)
    grad = np.empty(3, dtype=np.float64)
    for i in range(x.shape[0]):
        w = weight[i]
        total += w * _ll_grad_one(p, q, v, x[i], m[i], grad)
        for j in range(3):
            grad_total[j] += w * grad[j]
    return total, grad_total


@numba.njit(cache=True)
def neg_log_likelihood_log_params(
    theta: np.ndarray, x: np.ndarray, m: np.ndarray, weight: np.ndarray, scale: float
) -> tuple[float, np.ndarray]:
    """Objective for the optimiser: ``-scale * total ll`` and its gradient w.r.t. ``theta = ln(p, q, v)``.

    Args:
        theta: Log-parameters (3,).
        x: Number of transactions per row.
        m: Average transaction value per row.
        weight: Weight per row.
        scale: Multiplier of the objective.

    Returns:
        (objective, gradient (3,)).
    """
    par = np.exp(theta)
    total, grad = log_likelihood_and_gradient(par[0], par[1], par[2], x, m, weight)
    return -scale * total, -scale * grad * par


@numba.njit(cache=True)
def conditional_expected_average_value(p: float, q: float, v: float, x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """E[average transaction value | x, m] (posterior mean of p / nu).

    ``p (v + x m) / (p x + q - 1)``; for ``x == 0`` this is the population mean ``p v / (q - 1)``. NaN where the
    expectation does not exist (``p x + q <= 1``, e.g. ``x == 0`` with ``q <= 1``).

    ``x > 0`` with ``m == 0`` (x transaction values recorded as 0.00, outside the model's positive support) gives
    ``p v / (p x + q - 1)``: the posterior mean given that the x values were each below a bound e (half a cent),
    in the limit e -> 0. Their sum S is Gamma(p x, nu), ``P(S < x e | nu) ~ (nu x e) ** (p x) / Gamma(p x + 1)``,
    so the posterior of nu is Gamma(p x + q, v): below the population mean, and lower with each such value.

    Args:
        p: Gamma shape of a transaction value.
        q: Gamma shape of the customers' rate nu.
        v: Gamma rate of nu.
        x: Number of transactions per customer (>= 0).
        m: Average transaction value per customer (>= 0; ignored where x == 0).

    Returns:
        float64 array of expected average values.
    """
    out = np.empty(x.shape[0], dtype=np.float64)
    for i in range(x.shape[0]):
        den = p * x[i] + q - 1.0
        if den <= 0.0:
            out[i] = np.nan
        elif x[i] > 0.0:
            out[i] = p * (v + x[i] * m[i]) / den
        else:
            out[i] = p * v / den
    return out


def validate_spend(x: np.ndarray, m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Check and convert repeat customers' spend summaries to contiguous float64 arrays.

    Args:
        x: Number of transactions per customer (whole numbers > 0).
        m: Average transaction value per customer (> 0, finite).

    Returns:
        (x, m) as float64 arrays.

    Raises:
        ValueError: Shapes differ or values violate the constraints.
    """
    x, m = (np.ascontiguousarray(v, dtype=np.float64) for v in (x, m))
    if not (x.ndim == m.ndim == 1 and x.shape == m.shape):
        raise ValueError("x and m must be 1-d arrays of the same length")
    if not (np.isfinite(x).all() and np.isfinite(m).all()):
        raise ValueError("x and m must be finite")
    if (x <= 0).any() or (x != np.floor(x)).any() or (m <= 0).any():
        raise ValueError("Gamma-Gamma needs repeat customers: whole x > 0 and m > 0")
    return x, m
