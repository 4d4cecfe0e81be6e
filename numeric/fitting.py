"""Maximum-likelihood fits of BG/NBD and Gamma-Gamma (scipy L-BFGS-B on log-parameters, analytic gradients).

Identical rows are collapsed into one row with a weight (their count) before fitting, so the cost grows with
the number of distinct summaries, not customers (rows are grouped by sorting a 64-bit hash of their values, in
an order that does not depend on the input order). The objective is the negative log-likelihood divided by the
number of customers (gradients of order one). Several starting points are tried; the best finite optimum wins.
On more than ``SCREEN_ROWS`` distinct rows the starts are compared on a fixed subsample first and only the best
is refined on all rows: for BG/NBD by trust-region Newton steps on the analytic Hessian (two or three passes
over the data instead of dozens), falling back to L-BFGS-B when Newton does not converge inside the bounds.
The optimisers run with BLAS limited to one thread: scipy's L-BFGS-B otherwise wakes OpenBLAS's thread pool on
every iteration, pure overhead for 3-4 parameters that makes each iteration many times slower on a busy machine.
The data cannot identify a model when there are too few customers (or, for BG/NBD, no repeat buyers), when all
customers are identical, when the likelihood is not finite, or when the optimum lies on a bound of the
log-parameter box, or when the likelihood is flat (the observed information in log-parameters, from central
differences of the analytic gradient, is not positive definite or gives a standard error above ``MAX_LOG_SE``:
a parameter running off towards 0 or infinity, e.g. no observable dropout, or no spread of spend across
customers): :class:`ModelNotIdentifiedError` then says which. The fits carry those standard errors.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numba
import numpy as np
from scipy import optimize
from threadpoolctl import threadpool_limits

from numeric import bgnbd, gamma_gamma

# parameters live in [LOWER, UPPER] times a scale (1 for shapes; the data's time / money scale for alpha / v)
LOWER = 1e-5
UPPER = 1e5
# an optimum within this distance (in log-parameter space) of a bound counts as a boundary solution
BOUNDARY_TOLERANCE = 1e-3
MIN_CUSTOMERS = 10
# converged: L-BFGS-B reports success, or the gradient of the (per-customer) objective is this small
GRADIENT_TOLERANCE = 1e-5
# a standard error of a log-parameter above this (a factor e**3 ~ 20 at one sigma) means the likelihood is flat
# along a ridge running off to a bound (e.g. no dropout: a -> 0): the model is not identified
MAX_LOG_SE = 3.0
# with more distinct rows than this, the starting points are compared on a fixed random subsample of this many
# rows and only the best is run on all rows (the likelihood surface of a large subsample has the same basin)
SCREEN_ROWS = 50_000
# the screening only chooses the basin the refinement starts in: it stops earlier than a final fit
_SCREEN_OPTIONS = {"maxiter": 2000, "ftol": 1e-10, "gtol": 1e-6}
_FINAL_OPTIONS = {"maxiter": 2000, "ftol": 1e-15, "gtol": 1e-10}
# a Newton refinement has converged when the gradient of the per-customer objective is this small
NEWTON_GRADIENT_TOLERANCE = 1e-8
_HESSIAN_STEP = 1e-4

Objective = Callable[[np.ndarray], tuple[float, np.ndarray]]
HessianObjective = Callable[[np.ndarray], tuple[float, np.ndarray, np.ndarray]]


class ModelNotIdentifiedError(ValueError):
    """The data cannot identify the model's parameters (the message says why)."""


@dataclass(frozen=True)
class BgNbdFit:
    """Fitted BG/NBD parameters (time unit of the data) and how the fit went."""

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    n_customers: int
    n_repeat_customers: int
    converged: bool
    iterations: int
    message: str
    log_param_se: tuple[float, float, float, float]  # standard errors of ln(r, alpha, a, b) ~ relative errors

    @property
    def params(self) -> tuple[float, float, float, float]:
        """(r, alpha, a, b)."""
        return (self.r, self.alpha, self.a, self.b)


@dataclass(frozen=True)
class GammaGammaFit:
    """Fitted Gamma-Gamma parameters (money unit of the data) and how the fit went."""

    p: float
    q: float
    v: float
    log_likelihood: float
    n_customers: int
    converged: bool
    iterations: int
    message: str
    log_param_se: tuple[float, float, float]  # standard errors of ln(p, q, v) ~ relative errors

    @property
    def params(self) -> tuple[float, float, float]:
        """(p, q, v)."""
        return (self.p, self.q, self.v)


