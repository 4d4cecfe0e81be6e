"""BG/NBD purchase model (Fader, Hardie & Lee 2005, "Counting your customers the easy way").

Per customer the summary is ``x`` (repeat purchases in the calibration period), ``t_x`` (time of the last purchase,
measured from the first) and ``T`` (time from the first purchase to the end of the calibration period), all in
one time unit (days or weeks); ``alpha`` and predictions' horizons ``t`` use the same unit.

Log-likelihood of one customer (eq. 6 of the paper, written to be evaluated in logs)::

    ll = lnG(r + x) - lnG(r) + r ln(alpha) + lnG(b + x) - lnG(b) + lnG(a + b) - lnG(a + b + x)
         + ln( (alpha + T) ** -(r + x) + [x > 0] a / (b + x - 1) * (alpha + t_x) ** -(r + x) )

The gradient is analytic (digamma for the gamma-function terms). The optimiser works in log-parameters
``theta = ln(r, alpha, a, b)``; :func:`neg_log_likelihood_log_params` returns the negative total and its gradient
w.r.t. ``theta`` (``d/dtheta = p * d/dp``), with optional per-row weights (counts of identical rows).
:func:`neg_log_likelihood_hessian_log_params` adds the analytic Hessian (trigamma differences by recurrence; the
log-sum-exp of the two terms contributes ``p1 H1 + p2 H2 + p1 p2 (g1 - g2)(g1 - g2)'``), for Newton steps and
standard errors.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from numeric.special import digamma, hyp2f1


@numba.njit(cache=True)
def _ll_grad_one(
    r: float, alpha: float, a: float, b: float, x: float, t_x: float, big_t: float, grad: np.ndarray
) -> float:
    """Log-likelihood of one customer; writes d ll / d(r, alpha, a, b) into ``grad``."""
    rx = r + x
    l_alpha_t = math.log(alpha + big_t)
    c = math.lgamma(b + x) - math.lgamma(b) + math.lgamma(a + b) - math.lgamma(a + b + x)
    head = math.lgamma(rx) - math.lgamma(r) + r * math.log(alpha) + c
    l1 = -rx * l_alpha_t
    if x > 0.0:
        l_alpha_tx = math.log(alpha + t_x)
        l2 = math.log(a) - math.log(b + x - 1.0) - rx * l_alpha_tx
        m = max(l1, l2)
        e1 = math.exp(l1 - m)
        e2 = math.exp(l2 - m)
        s = e1 + e2
        log_d = m + math.log(s)
        p1 = e1 / s
        p2 = e2 / s
    else:
        l_alpha_tx = 0.0
        log_d = l1
        p1 = 1.0
        p2 = 0.0
    psi_ab = digamma(a + b)
    psi_abx = digamma(a + b + x)
    grad[0] = digamma(rx) - digamma(r) + math.log(alpha) - p1 * l_alpha_t - p2 * l_alpha_tx
    grad[1] = r / alpha - p1 * rx / (alpha + big_t) - (p2 * rx / (alpha + t_x) if x > 0.0 else 0.0)
    grad[2] = psi_ab - psi_abx + (p2 / a if x > 0.0 else 0.0)
    grad[3] = digamma(b + x) - digamma(b) + psi_ab - psi_abx - (p2 / (b + x - 1.0) if x > 0.0 else 0.0)
    return head + log_d


@numba.njit(cache=True)
def log_likelihood_per_customer(
    r: float, alpha: float, a: float, b: float, x: np.ndarray, t_x: np.ndarray, big_t: np.ndarray
) -> np.ndarray:
    """BG/NBD log-likelihood of each customer.

    Args:
        r: Gamma shape of the purchase-rate heterogeneity.
        alpha: Gamma rate (scale in time units) of the purchase-rate heterogeneity.
        a: Beta parameter of the dropout probability.
        b: Beta parameter of the dropout probability.
        x: Repeat purchases per customer (float64 array of whole numbers >= 0).
        t_x: Time of the last purchase per customer (0 <= t_x <= T).
        big_t: Calibration-period length per customer (T > 0).

    Returns:
        float64 array of per-customer log-likelihoods.
    """
    n = x.shape[0]
    out = np.empty(n, dtype=np.float64)
    grad = np.empty(4, dtype=np.float64)
    for i in range(n):
        out[i] = _ll_grad_one(r, alpha, a, b, x[i], t_x[i], big_t[i], grad)
    return out


@numba.njit(cache=True)
def _x_tables(r: float, a: float, b: float, max_x: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per whole x in 0..max_x: the gamma-function part of ll and its r / a / b derivatives, by recurrence.

    ``c[x] = lnG(r + x) - lnG(r) + lnG(b + x) - lnG(b) + lnG(a + b) - lnG(a + b + x)`` and
    ``d_r[x] = psi(r + x) - psi(r)``, ``d_a[x] = psi(a + b) - psi(a + b + x)``,
    ``d_b[x] = psi(b + x) - psi(b) + d_a[x]``
    (lnG(y + 1) = lnG(y) + ln y and psi(y + 1) = psi(y) + 1 / y).
    """
    c = np.empty(max_x + 1)
    d_r = np.empty(max_x + 1)
    d_a = np.empty(max_x + 1)
    d_b = np.empty(max_x + 1)
    c[0] = d_r[0] = d_a[0] = d_b[0] = 0.0
    psi_b = 0.0
    for k in range(max_x):
        c[k + 1] = c[k] + math.log(r + k) + math.log(b + k) - math.log(a + b + k)
        d_r[k + 1] = d_r[k] + 1.0 / (r + k)
        d_a[k + 1] = d_a[k] - 1.0 / (a + b + k)
        psi_b += 1.0 / (b + k)
        d_b[k + 1] = psi_b + d_a[k + 1]
    return c, d_r, d_a, d_b


