"""The MOID kernel against its numpy twin, an independent brute-force + scipy search, and geometric identities."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import minimize

from numeric.kepler import elements_from_state, position_at_true_anomaly, state_from_elements
from numeric.moid import DEFAULT_CANDIDATES, DEFAULT_GRID, moid, moid_kernel
from numeric.moid_reference import moid_reference

EARTH = (1.0, 0.0167, 0.003, 175.0, 287.0)  # a, e, i, node, peri (degrees): an Earth-like orbit


def random_orbits(n: int, seed: int) -> np.ndarray:
    """Rows (a, e, i, node, peri) in degrees: near-Earth, high-inclination, retrograde and near-parabolic orbits."""
    rng = np.random.default_rng(seed)
    q = rng.uniform(0.3, 1.4, n)
    kind = rng.random(n)
    e = np.select([kind < 0.05, kind < 0.1, kind < 0.2], [0.0, 1e-9, 0.995], rng.uniform(0.0, 0.95, n))
    inc = np.where(rng.random(n) < 0.7, rng.uniform(0.0, 30.0, n), rng.uniform(30.0, 180.0, n))
    return np.column_stack([q / (1.0 - e), e, inc, rng.uniform(0, 360, n), rng.uniform(0, 360, n)])


def near_tangent_coplanar(n: int, seed: int) -> np.ndarray:
    """Orbits nearly in Earth's plane whose perihelion or aphelion grazes 1 au: narrow, near-grazing minima."""
    rng = np.random.default_rng(seed)
    e = rng.uniform(0.05, 0.7, n)
    grazing = 1.0 + rng.uniform(-0.02, 0.02, n)
    a = np.where(rng.random(n) < 0.5, grazing / (1.0 - e), grazing / (1.0 + e))
    return np.column_stack([a, e, rng.uniform(0.0, 0.5, n), rng.uniform(0, 360, n), rng.uniform(0, 360, n)])


def brute_force_moid(first: np.ndarray, second: np.ndarray, samples: int = 1440) -> float:
    """Independent MOID: distance on a dense true-anomaly grid, then scipy's Nelder-Mead from the best cell."""
    rad = np.pi / 180.0

    def points(orbit: np.ndarray, nu: np.ndarray) -> np.ndarray:
        a, e, inc, node, peri = orbit
        return position_at_true_anomaly(a, e, inc * rad, node * rad, peri * rad, nu)

    nu = np.linspace(0.0, 2.0 * np.pi, samples, endpoint=False)
    p1, p2 = points(first, nu), points(second, nu)
    dist = np.zeros((samples, samples))
    for k in range(3):
        dist += (p1[:, None, k] - p2[None, :, k]) ** 2
    order = np.argsort(dist, axis=None)[:5]  # the best few cells, in case two basins nearly tie

    def distance(x: np.ndarray) -> float:
        return float(np.linalg.norm(points(first, np.array([x[0]])) - points(second, np.array([x[1]]))))

    best = np.inf
    for cell in order:
        i, j = divmod(int(cell), samples)
        found = minimize(distance, [nu[i], nu[j]], method="Nelder-Mead", options={"xatol": 1e-12, "fatol": 1e-14})
        best = min(best, found.fun, np.sqrt(dist[i, j]))
    return best


def as_radians(rows: np.ndarray) -> list[np.ndarray]:
    return [rows[:, 0], rows[:, 1], *np.radians(rows[:, 2:]).T]


def test_kernel_equals_its_numpy_twin():
    asteroids = np.vstack([random_orbits(300, seed=1), near_tangent_coplanar(60, seed=2)])
    partners = np.vstack([np.tile(EARTH, (200, 1)), random_orbits(160, seed=3)])
    args = (*as_radians(asteroids), *as_radians(partners), DEFAULT_GRID, DEFAULT_CANDIDATES)
    kernel = moid_kernel(*args)
    reference = moid_reference(*args, chunk=64)
    np.testing.assert_allclose(kernel[0], reference[0], rtol=1e-12, atol=1e-13)
    for got, expected in zip(kernel[1:], reference[1:], strict=True):
        gap = np.abs(np.angle(np.exp(1j * (got - expected))))
        assert np.all(gap < 1e-6)


@pytest.mark.parametrize(
    ("name", "rows"),
    [
        ("general", random_orbits(16, seed=11)),
        ("near-grazing coplanar", near_tangent_coplanar(10, seed=12)),
        (
            "edge cases",
            np.array(
                [
                    [1.3, 0.0, 12.0, 30.0, 0.0],  # circular
                    [1.2, 1e-10, 0.0, 0.0, 50.0],  # near-circular and in the ecliptic
                    [2.0, 0.5, 90.0, 80.0, 10.0],  # polar
                    [1.5, 0.4, 150.0, 200.0, 300.0],  # retrograde
                    [1.8, 0.45, 179.0, 10.0, 100.0],  # retrograde, nearly in the ecliptic
                    [200.0, 0.995, 40.0, 120.0, 33.0],  # near-parabolic, q = 1 au
                    [0.9 / 0.001, 0.999, 135.0, 300.0, 200.0],  # near-parabolic, retrograde
                ]
            ),
        ),
    ],
)
def test_kernel_matches_an_independent_brute_force_search(name, rows):
    partner = np.vstack([EARTH, random_orbits(len(rows) - 1, seed=99)])
    got = moid(*rows.T, *partner.T).moid_au
    expected = np.array([brute_force_moid(r, p) for r, p in zip(rows, partner, strict=True)])
    # the kernel's refined minimum can only be at or below the brute-force one, and should equal it
    np.testing.assert_allclose(got, expected, rtol=0, atol=2e-9, err_msg=name)


