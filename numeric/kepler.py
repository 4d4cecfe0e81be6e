"""Two-body Keplerian geometry of elliptic orbits (heliocentric ecliptic J2000 frame, au, days, radians).

An orbit is given by its osculating elements: semi-major axis ``a`` (au), eccentricity ``e`` (0 <= e < 1),
inclination ``inc``, longitude of the ascending node ``node`` and argument of perihelion ``peri`` (radians).
The orbit's perifocal unit vectors are ``P`` (towards perihelion) and ``Q`` (90 degrees ahead in the orbital
plane); the position at eccentric anomaly ``E`` is ``a (cos E - e) P + a sqrt(1 - e^2) sin E Q`` (Murray &
Dermott, *Solar System Dynamics*, ch. 2). Everything here is a pure function of numpy arrays; the scalar
``@njit`` helpers are shared with the MOID kernel.
"""

from __future__ import annotations

import numpy as np
from numba import njit

GAUSS_K = 0.01720209895
"""Gaussian gravitational constant (au^1.5 / day / solar mass^0.5): GM_sun = k^2 au^3/day^2."""
GM_SUN = GAUSS_K * GAUSS_K
"""Heliocentric gravitational parameter in au^3/day^2."""
AU_KM = 149_597_870.7
"""The astronomical unit in km (IAU 2012 Resolution B2)."""


@njit(cache=True)
def perifocal_vectors(inc: float, node: float, peri: float) -> tuple[np.ndarray, np.ndarray]:
    """Unit vectors P (to perihelion) and Q (in the plane, 90 degrees ahead) of an orbit, ecliptic frame.

    Args:
        inc: Inclination (radians; above pi/2 the orbit is retrograde).
        node: Longitude of the ascending node (radians).
        peri: Argument of perihelion (radians).

    Returns:
        ``(P, Q)``, two arrays of 3 floats.
    """
    cn, sn = np.cos(node), np.sin(node)
    cw, sw = np.cos(peri), np.sin(peri)
    ci, si = np.cos(inc), np.sin(inc)
    p = np.empty(3)
    q = np.empty(3)
    p[0] = cn * cw - sn * sw * ci
    p[1] = sn * cw + cn * sw * ci
    p[2] = sw * si
    q[0] = -cn * sw - sn * cw * ci
    q[1] = -sn * sw + cn * cw * ci
    q[2] = cw * si
    return p, q


@njit(cache=True)
def eccentric_from_true(nu: float, e: float) -> float:
    """Eccentric anomaly (radians, same revolution as ``nu``) from the true anomaly of an ellipse."""
    return 2.0 * np.arctan2(np.sqrt(1.0 - e) * np.sin(0.5 * nu), np.sqrt(1.0 + e) * np.cos(0.5 * nu))


@njit(cache=True)
def true_from_eccentric(ecc_anomaly: float, e: float) -> float:
    """True anomaly (radians, in (-pi, pi]) from the eccentric anomaly of an ellipse."""
    half = 0.5 * ecc_anomaly
    return 2.0 * np.arctan2(np.sqrt(1.0 + e) * np.sin(half), np.sqrt(1.0 - e) * np.cos(half))