# whole x up to this use the recurrence tables (exact to rounding); larger or fractional x the direct formula
TABLE_MAX_X = 100_000


@numba.njit(cache=True)
def log_likelihood_and_gradient(
    r: float,
    alpha: float,
    a: float,
    b: float,
    x: np.ndarray,
    t_x: np.ndarray,
    big_t: np.ndarray,
    weight: np.ndarray,
) -> tuple[float, np.ndarray]:
    """Weighted total log-likelihood and its gradient w.r.t. (r, alpha, a, b).

    The gamma-function terms depend on the customer only through x: they are tabulated once per call for whole
    x (by recurrence), so a customer costs a few logs and exps.

    Args:
        r: Gamma shape of the purchase-rate heterogeneity.
        alpha: Gamma rate of the purchase-rate heterogeneity.
        a: Beta parameter of the dropout probability.
        b: Beta parameter of the dropout probability.
        x: Repeat purchases per customer.
        t_x: Time of the last purchase per customer.
        big_t: Calibration-period length per customer.
        weight: Weight per row (e.g. the number of customers with that summary; ones for raw customers).

    Returns:
        (sum of weight * ll, gradient array of 4).
    """
    n = x.shape[0]
    max_x = 0
    for i in range(n):
        xi = x[i]
        if xi == math.floor(xi) and 0.0 <= xi <= TABLE_MAX_X and xi > max_x:
            max_x = int(xi)
    c_tab, dr_tab, da_tab, db_tab = _x_tables(r, a, b, max_x)
    log_alpha = math.log(alpha)
    log_a = math.log(a)
    head0 = r * log_alpha
    total = 0.0
    g_r = 0.0
    g_alpha = 0.0
    g_a = 0.0
    g_b = 0.0
    grad = np.empty(4, dtype=np.float64)
    for i in range(n):
        w = weight[i]
        xi = x[i]
        if not (xi == math.floor(xi) and 0.0 <= xi <= TABLE_MAX_X):
            total += w * _ll_grad_one(r, alpha, a, b, xi, t_x[i], big_t[i], grad)
            g_r += w * grad[0]
            g_alpha += w * grad[1]
            g_a += w * grad[2]
            g_b += w * grad[3]
            continue
        k = int(xi)
        rx = r + xi
        l_alpha_t = math.log(alpha + big_t[i])
        l1 = -rx * l_alpha_t
        if k > 0:
            l_alpha_tx = math.log(alpha + t_x[i])
            inv_bx1 = 1.0 / (b + xi - 1.0)
            l2 = log_a + math.log(inv_bx1) - rx * l_alpha_tx
            m = max(l1, l2)
            e1 = math.exp(l1 - m)
            e2 = math.exp(l2 - m)
            s = e1 + e2
            log_d = m + math.log(s)
            p1 = e1 / s
            p2 = e2 / s
            total += w * (head0 + c_tab[k] + log_d)
            g_r += w * (dr_tab[k] + log_alpha - p1 * l_alpha_t - p2 * l_alpha_tx)
            g_alpha += w * (r / alpha - p1 * rx / (alpha + big_t[i]) - p2 * rx / (alpha + t_x[i]))
            g_a += w * (da_tab[k] + p2 / a)
            g_b += w * (db_tab[k] - p2 * inv_bx1)
        else:
            total += w * (head0 + l1)
            g_r += w * (log_alpha - l_alpha_t)
            g_alpha += w * (r / alpha - r / (alpha + big_t[i]))
    grad_total = np.empty(4, dtype=np.float64)
    grad_total[0] = g_r
    grad_total[1] = g_alpha
    grad_total[2] = g_a
    grad_total[3] = g_b
    return total, grad_total


