"""Seeded simulators of the BG/NBD and Gamma-Gamma generative processes (for tests and benchmarks)."""

from __future__ import annotations

import numpy as np


def simulate_bgnbd(
    rng: np.random.Generator,
    n: int,
    r: float,
    alpha: float,
    a: float,
    b: float,
    t_low: float,
    t_high: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Simulate BG/NBD customers' summaries.

    Each customer has a purchase rate lambda ~ Gamma(r, rate alpha) and a dropout probability p ~ Beta(a, b);
    after the first purchase at time 0 repeat purchases arrive as a Poisson process at rate lambda, and after
    each repeat purchase the customer drops out with probability p. Observation lengths T ~ Uniform(t_low, t_high).

    Args:
        rng: Random generator (the only source of randomness).
        n: Number of customers.
        r: Gamma shape of the purchase rates.
        alpha: Gamma rate of the purchase rates (in the time unit of ``t_low`` / ``t_high``).
        a: Beta parameter of the dropout probability.
        b: Beta parameter of the dropout probability.
        t_low: Shortest observation length.
        t_high: Longest observation length.

    Returns:
        ``(x, t_x, T)``: repeat purchases, time of the last one (0 without any) and observation length, float64.
    """
    lam = rng.gamma(r, 1.0 / alpha, n)
    p = rng.beta(a, b, n)
    big_t = rng.uniform(t_low, t_high, n)
    death_after = rng.geometric(p)  # dies right after this many repeat purchases (>= 1)
    x = np.zeros(n)
    t_x = np.zeros(n)
    now = np.zeros(n)
    active = np.ones(n, dtype=bool)
    while active.any():
        idx = np.flatnonzero(active)
        now[idx] += rng.exponential(1.0 / lam[idx])
        happened = now[idx] <= big_t[idx]
        hit = idx[happened]
        x[hit] += 1
        t_x[hit] = now[hit]
        active[idx[~happened]] = False
        active[hit[x[hit] >= death_after[hit]]] = False
    return x, t_x, big_t


def simulate_gamma_gamma(
    rng: np.random.Generator, n: int, p: float, q: float, v: float, x_max: int = 20
) -> tuple[np.ndarray, np.ndarray]:
    """Simulate Gamma-Gamma repeat customers' spend.

    Each customer has nu ~ Gamma(q, rate v) and x ~ Uniform{1..x_max} transactions, each worth Gamma(p, rate nu).

    Args:
        rng: Random generator.
        n: Number of customers.
        p: Gamma shape of a transaction value.
        q: Gamma shape of the customers' rate nu.
        v: Gamma rate of nu.
        x_max: Most transactions per customer.

    Returns:
        ``(x, m)``: transactions and their average value per customer, float64.
    """
    nu = rng.gamma(q, 1.0 / v, n)
    x = rng.integers(1, x_max + 1, n).astype(float)
    m = rng.gamma(p * x, 1.0 / (nu * x))  # the mean of x Gamma(p, nu) is Gamma(p x, rate nu x)
    return x, m