def _perifocal_arrays(inc: np.ndarray, node: np.ndarray, peri: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised :func:`perifocal_vectors`: arrays of shape ``(..., 3)``."""
    cn, sn = np.cos(node), np.sin(node)
    cw, sw = np.cos(peri), np.sin(peri)
    ci, si = np.cos(inc), np.sin(inc)
    p = np.stack([cn * cw - sn * sw * ci, sn * cw + cn * sw * ci, sw * si], axis=-1)
    q = np.stack([-cn * sw - sn * cw * ci, -sn * sw + cn * cw * ci, cw * si], axis=-1)
    return p, q


def position_at_eccentric_anomaly(
    a: np.ndarray, e: np.ndarray, inc: np.ndarray, node: np.ndarray, peri: np.ndarray, ecc_anomaly: np.ndarray
) -> np.ndarray:
    """Heliocentric position (au) on the orbit at the given eccentric anomaly; all arguments broadcast.

    Args:
        a: Semi-major axis (au).
        e: Eccentricity (0 <= e < 1).
        inc: Inclination (radians).
        node: Longitude of the ascending node (radians).
        peri: Argument of perihelion (radians).
        ecc_anomaly: Eccentric anomaly (radians).

    Returns:
        Array of shape ``broadcast_shape + (3,)``: ecliptic x, y, z.
    """
    a, e, inc, node, peri, ecc_anomaly = np.broadcast_arrays(
        *(np.asarray(v, dtype=np.float64) for v in (a, e, inc, node, peri, ecc_anomaly))
    )
    p, q = _perifocal_arrays(inc, node, peri)
    x = a * (np.cos(ecc_anomaly) - e)
    y = a * np.sqrt(1.0 - e * e) * np.sin(ecc_anomaly)
    return x[..., None] * p + y[..., None] * q


def position_at_true_anomaly(
    a: np.ndarray, e: np.ndarray, inc: np.ndarray, node: np.ndarray, peri: np.ndarray, nu: np.ndarray
) -> np.ndarray:
    """Heliocentric position (au) on the orbit at the given true anomaly; all arguments broadcast.

    Args:
        a: Semi-major axis (au).
        e: Eccentricity (0 <= e < 1).
        inc: Inclination (radians).
        node: Longitude of the ascending node (radians).
        peri: Argument of perihelion (radians).
        nu: True anomaly (radians).

    Returns:
        Array of shape ``broadcast_shape + (3,)``: ecliptic x, y, z.
    """
    a, e, inc, node, peri, nu = np.broadcast_arrays(
        *(np.asarray(v, dtype=np.float64) for v in (a, e, inc, node, peri, nu))
    )
    p, q = _perifocal_arrays(inc, node, peri)
    r = a * (1.0 - e * e) / (1.0 + e * np.cos(nu))
    return (r * np.cos(nu))[..., None] * p + (r * np.sin(nu))[..., None] * q


def solve_kepler(mean_anomaly: np.ndarray, e: np.ndarray, tol: float = 1e-14, max_iter: int = 50) -> np.ndarray:
    """Eccentric anomaly E from the mean anomaly M (``M = E - e sin E``) by Newton's method; arrays broadcast.

    Args:
        mean_anomaly: Mean anomaly (radians).
        e: Eccentricity (0 <= e < 1).
        tol: Convergence tolerance on E (radians).
        max_iter: Iteration limit (Newton from ``E0 = M + 0.85 e sign(sin M)`` converges in a few steps).

    Returns:
        E (radians), the same revolution as M reduced to (-pi, pi].
    """
    m = np.remainder(np.asarray(mean_anomaly, dtype=np.float64) + np.pi, 2.0 * np.pi) - np.pi
    e = np.asarray(e, dtype=np.float64)
    ecc = m + 0.85 * e * np.sign(np.sin(m))
    for _ in range(max_iter):
        step = (ecc - e * np.sin(ecc) - m) / (1.0 - e * np.cos(ecc))
        ecc = ecc - step
        if np.all(np.abs(step) < tol):
            break
    return ecc


def state_from_elements(
    a: np.ndarray,
    e: np.ndarray,
    inc: np.ndarray,
    node: np.ndarray,
    peri: np.ndarray,
    mean_anomaly: np.ndarray,
    mu: float = GM_SUN,
) -> tuple[np.ndarray, np.ndarray]:
    """Position (au) and velocity (au/day) of a body from its osculating elements and mean anomaly.

    Args:
        a: Semi-major axis (au).
        e: Eccentricity (0 <= e < 1).
        inc: Inclination (radians).
        node: Longitude of the ascending node (radians).
        peri: Argument of perihelion (radians).
        mean_anomaly: Mean anomaly (radians).
        mu: Gravitational parameter of the two-body problem (au^3/day^2).

    Returns:
        ``(r, v)``, each of shape ``broadcast_shape + (3,)``.
    """
    a, e, inc, node, peri, mean_anomaly = np.broadcast_arrays(
        *(np.asarray(v, dtype=np.float64) for v in (a, e, inc, node, peri, mean_anomaly))
    )
    ecc = solve_kepler(mean_anomaly, e)
    p, q = _perifocal_arrays(inc, node, peri)
    b = a * np.sqrt(1.0 - e * e)
    cos_e, sin_e = np.cos(ecc), np.sin(ecc)
    edot = np.sqrt(mu / a**3) / (1.0 - e * cos_e)  # dE/dt = n / (1 - e cos E)
    r = (a * (cos_e - e))[..., None] * p + (b * sin_e)[..., None] * q
    v = (-a * sin_e * edot)[..., None] * p + (b * cos_e * edot)[..., None] * q
    return r, v


def elements_from_state(r: np.ndarray, v: np.ndarray, mu: float = GM_SUN) -> dict[str, np.ndarray]:
    """Osculating elements from heliocentric position and velocity (the inverse of :func:`state_from_elements`).

    Args:
        r: Positions (au), shape ``(..., 3)``.
        v: Velocities (au/day), shape ``(..., 3)``.
        mu: Gravitational parameter (au^3/day^2).

    Returns:
        Arrays ``a``, ``e``, ``inc``, ``node``, ``peri``, ``mean_anomaly`` (radians; node, peri and mean
        anomaly in [0, 2 pi)). For a circular or equatorial orbit the undefined angles are set so that the
        position is still reproduced (node = 0 when i = 0; perihelion at the node when e = 0).

    Raises:
        ValueError: When a state is not bound (e >= 1).
    """
    r = np.asarray(r, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    h = np.cross(r, v)
    hn = np.linalg.norm(h, axis=-1)
    rn = np.linalg.norm(r, axis=-1)
    e_vec = np.cross(v, h) / mu - r / rn[..., None]
    e = np.linalg.norm(e_vec, axis=-1)
    if np.any(e >= 1.0):
        raise ValueError("elements_from_state: state is not on a bound (elliptic) orbit (e >= 1)")
    energy = 0.5 * np.sum(v * v, axis=-1) - mu / rn
    a = -mu / (2.0 * energy)
    inc = np.arccos(np.clip(h[..., 2] / hn, -1.0, 1.0))
    node = np.arctan2(h[..., 0], -h[..., 1])
    node = np.where(np.hypot(h[..., 0], h[..., 1]) > 1e-15 * hn, node, 0.0)
    p_node, q_node = _perifocal_arrays(inc, node, np.zeros_like(node))  # node direction and 90 deg ahead
    peri = np.arctan2(np.sum(e_vec * q_node, axis=-1), np.sum(e_vec * p_node, axis=-1))
    peri = np.where(e > 1e-14, peri, 0.0)
    p, q = _perifocal_arrays(inc, node, peri)
    nu = np.arctan2(np.sum(r * q, axis=-1), np.sum(r * p, axis=-1))
    ecc = 2.0 * np.arctan2(np.sqrt(1.0 - e) * np.sin(0.5 * nu), np.sqrt(1.0 + e) * np.cos(0.5 * nu))
    mean = ecc - e * np.sin(ecc)
    two_pi = 2.0 * np.pi
    return {
        "a": a,
        "e": e,
        "inc": inc,
        "node": np.remainder(node, two_pi),
        "peri": np.remainder(peri, two_pi),
        "mean_anomaly": np.remainder(mean, two_pi),
    }