@numba.njit(cache=True)
def neg_log_likelihood_log_params(
    theta: np.ndarray, x: np.ndarray, t_x: np.ndarray, big_t: np.ndarray, weight: np.ndarray, scale: float
) -> tuple[float, np.ndarray]:
    """Objective for the optimiser: ``-scale * total ll`` and its gradient w.r.t. ``theta = ln(r, alpha, a, b)``.

    Args:
        theta: Log-parameters (4,).
        x: Repeat purchases per row.
        t_x: Time of the last purchase per row.
        big_t: Calibration-period length per row.
        weight: Weight per row.
        scale: Multiplier of the objective (e.g. 1 / number of customers, for conditioning).

    Returns:
        (objective, gradient (4,)).
    """
    p = np.exp(theta)
    total, grad = log_likelihood_and_gradient(p[0], p[1], p[2], p[3], x, t_x, big_t, weight)
    return -scale * total, -scale * grad * p


@numba.njit(cache=True)
def log_likelihood_gradient_hessian(
    r: float,
    alpha: float,
    a: float,
    b: float,
    x: np.ndarray,
    t_x: np.ndarray,
    big_t: np.ndarray,
    weight: np.ndarray,
) -> tuple[float, np.ndarray, np.ndarray]:
    """Weighted total log-likelihood, its gradient and its Hessian w.r.t. (r, alpha, a, b).

    The terms that depend on the customer only through x (gamma functions, ``r ln(alpha)``) are summed per
    distinct x from the total weight of each x; each row adds only its ``ln((alpha + T) ** -(r + x) + ...)`` term
    (two logs, one exp, one log1p). Needs whole ``0 <= x <= TABLE_MAX_X`` (what
    :func:`validate_summary` allows, up to the cap).

    Args:
        r: Gamma shape of the purchase-rate heterogeneity.
        alpha: Gamma rate of the purchase-rate heterogeneity.
        a: Beta parameter of the dropout probability.
        b: Beta parameter of the dropout probability.
        x: Repeat purchases per customer (whole numbers, at most ``TABLE_MAX_X``).
        t_x: Time of the last purchase per customer.
        big_t: Calibration-period length per customer.
        weight: Weight per row.

    Returns:
        (sum of weight * ll, gradient (4,), Hessian (4, 4)).

    Raises:
        ValueError: An x is not a whole number in ``[0, TABLE_MAX_X]``.
    """
    n = x.shape[0]
    max_x = 0
    for i in range(n):
        xi = x[i]
        if not (xi == math.floor(xi) and 0.0 <= xi <= TABLE_MAX_X):
            raise ValueError("x must be whole numbers in [0, TABLE_MAX_X]")
        max_x = max(max_x, int(xi))
    inv_b_x1 = np.empty(max_x + 1)  # 1 / (b + x - 1) and its log, per x >= 1
    log_b_x1 = np.empty(max_x + 1)
    inv_b_x1[0] = log_b_x1[0] = 0.0
    for k in range(1, max_x + 1):
        inv_b_x1[k] = 1.0 / (b + k - 1.0)
        log_b_x1[k] = math.log(b + k - 1.0)
    weight_of_x = np.zeros(max_x + 1)
    log_a = math.log(a)
    inv_a = 1.0 / a
    total = 0.0
    g = np.zeros(4)
    h = np.zeros((4, 4))
    for i in range(n):
        w = weight[i]
        k = int(x[i])
        weight_of_x[k] += w
        rx = r + x[i]
        l_alpha_t = math.log(alpha + big_t[i])
        inv_t = 1.0 / (alpha + big_t[i])
        if k == 0:  # ll = ... - r ln(alpha + T)
            total -= w * rx * l_alpha_t
            g[0] -= w * l_alpha_t
            g[1] -= w * rx * inv_t
            h[0, 1] -= w * inv_t
            h[1, 1] += w * rx * inv_t * inv_t
            continue
        l_alpha_tx = math.log(alpha + t_x[i])
        inv_tx = 1.0 / (alpha + t_x[i])
        l1 = -rx * l_alpha_t
        l2 = log_a - log_b_x1[k] - rx * l_alpha_tx
        if l2 > l1:
            e = math.exp(l1 - l2)
            total += w * (l2 + math.log1p(e))
            p2 = 1.0 / (1.0 + e)
            p1 = e * p2
        else:
            e = math.exp(l2 - l1)
            total += w * (l1 + math.log1p(e))
            p1 = 1.0 / (1.0 + e)
            p2 = e * p1
        inv_b = inv_b_x1[k]
        # gradients of l1 = (-ln(alpha + T), -(r + x) / (alpha + T), 0, 0) and
        # l2 = (-ln(alpha + t_x), -(r + x) / (alpha + t_x), 1 / a, -1 / (b + x - 1)), and their difference
        g1_r = -l_alpha_t
        g1_alpha = -rx * inv_t
        g2_r = -l_alpha_tx
        g2_alpha = -rx * inv_tx
        g2_b = -inv_b
        g[0] += w * (p1 * g1_r + p2 * g2_r)
        g[1] += w * (p1 * g1_alpha + p2 * g2_alpha)
        g[2] += w * p2 * inv_a
        g[3] += w * p2 * g2_b
        d0 = g1_r - g2_r
        d1 = g1_alpha - g2_alpha
        d2 = -inv_a
        d3 = -g2_b
        q = w * p1 * p2
        h[0, 0] += q * d0 * d0
        h[0, 1] += q * d0 * d1 - w * (p1 * inv_t + p2 * inv_tx)
        h[0, 2] += q * d0 * d2
        h[0, 3] += q * d0 * d3
        h[1, 1] += q * d1 * d1 + w * rx * (p1 * inv_t * inv_t + p2 * inv_tx * inv_tx)
        h[1, 2] += q * d1 * d2
        h[1, 3] += q * d1 * d3
        h[2, 2] += q * d2 * d2 - w * p2 * inv_a * inv_a
        h[2, 3] += q * d2 * d3
        h[3, 3] += q * d3 * d3 + w * p2 * inv_b * inv_b
    # lnG(r + x) - lnG(r) + lnG(b + x) - lnG(b) + lnG(a + b) - lnG(a + b + x) and its derivatives, by recurrence in x
    c = d_r = d_a = d_b = h_r = h_ab = h_b = 0.0
    weight_sum = 0.0
    for k in range(max_x + 1):
        if k > 0:
            j = k - 1.0
            c += math.log(r + j) + math.log(b + j) - math.log(a + b + j)
            d_r += 1.0 / (r + j)
            d_a -= 1.0 / (a + b + j)
            d_b += 1.0 / (b + j)
            h_r -= 1.0 / ((r + j) * (r + j))
            h_ab += 1.0 / ((a + b + j) * (a + b + j))
            h_b -= 1.0 / ((b + j) * (b + j))
        w = weight_of_x[k]
        if w == 0.0:
            continue
        weight_sum += w
        total += w * c
        g[0] += w * d_r
        g[2] += w * d_a
        g[3] += w * (d_b + d_a)
        h[0, 0] += w * h_r
        h[2, 2] += w * h_ab
        h[2, 3] += w * h_ab
        h[3, 3] += w * (h_b + h_ab)
    log_alpha = math.log(alpha)  # r ln(alpha), every row
    total += weight_sum * r * log_alpha
    g[0] += weight_sum * log_alpha
    g[1] += weight_sum * r / alpha
    h[0, 1] += weight_sum / alpha
    h[1, 1] -= weight_sum * r / (alpha * alpha)
    for j in range(4):
        for m in range(j):
            h[j, m] = h[m, j]
    return total, g, h