def test_coplanar_circular_orbits_are_the_difference_of_their_radii():
    a1 = np.array([1.0, 1.0, 0.39, 5.2, 1.0])
    a2 = np.array([1.5, 0.72, 1.0, 9.5, 1.0 + 1e-7])
    result = moid(a1, 0.0, 0.0, 0.0, 0.0, a2, 0.0, 0.0, 77.0, 123.0)
    np.testing.assert_allclose(result.moid_au, np.abs(a1 - a2), rtol=1e-12, atol=1e-15)


def test_orbit_against_itself_is_zero():
    rows = random_orbits(20, seed=5)
    result = moid(*rows.T, *rows.T)
    assert np.all(result.moid_au < 1e-9)


def test_orbits_through_a_common_point_intersect():
    """Build a second orbit through a point of the first (any direction of motion): the MOID is ~0."""
    rng = np.random.default_rng(8)
    rows = random_orbits(20, seed=6)
    rad = np.pi / 180.0
    r, _ = state_from_elements(rows[:, 0], rows[:, 1], *(rows[:, 2:].T * rad), rng.uniform(0, 2 * np.pi, 20))
    speed = np.sqrt(1.0 / np.linalg.norm(r, axis=1)) * 0.0172  # a bound orbit through r, in a random direction
    direction = rng.normal(size=(20, 3))
    direction /= np.linalg.norm(direction, axis=1)[:, None]
    other = elements_from_state(r, speed[:, None] * direction)
    result = moid(*rows.T, other["a"], other["e"], *(np.degrees(other[k]) for k in ("inc", "node", "peri")))
    assert np.all(result.moid_au < 1e-9), result.moid_au


def test_inclined_circular_orbits_crossing_at_the_nodes():
    # two circles of radius 1 au in different planes meet at their common nodes
    result = moid(1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 60.0, 40.0, 0.0)
    assert result.moid_au[()] < 1e-10
    assert result.true_anomaly_2_deg[()] == pytest.approx(0.0, abs=1e-4) or result.true_anomaly_2_deg[()] == (
        pytest.approx(180.0, abs=1e-4)
    )


def test_anomalies_locate_the_minimum():
    rows = random_orbits(30, seed=21)
    result = moid(*rows.T, *np.tile(EARTH, (30, 1)).T)
    rad = np.pi / 180.0
    p1 = position_at_true_anomaly(*rows[:, :2].T, *(rows[:, 2:].T * rad), result.true_anomaly_1_deg * rad)
    earth = np.tile(EARTH, (30, 1))
    p2 = position_at_true_anomaly(*earth[:, :2].T, *(earth[:, 2:].T * rad), result.true_anomaly_2_deg * rad)
    np.testing.assert_allclose(np.linalg.norm(p1 - p2, axis=1), result.moid_au, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(
    ("elements", "message"),
    [
        ((1.5, 1.0, 10.0), "parabolic or hyperbolic"),
        ((-2.0, 1.3, 10.0), "parabolic or hyperbolic"),
        ((0.0, 0.5, 10.0), "semi-major axis"),
        ((1.5, -0.1, 10.0), "negative eccentricity"),
        ((1.5, 0.3, 190.0), "inclination outside 0-180"),
        ((1.5, 0.3, -5.0), "inclination outside 0-180"),
        ((np.nan, 0.3, 5.0), "non-finite"),
    ],
)
def test_orbits_outside_the_domain_are_rejected_with_the_reason(elements, message):
    a, e, inc = elements
    with pytest.raises(ValueError, match=message):
        moid([1.2, a], [0.1, e], [3.0, inc], 0.0, 0.0, *EARTH)
    with pytest.raises(ValueError, match=f"row 1 .*{message}"):
        moid([1.2, a], [0.1, e], [3.0, inc], 0.0, 0.0, *EARTH)


def test_invalid_rows_can_be_nan_instead():
    result = moid([1.2, 1.5, 2.0], [0.1, 1.2, 0.3], [3.0, 5.0, 7.0], 10.0, 20.0, *EARTH, invalid="nan")
    assert np.isnan(result.moid_au[1]) and np.isnan(result.moid_km[1])
    assert np.all(np.isfinite(result.moid_au[[0, 2]]))


def test_options_are_checked():
    with pytest.raises(ValueError, match="invalid must be"):
        moid(1.2, 0.1, 3.0, 0.0, 0.0, *EARTH, invalid="skip")
    with pytest.raises(ValueError, match="grid must be"):
        moid(1.2, 0.1, 3.0, 0.0, 0.0, *EARTH, grid=4)
