"""Seeded simulators of the generative processes (test helpers)."""

from __future__ import annotations

import numpy as np


def simulate_bgnbd(rng, n, r, alpha, a, b, t_low, t_high):
    """BG/NBD: lambda ~ Gamma(r, rate alpha), p ~ Beta(a, b); Poisson purchases at rate lambda; after each repeat
    purchase the customer drops out with probability p. Returns (x, t_x, T) with T ~ Uniform(t_low, t_high)."""
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


def simulate_gamma_gamma(rng, n, p, q, v, x_max=20):
    """Gamma-Gamma: nu ~ Gamma(q, rate v); x transactions each Gamma(p, rate nu); returns (x, mean value)."""
    nu = rng.gamma(q, 1.0 / v, n)
    x = rng.integers(1, x_max + 1, n).astype(float)
    m = rng.gamma(p * x, 1.0 / (nu * x))  # the mean of x Gamma(p, nu) is Gamma(p x, rate nu x)
    return x, m