@numba.njit(cache=True)
def neg_log_likelihood_hessian_log_params(
    theta: np.ndarray, x: np.ndarray, t_x: np.ndarray, big_t: np.ndarray, weight: np.ndarray, scale: float
) -> tuple[float, np.ndarray, np.ndarray]:
    """:func:`neg_log_likelihood_log_params` with the Hessian w.r.t. ``theta = ln(r, alpha, a, b)``.

    ``d2/dtheta_j dtheta_m = p_j p_m d2/dp_j dp_m + [j == m] p_j d/dp_j``.

    Args:
        theta: Log-parameters (4,).
        x: Repeat purchases per row (whole numbers, at most ``TABLE_MAX_X``).
        t_x: Time of the last purchase per row.
        big_t: Calibration-period length per row.
        weight: Weight per row.
        scale: Multiplier of the objective.

    Returns:
        (objective, gradient (4,), Hessian (4, 4)).
    """
    p = np.exp(theta)
    total, grad, hess = log_likelihood_gradient_hessian(p[0], p[1], p[2], p[3], x, t_x, big_t, weight)
    grad_theta = grad * p
    hess_theta = hess * np.outer(p, p)
    for j in range(4):
        hess_theta[j, j] += grad_theta[j]
    return -scale * total, -scale * grad_theta, -scale * hess_theta


