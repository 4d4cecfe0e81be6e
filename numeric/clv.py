"""Discounted customer lifetime value from a BG/NBD (purchases) and a Gamma-Gamma (spend) fit.

Formula, per customer with summary (x, t_x, T) and average repeat-transaction value m::

    CLV = E[M | x, m] * sum_{k=1..K} (E[Y(t_k)] - E[Y(t_{k-1})]) / (1 + d) ** (t_k / U)

    t_k = min(k * step, horizon), K = ceil(horizon / step), t_0 = 0

with ``E[Y(t)]`` the BG/NBD conditional expected purchases in (T, T + t] (:mod:`numeric.bgnbd`), ``E[M | x, m]``
the Gamma-Gamma conditional expected average value (:mod:`numeric.gamma_gamma`; the population mean for x == 0),
``d`` the annual discount rate and ``U`` the number of model time units per year. Purchases expected in a step
are discounted at the step's end (the conservative convention of the BTYD literature / ``lifetimes``). Spend and
purchase counts are treated as independent, as both models assume.

Time units: ``x`` is a count; ``t_x``, ``T``, ``horizon``, ``step`` and the BG/NBD ``alpha`` must all be in the
same unit (the unit the model was fitted in: days -> ``U = 365.25``, weeks -> ``U = 365.25 / 7``). Changing
the unit consistently (alpha, times, horizon and step multiplied by the same factor, ``U`` divided by it)
leaves the CLV unchanged.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from numeric import bgnbd, gamma_gamma

DAYS_PER_YEAR = 365.25
WEEKS_PER_YEAR = DAYS_PER_YEAR / 7.0


class ClvResult(NamedTuple):
    """Per-customer results (aligned with the inputs)."""

    expected_purchases: np.ndarray  # E[Y(horizon)], undiscounted
    expected_average_value: np.ndarray  # E[M | x, m]
    clv: np.ndarray  # discounted value over the horizon


def customer_lifetime_value(
    bgnbd_params: tuple[float, float, float, float],
    gamma_gamma_params: tuple[float, float, float],
    x: np.ndarray,
    t_x: np.ndarray,
    big_t: np.ndarray,
    monetary: np.ndarray,
    horizon: float,
    step: float,
    annual_discount_rate: float,
    time_units_per_year: float,
) -> ClvResult:
    """Discounted CLV over ``horizon`` per customer; see the module docstring for the formula and units.

    Args:
        bgnbd_params: (r, alpha, a, b) of a BG/NBD fit, alpha in the model time unit.
        gamma_gamma_params: (p, q, v) of a Gamma-Gamma fit.
        x: Repeat purchases per customer.
        t_x: Time of the last purchase per customer.
        big_t: Calibration-period length per customer.
        monetary: Average repeat-transaction value per customer (ignored where x == 0).
        horizon: Length of the future period, in model time units (> 0).
        step: Discounting step, in model time units (0 < step; the last step may be shorter).
        annual_discount_rate: Yearly discount rate d (>= 0; 0.1 = 10% a year).
        time_units_per_year: Model time units per year U (365.25 for days, 365.25 / 7 for weeks).

    Returns:
        Expected purchases over the horizon, expected average value and the discounted CLV per customer
        (NaN where the expected value does not exist, see
        :func:`numeric.gamma_gamma.conditional_expected_average_value`).

    Raises:
        ValueError: Invalid summaries or parameters.
    """
    if not (horizon > 0 and step > 0 and annual_discount_rate >= 0 and time_units_per_year > 0):
        raise ValueError("need horizon > 0, step > 0, annual_discount_rate >= 0 and time_units_per_year > 0")
    x, t_x, big_t = bgnbd.validate_summary(x, t_x, big_t)
    monetary = np.ascontiguousarray(monetary, dtype=np.float64)
    if monetary.shape != x.shape:
        raise ValueError("monetary must be aligned with x")
    r, alpha, a, b = (float(v) for v in bgnbd_params)
    p, q, v = (float(val) for val in gamma_gamma_params)
    n_steps = math.ceil(horizon / step - 1e-12)
    log_discount = math.log1p(annual_discount_rate) / time_units_per_year
    previous = np.zeros_like(x)
    discounted = np.zeros_like(x)
    for k in range(1, n_steps + 1):
        t_k = min(k * step, horizon)
        current = bgnbd.conditional_expected_purchases(r, alpha, a, b, t_k, x, t_x, big_t)
        discounted += (current - previous) * math.exp(-log_discount * t_k)
        previous = current
    value = gamma_gamma.conditional_expected_average_value(p, q, v, x, np.where(x > 0, monetary, 0.0))
    return ClvResult(previous, value, value * discounted)