@dataclass(frozen=True)
class _Optimum:
    theta: np.ndarray
    objective: float
    converged: bool
    iterations: int
    message: str
    log_param_se: tuple[float, ...]


_HASH_SEED = np.uint64(0x9E3779B97F4A7C15)
_HASH_MUL_1 = np.uint64(0xBF58476D1CE4E5B9)
_HASH_MUL_2 = np.uint64(0x94D049BB133111EB)


@numba.njit(cache=True)
def _row_hashes(bits: np.ndarray) -> np.ndarray:
    """A 64-bit hash (splitmix64 finaliser, chained over the columns) of each column of ``bits`` (k, n)."""
    n = bits.shape[1]
    out = np.empty(n, dtype=np.uint64)
    for i in range(n):
        h = _HASH_SEED
        for j in range(bits.shape[0]):
            h ^= bits[j, i]
            h ^= h >> np.uint64(30)
            h *= _HASH_MUL_1
            h ^= h >> np.uint64(27)
            h *= _HASH_MUL_2
            h ^= h >> np.uint64(31)
        out[i] = h
    return out


@numba.njit(cache=True)
def _row_less(bits: np.ndarray, i: int, m: int) -> bool:
    """Row ``i`` before row ``m`` in the lexicographic order of their bit patterns."""
    for j in range(bits.shape[0]):
        if bits[j, i] != bits[j, m]:
            return bits[j, i] < bits[j, m]
    return False


