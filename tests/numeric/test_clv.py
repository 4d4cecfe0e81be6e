"""Discounted CLV against a plain scipy evaluation of the documented formula, and its unit invariance."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import hyp2f1

from numeric.clv import DAYS_PER_YEAR, WEEKS_PER_YEAR, customer_lifetime_value

BG = (0.243, 4.414, 0.793, 2.426)  # weeks
GG = (6.25, 3.74, 15.44)


def reference_clv(bg, gg, x, t_x, big_t, m, horizon, step, rate, units):
    r, alpha, a, b = bg
    p, q, v = gg

    def ey(t):
        f = hyp2f1(r + x, b + x, a + b + x - 1, t / (alpha + big_t + t))
        num = (a + b + x - 1) / (a - 1) * (1 - ((alpha + big_t) / (alpha + big_t + t)) ** (r + x) * f)
        return num / (1 + (x > 0) * a / (b + x - 1) * ((alpha + big_t) / (alpha + t_x)) ** (r + x))

    value = np.where(x > 0, p * (v + x * m) / (p * x + q - 1), p * v / (q - 1))
    times = [min(k * step, horizon) for k in range(1, math.ceil(horizon / step) + 1)]
    starts = [0.0, *times[:-1]]
    total = sum((ey(t1) - ey(t0)) / (1 + rate) ** (t1 / units) for t0, t1 in zip(starts, times, strict=True))
    return value * total, ey(horizon), value


def customers(rng, n=200):
    big_t = rng.uniform(1, 60, n)
    x = rng.integers(0, 15, n).astype(float)
    x[rng.random(n) < 0.4] = 0
    t_x = np.where(x > 0, big_t * rng.uniform(0.05, 1, n), 0.0)
    m = np.where(x > 0, rng.lognormal(3, 0.5, n), 0.0)
    return x, t_x, big_t, m


@pytest.mark.parametrize(("horizon", "step", "rate"), [(52.0, 4.0, 0.1), (39.0, 1.0, 0.0), (10.0, 3.0, 0.25)])
def test_clv_matches_reference(horizon, step, rate):
    x, t_x, big_t, m = customers(np.random.default_rng(1))
    res = customer_lifetime_value(BG, GG, x, t_x, big_t, m, horizon, step, rate, WEEKS_PER_YEAR)
    clv, ey, value = reference_clv(BG, GG, x, t_x, big_t, m, horizon, step, rate, WEEKS_PER_YEAR)
    np.testing.assert_allclose(res.clv, clv, rtol=1e-8)
    np.testing.assert_allclose(res.expected_purchases, ey, rtol=1e-8)
    np.testing.assert_allclose(res.expected_average_value, value, rtol=1e-12)


def test_no_discount_is_purchases_times_value_and_discount_lowers_it():
    x, t_x, big_t, m = customers(np.random.default_rng(2))
    flat = customer_lifetime_value(BG, GG, x, t_x, big_t, m, 52.0, 4.0, 0.0, WEEKS_PER_YEAR)
    np.testing.assert_allclose(flat.clv, flat.expected_purchases * flat.expected_average_value, rtol=1e-12)
    disc = customer_lifetime_value(BG, GG, x, t_x, big_t, m, 52.0, 4.0, 0.2, WEEKS_PER_YEAR)
    assert (disc.clv < flat.clv).all() and (disc.clv > flat.clv / 1.2).all()


def test_time_unit_invariance():
    """Weeks -> days: alpha, times, horizon, step times 7 and units per year / 7 give the same CLV."""
    x, t_x, big_t, m = customers(np.random.default_rng(3))
    weeks = customer_lifetime_value(BG, GG, x, t_x, big_t, m, 52.0, 4.0, 0.1, WEEKS_PER_YEAR)
    bg_days = (BG[0], BG[1] * 7, BG[2], BG[3])
    days = customer_lifetime_value(bg_days, GG, x, 7 * t_x, 7 * big_t, m, 364.0, 28.0, 0.1, DAYS_PER_YEAR)
    np.testing.assert_allclose(days.clv, weeks.clv, rtol=1e-9)


def test_invalid_arguments():
    x, t_x, big_t, m = customers(np.random.default_rng(4), n=3)
    with pytest.raises(ValueError):
        customer_lifetime_value(BG, GG, x, t_x, big_t, m, 0.0, 1.0, 0.1, WEEKS_PER_YEAR)
    with pytest.raises(ValueError):
        customer_lifetime_value(BG, GG, x, t_x, big_t, m[:2], 5.0, 1.0, 0.1, WEEKS_PER_YEAR)
