"""Kepler geometry: anomalies, Kepler's equation (against scipy), state <-> elements round trip."""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq

from numeric.kepler import (
    GM_SUN,
    eccentric_from_true,
    elements_from_state,
    position_at_eccentric_anomaly,
    position_at_true_anomaly,
    solve_kepler,
    state_from_elements,
    true_from_eccentric,
)


def test_kepler_equation_matches_a_scipy_root():
    rng = np.random.default_rng(3)
    mean = rng.uniform(-np.pi, np.pi, 50)
    e = np.concatenate([rng.uniform(0.0, 0.9, 40), [0.0, 0.5, 0.99, 0.999, 0.9999, 0.3, 0.6, 0.95, 0.97, 0.98]])
    got = solve_kepler(mean, e)
    for m, ecc, x in zip(mean, e, got, strict=True):
        expected = brentq(
            lambda big_e, m=m, ecc=ecc: big_e - ecc * np.sin(big_e) - m, -np.pi - 1, np.pi + 1, xtol=1e-15
        )
        assert abs(x - expected) < 1e-12


def test_true_and_eccentric_anomalies_are_inverse_and_give_the_same_point():
    nu = np.linspace(-3.1, 3.1, 41)
    for e in (0.0, 1e-9, 0.3, 0.9, 0.995):
        ecc = np.array([eccentric_from_true(x, e) for x in nu])
        back = np.array([true_from_eccentric(x, e) for x in ecc])
        np.testing.assert_allclose(back, nu, atol=1e-12)
        by_true = position_at_true_anomaly(1.7, e, 0.4, 1.1, 2.2, nu)
        by_eccentric = position_at_eccentric_anomaly(1.7, e, 0.4, 1.1, 2.2, ecc)
        np.testing.assert_allclose(by_true, by_eccentric, atol=1e-12)


def test_state_and_elements_round_trip():
    rng = np.random.default_rng(4)
    n = 200
    elements = {
        "a": rng.uniform(0.5, 30.0, n),
        "e": rng.uniform(0.001, 0.99, n),
        "inc": rng.uniform(0.01, np.pi - 0.01, n),  # retrograde included
        "node": rng.uniform(0.0, 2 * np.pi, n),
        "peri": rng.uniform(0.0, 2 * np.pi, n),
        "mean_anomaly": rng.uniform(0.0, 2 * np.pi, n),
    }
    r, v = state_from_elements(**elements)
    back = elements_from_state(r, v)
    np.testing.assert_allclose(back["a"], elements["a"], rtol=1e-10)
    np.testing.assert_allclose(back["e"], elements["e"], atol=1e-10)
    np.testing.assert_allclose(back["inc"], elements["inc"], atol=1e-10)
    for name in ("node", "peri", "mean_anomaly"):
        gap = np.angle(np.exp(1j * (back[name] - elements[name])))
        assert np.all(np.abs(gap) < 1e-8), name


def test_state_obeys_the_vis_viva_equation_and_kepler_third_law():
    r, v = state_from_elements(1.0, 0.0167, 0.0, 0.0, 1.8, 0.3)
    speed2 = float(np.sum(v * v))
    assert abs(speed2 - GM_SUN * (2.0 / np.linalg.norm(r) - 1.0)) < 1e-16
    # one year: the mean motion of a 1 au orbit is k rad/day (the Gaussian year, 365.2569 days)
    later, _ = state_from_elements(1.0, 0.0167, 0.0, 0.0, 1.8, 0.3 + 2 * np.pi)
    np.testing.assert_allclose(later, r, atol=1e-12)


def test_circular_and_equatorial_states_reproduce_the_position():
    r, v = state_from_elements(np.array([1.2, 2.0]), np.array([0.0, 0.4]), 0.0, 0.7, 0.9, np.array([1.0, 2.0]))
    back = elements_from_state(r, v)
    again, _ = state_from_elements(**back)
    np.testing.assert_allclose(again, r, atol=1e-12)