@numba.njit(cache=True)
def _group_rows(bits: np.ndarray, hashes: np.ndarray, order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Group the rows (columns of ``bits``) visited in ``order`` (sorted by hash) into runs of identical rows.

    Rows of one hash are identical unless the hash collides: such a run is sorted by bit pattern first, so the
    groups come out in an order that depends only on the values.

    Returns:
        (index of one row of each group, size of each group as float64), in group order.
    """
    n = order.shape[0]
    first = np.empty(n, dtype=np.int64)
    count = np.empty(n, dtype=np.float64)
    n_groups = 0
    start = 0
    while start < n:
        end = start + 1
        identical = True
        while end < n and hashes[order[end]] == hashes[order[start]]:
            identical = identical and not (
                _row_less(bits, order[start], order[end]) or _row_less(bits, order[end], order[start])
            )
            end += 1
        if identical:
            first[n_groups] = order[start]
            count[n_groups] = end - start
            n_groups += 1
            start = end
            continue
        run = order[start:end].copy()
        for i in range(1, run.shape[0]):  # insertion sort by value (a hash collision: practically never)
            row = run[i]
            m = i - 1
            while m >= 0 and _row_less(bits, row, run[m]):
                run[m + 1] = run[m]
                m -= 1
            run[m + 1] = row
        i = 0
        while i < run.shape[0]:
            m = i + 1
            while m < run.shape[0] and not _row_less(bits, run[i], run[m]):
                m += 1
            first[n_groups] = run[i]
            count[n_groups] = m - i
            n_groups += 1
            i = m
        start = end
    return first[:n_groups], count[:n_groups]


def _collapse(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Distinct rows of the columns and their counts as float64 weights.

    The rows come out ordered by a hash of their values (ties by value), whatever the input order, so the fit
    does not depend on how the customers were ordered.
    """
    # + 0.0 turns -0.0 into 0.0: equal values, equal bits
    values = np.stack([np.asarray(c, dtype=np.float64) + 0.0 for c in columns])
    bits = values.view(np.uint64)
    hashes = _row_hashes(bits)
    first, counts = _group_rows(bits, hashes, np.argsort(hashes))
    return [np.ascontiguousarray(row[first]) for row in values], counts


def _screening_rows(n_rows: int) -> np.ndarray | None:
    """A fixed (seeded) subsample of row indices to choose among starting points on, or None for all rows."""
    if n_rows <= SCREEN_ROWS:
        return None
    return np.sort(np.random.default_rng(0).choice(n_rows, SCREEN_ROWS, replace=False))


def _finite_difference_hessian(objective: Objective, theta: np.ndarray) -> np.ndarray:
    """Hessian of the objective by central differences of its analytic gradient (symmetrised)."""
    k = theta.shape[0]
    hessian = np.empty((k, k))
    for j in range(k):
        step = np.zeros(k)
        step[j] = _HESSIAN_STEP
        hessian[:, j] = (objective(theta + step)[1] - objective(theta - step)[1]) / (2 * _HESSIAN_STEP)
    return 0.5 * (hessian + hessian.T)


def _log_param_se(
    hessian: np.ndarray, theta: np.ndarray, n: int, model: str, names: tuple[str, ...]
) -> tuple[float, ...]:
    """Standard errors of the log-parameters from the objective's Hessian (objective = -ll / n)."""
    information = hessian * n
    if not np.isfinite(information).all() or np.linalg.eigvalsh(information).min() <= 0:
        raise ModelNotIdentifiedError(
            f"{model}: the likelihood is flat at its maximum (information not positive definite)"
        )
    se = np.sqrt(np.diag(np.linalg.inv(information)))
    if (se > MAX_LOG_SE).any():
        worst = int(np.argmax(se))
        raise ModelNotIdentifiedError(
            f"{model}: {names[worst]} = {math.exp(theta[worst]):.4g} is not identified (standard error of its log "
            f"{se[worst]:.3g} > {MAX_LOG_SE}); the likelihood is flat towards a bound"
        )
    return tuple(float(v) for v in se)


def _minimise(
    objective: Objective,
    starts: list[np.ndarray],
    bounds: list[tuple[float, float]],
    n: int,
    model: str,
    names: tuple[str, ...],
    screen_objective: Objective | None = None,
    hessian_objective: HessianObjective | None = None,
) -> _Optimum:
    """Run L-BFGS-B from each start; the best finite optimum, with standard errors.

    With ``screen_objective`` the starts run on it and only the best result is refined on ``objective``: by
    Newton steps when ``hessian_objective`` (the objective with its Hessian) is given, else (or when Newton does
    not converge) by L-BFGS-B. Standard errors use the analytic Hessian when given, else finite differences.
    Raises ModelNotIdentifiedError when no start gives a finite optimum, the best is on a bound, or it is flat.
    """
    with threadpool_limits(limits=1, user_api="blas"):
        return _minimise_single_threaded(
            objective, starts, bounds, n, model, names, screen_objective, hessian_objective
        )


def _minimise_single_threaded(
    objective: Objective,
    starts: list[np.ndarray],
    bounds: list[tuple[float, float]],
    n: int,
    model: str,
    names: tuple[str, ...],
    screen_objective: Objective | None,
    hessian_objective: HessianObjective | None,
) -> _Optimum:
    """:func:`_minimise`, called with BLAS limited to one thread."""
    best: _Optimum | None = None
    if screen_objective is not None:
        screened = _best_of(screen_objective, starts, bounds, _SCREEN_OPTIONS)
        if screened is not None:
            starts = [screened.theta]
            if hessian_objective is not None:
                best = _newton(hessian_objective, screened.theta, bounds)
    if best is None:
        best = _best_of(objective, starts, bounds, _FINAL_OPTIONS)
    if best is None:
        raise ModelNotIdentifiedError(f"{model}: the likelihood is not finite at any starting point")
    on_bound = [
        i for i, (t, (lo, hi)) in enumerate(zip(best.theta, bounds, strict=True))
        if t <= lo + BOUNDARY_TOLERANCE or t >= hi - BOUNDARY_TOLERANCE
    ]  # fmt: skip
    if on_bound:
        raise ModelNotIdentifiedError(
            f"{model}: the maximum-likelihood solution is on the boundary (parameter index {on_bound} at "
            f"{np.exp(best.theta[on_bound])}); the data do not identify the model"
        )
    if hessian_objective is not None:
        hessian = hessian_objective(best.theta)[2]
    else:
        hessian = _finite_difference_hessian(objective, best.theta)
    return replace(best, log_param_se=_log_param_se(hessian, best.theta, n, model, names))


def _newton(objective: HessianObjective, start: np.ndarray, bounds: list[tuple[float, float]]) -> _Optimum | None:
    """Trust-region Newton (scipy ``trust-exact``) from ``start`` on the exact Hessian.

    Returns:
        The optimum, or None when it is not finite, leaves the bounds or its gradient is not below
        ``NEWTON_GRADIENT_TOLERANCE`` (the caller then falls back to L-BFGS-B).
    """
    last: list = [None, None]  # the theta evaluated last and its (objective, gradient, Hessian)

    def evaluate(theta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        if last[0] is None or not np.array_equal(last[0], theta):
            last[0], last[1] = theta.copy(), objective(theta)
        return last[1]

    with np.errstate(all="ignore"):
        res = optimize.minimize(
            lambda theta: evaluate(theta)[:2],
            start,
            jac=True,
            hess=lambda theta: evaluate(theta)[2],
            method="trust-exact",
            options={"gtol": 1e-12, "maxiter": 100},
        )
    value, grad, _ = evaluate(res.x)
    inside = all(lo < t < hi for t, (lo, hi) in zip(res.x, bounds, strict=True))
    if not (np.isfinite(value) and np.isfinite(res.x).all() and inside):
        return None
    if not np.max(np.abs(grad)) < NEWTON_GRADIENT_TOLERANCE:
        return None
    return _Optimum(np.array(res.x), float(value), True, int(res.nit), f"trust-exact: {res.message}", ())


def _best_of(
    objective: Objective, starts: list[np.ndarray], bounds: list[tuple[float, float]], options: dict[str, float]
) -> _Optimum | None:
    """Run L-BFGS-B from each start; the finite optimum with the lowest objective (None when there is none)."""
    best: _Optimum | None = None
    for start in starts:
        with np.errstate(all="ignore"):
            res = optimize.minimize(objective, start, jac=True, method="L-BFGS-B", bounds=bounds, options=options)
        if not np.isfinite(res.fun) or not np.isfinite(res.x).all():
            continue
        grad = np.asarray(res.jac)
        interior = np.array(
            [lo + BOUNDARY_TOLERANCE < t < hi - BOUNDARY_TOLERANCE for t, (lo, hi) in zip(res.x, bounds, strict=True)]
        )
        converged = bool(res.success) or bool(np.all(np.abs(grad[interior]) < GRADIENT_TOLERANCE))
        candidate = _Optimum(np.array(res.x), float(res.fun), converged, int(res.nit), str(res.message), ())
        if best is None or candidate.objective < best.objective:
            best = candidate
    return best


def fit_bgnbd(x: np.ndarray, t_x: np.ndarray, big_t: np.ndarray, min_customers: int = MIN_CUSTOMERS) -> BgNbdFit:
    """Fit BG/NBD by maximum likelihood.

    Args:
        x: Repeat purchases per customer (whole numbers >= 0).
        t_x: Time of the last purchase per customer (0 <= t_x <= T).
        big_t: Calibration-period length per customer (> 0), same time unit as ``t_x``.
        min_customers: Fewer customers than this cannot identify the model.

    Returns:
        The fit; ``alpha`` is in the time unit of the data.

    Raises:
        ValueError: Invalid summaries (see :func:`numeric.bgnbd.validate_summary`).
        ModelNotIdentifiedError: Too few customers, no repeat buyers, all customers identical, non-finite
            likelihood, or a boundary solution.
    """
    x, t_x, big_t = bgnbd.validate_summary(x, t_x, big_t)
    n = x.shape[0]
    n_repeat = int((x > 0).sum())
    if n < max(min_customers, 2):
        raise ModelNotIdentifiedError(f"BG/NBD: {n} customers, need at least {max(min_customers, 2)}")
    if n_repeat == 0:
        raise ModelNotIdentifiedError("BG/NBD: no customer has a repeat purchase")
    (ux, utx, ut), weight = _collapse(x, t_x, big_t)
    if ux.shape[0] == 1:
        raise ModelNotIdentifiedError("BG/NBD: all customers have the same (x, t_x, T)")
    time_scale = float(np.mean(big_t))
    rate = max(float(x.sum() / big_t.sum()), 1e-9)  # purchases per unit time (= r / alpha on average)
    scale = 1.0 / n

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        return bgnbd.neg_log_likelihood_log_params(theta, ux, utx, ut, weight, scale)

    def hessian_objective(theta: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
        return bgnbd.neg_log_likelihood_hessian_log_params(theta, ux, utx, ut, weight, scale)

    sub = _screening_rows(ux.shape[0])
    screen = None
    if sub is not None:
        sx, stx, st, sw = ux[sub], utx[sub], ut[sub], weight[sub]

        def screen(theta: np.ndarray) -> tuple[float, np.ndarray]:
            return bgnbd.neg_log_likelihood_log_params(theta, sx, stx, st, sw, 1.0 / sw.sum())

    starts = [
        np.log([r0, r0 / rate, a0, b0])
        for r0, (a0, b0) in [(1.0, (1.0, 3.0)), (0.3, (0.5, 1.5)), (3.0, (2.0, 8.0)), (0.5, (1.5, 1.5))]
    ]
    starts = [np.clip(s, math.log(LOWER) + 0.5, math.log(UPPER) - 0.5) for s in starts]
    shape_bounds = (math.log(LOWER), math.log(UPPER))
    alpha_bounds = (math.log(LOWER * time_scale), math.log(UPPER * time_scale))
    bounds = [shape_bounds, alpha_bounds, shape_bounds, shape_bounds]
    tabulated = float(ux.max()) <= bgnbd.TABLE_MAX_X  # the Hessian kernel tabulates x (always, in practice)
    best = _minimise(
        objective, starts, bounds, n, "BG/NBD", ("r", "alpha", "a", "b"), screen,
        hessian_objective if tabulated else None,
    )  # fmt: skip
    r, alpha, a, b = (float(v) for v in np.exp(best.theta))
    return BgNbdFit(
        r, alpha, a, b, -best.objective / scale, n, n_repeat, best.converged, best.iterations, best.message,
        best.log_param_se,
    )  # fmt: skip


def fit_gamma_gamma(x: np.ndarray, m: np.ndarray, min_customers: int = MIN_CUSTOMERS) -> GammaGammaFit:
    """Fit the Gamma-Gamma spend model by maximum likelihood on repeat customers.

    Args:
        x: Number of transactions the average is over, per repeat customer (whole numbers > 0).
        m: Average transaction value per repeat customer (> 0).
        min_customers: Fewer customers than this cannot identify the model.

    Returns:
        The fit; ``v`` is in the money unit of ``m``.

    Raises:
        ValueError: Invalid inputs (see :func:`numeric.gamma_gamma.validate_spend`), e.g. a customer with x == 0.
        ModelNotIdentifiedError: Too few customers, all customers identical or all averages equal, non-finite
            likelihood, or a boundary solution.
    """
    x, m = gamma_gamma.validate_spend(x, m)
    n = x.shape[0]
    if n < max(min_customers, 2):
        raise ModelNotIdentifiedError(f"Gamma-Gamma: {n} repeat customers, need at least {max(min_customers, 2)}")
    if np.all(m == m[0]):
        raise ModelNotIdentifiedError("Gamma-Gamma: all customers have the same average value")
    (ux, um), weight = _collapse(x, m)
    money_scale = float(np.mean(m))
    scale = 1.0 / n

    def objective(theta: np.ndarray) -> tuple[float, np.ndarray]:
        return gamma_gamma.neg_log_likelihood_log_params(theta, ux, um, weight, scale)

    sub = _screening_rows(ux.shape[0])
    screen = None
    if sub is not None:
        sx, sm, sw = ux[sub], um[sub], weight[sub]

        def screen(theta: np.ndarray) -> tuple[float, np.ndarray]:
            return gamma_gamma.neg_log_likelihood_log_params(theta, sx, sm, sw, 1.0 / sw.sum())

    # population mean p v / (q - 1) matched to the sample mean at every start
    starts = [np.log([p0, q0, money_scale * (q0 - 1) / p0]) for p0, q0 in [(1.0, 2.0), (5.0, 4.0), (0.5, 10.0)]]
    shape_bounds = (math.log(LOWER), math.log(UPPER))
    v_bounds = (math.log(LOWER * money_scale), math.log(UPPER * money_scale))
    bounds = [shape_bounds, shape_bounds, v_bounds]
    best = _minimise(objective, starts, bounds, n, "Gamma-Gamma", ("p", "q", "v"), screen)
    p, q, v = (float(val) for val in np.exp(best.theta))
    return GammaGammaFit(
        p, q, v, -best.objective / scale, n, best.converged, best.iterations, best.message,
        best.log_param_se,
    )  # fmt: skip