@numba.njit(cache=True)
def probability_alive(
    r: float, alpha: float, a: float, b: float, x: np.ndarray, t_x: np.ndarray, big_t: np.ndarray
) -> np.ndarray:
    """P(customer still alive at T | x, t_x, T) (eq. 11 of the paper); 1 for customers without repeat purchases.

    ``1 / (1 + [x > 0] a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x))``

    Args:
        r: Gamma shape of the purchase-rate heterogeneity.
        alpha: Gamma rate of the purchase-rate heterogeneity.
        a: Beta parameter of the dropout probability.
        b: Beta parameter of the dropout probability.
        x: Repeat purchases per customer.
        t_x: Time of the last purchase per customer.
        big_t: Calibration-period length per customer.

    Returns:
        float64 array of probabilities.
    """
    n = x.shape[0]
    out = np.empty(n, dtype=np.float64)
    for i in range(n):
        if x[i] > 0.0:
            log_odds = math.log(a / (b + x[i] - 1.0)) + (r + x[i]) * math.log((alpha + big_t[i]) / (alpha + t_x[i]))
            out[i] = 1.0 / (1.0 + math.exp(log_odds))
        else:
            out[i] = 1.0
    return out


@numba.njit(cache=True)
def conditional_expected_purchases(
    r: float, alpha: float, a: float, b: float, t: float, x: np.ndarray, t_x: np.ndarray, big_t: np.ndarray
) -> np.ndarray:
    """E[purchases in (T, T + t] | x, t_x, T] (eq. 10 of the paper).

    ``(a + b + x - 1) / (a - 1) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x)
    * 2F1(r + x, b + x; a + b + x - 1; t / (alpha + T + t))) / (1 + [x > 0] a / (b + x - 1)
    * ((alpha + T) / (alpha + t_x)) ** (r + x))``. The expression is finite at ``a = 1`` only as a limit: within
    ~1e-6 of it the cancellation loses digits (fits essentially never land there).

    Args:
        r: Gamma shape of the purchase-rate heterogeneity.
        alpha: Gamma rate of the purchase-rate heterogeneity.
        a: Beta parameter of the dropout probability.
        b: Beta parameter of the dropout probability.
        t: Horizon after T, in the time unit of the data (>= 0).
        x: Repeat purchases per customer.
        t_x: Time of the last purchase per customer.
        big_t: Calibration-period length per customer.

    Returns:
        float64 array of expected purchase counts.
    """
    n = x.shape[0]
    out = np.empty(n, dtype=np.float64)
    for i in range(n):
        xi = x[i]
        rx = r + xi
        at = alpha + big_t[i]
        z = t / (at + t)
        f = hyp2f1(rx, b + xi, a + b + xi - 1.0, z)
        g = math.exp(rx * math.log(at / (at + t))) * f
        num = (a + b + xi - 1.0) / (a - 1.0) * (1.0 - g)
        odds = a / (b + xi - 1.0) * math.exp(rx * math.log(at / (alpha + t_x[i]))) if xi > 0.0 else 0.0
        out[i] = num / (1.0 + odds)
    return out


@numba.njit(cache=True)
def expected_purchases(r: float, alpha: float, a: float, b: float, t: np.ndarray) -> np.ndarray:
    """Unconditional E[X(t)] for a new customer over (0, t] (eq. 9 of the paper).

    ``(a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * 2F1(r, b; a + b - 1; t / (alpha + t)))``

    Args:
        r: Gamma shape of the purchase-rate heterogeneity.
        alpha: Gamma rate of the purchase-rate heterogeneity.
        a: Beta parameter of the dropout probability.
        b: Beta parameter of the dropout probability.
        t: Horizons (>= 0).

    Returns:
        float64 array of expected purchase counts.
    """
    out = np.empty(t.shape[0], dtype=np.float64)
    for i in range(t.shape[0]):
        z = t[i] / (alpha + t[i])
        g = (alpha / (alpha + t[i])) ** r * hyp2f1(r, b, a + b - 1.0, z)
        out[i] = (a + b - 1.0) / (a - 1.0) * (1.0 - g)
    return out


def validate_summary(x: np.ndarray, t_x: np.ndarray, big_t: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Check and convert an RFM summary to contiguous float64 arrays.

    Args:
        x: Repeat purchases per customer (whole numbers >= 0).
        t_x: Time of the last purchase (0 <= t_x <= T; 0 when x == 0).
        big_t: Calibration-period length (> 0).

    Returns:
        (x, t_x, T) as float64 arrays.

    Raises:
        ValueError: Shapes differ, values are not finite, or the constraints are violated.
    """
    x, t_x, big_t = (np.ascontiguousarray(v, dtype=np.float64) for v in (x, t_x, big_t))
    if not (x.ndim == t_x.ndim == big_t.ndim == 1 and x.shape == t_x.shape == big_t.shape):
        raise ValueError("x, t_x and T must be 1-d arrays of the same length")
    if not (np.isfinite(x).all() and np.isfinite(t_x).all() and np.isfinite(big_t).all()):
        raise ValueError("x, t_x and T must be finite")
    if (x < 0).any() or (x != np.floor(x)).any():
        raise ValueError("x must be whole numbers >= 0")
    if (big_t <= 0).any() or (t_x < 0).any() or (t_x > big_t).any():
        raise ValueError("need T > 0 and 0 <= t_x <= T")
    return x, t_x, big_t
