"""Minimum orbit intersection distance (MOID) between two elliptic Keplerian orbits; Earth MOID of asteroids.

The MOID is the global minimum over both orbits' anomalies of the distance between a point of one orbit and
a point of the other (the orbits as curves; where the bodies actually are does not matter). Algorithm, the
same in the Numba kernel :func:`moid_kernel` and the numpy reference :mod:`numeric.moid_reference`:

1. **Global search on a grid.** Each orbit is sampled at ``grid`` points equally spaced in *true* anomaly
   (equal angles seen from the Sun, so a near-parabolic orbit keeps its perihelion passage resolved, where
   equal eccentric-anomaly steps would span astronomical units). The squared distance is evaluated on the
   ``grid x grid`` torus and every discrete local minimum (not above any of its 8 neighbours, with wrap-around)
   is a candidate; the ``candidates`` lowest ones are kept (ties in grid order).
2. **Local refinement.** From each candidate, Newton's method on the squared distance ``f(E1, E2)`` in the two
   *eccentric* anomalies (smooth and well conditioned for 0 <= e < 1) with exact gradient and Hessian, damped
   Levenberg-Marquardt style: a step is tried with ``H + lam s I`` (``s = |r1'|^2 + |r2'|^2``), accepted when
   ``f`` does not increase (then ``lam`` shrinks tenfold, to 0 below 1e-9), otherwise ``lam`` grows tenfold
   (from at least 1e-6); an indefinite matrix also grows ``lam``. It stops when the Newton step is below
   1e-12 rad, ``lam`` exceeds 1e8 (no further decrease possible) or after :data:`MAX_ITER` tries. Near-grazing
   orbits, whose distance minimum is narrower than a grid cell, are located by this step to full precision.
3. The smallest refined distance is the MOID; its eccentric anomalies are reported as true anomalies.

Domain (checked by :func:`moid` / :func:`earth_moid`, which raise ``ValueError`` with the offending row or,
with ``invalid="nan"``, return NaN for it):

- ``0 <= e < 1``. Near-circular orbits (e -> 0) need nothing special: the eccentric-anomaly parametrisation
  has no singularity there (the argument of perihelion only shifts the parameter origin).
- Near-parabolic orbits (0.99 <= e < 1) are handled: the true-anomaly grid resolves the perihelion arc and
  the refinement works in eccentric anomaly; tests compare them with a dense brute-force search.
- Parabolic and hyperbolic orbits (e >= 1) are rejected: they are not closed ellipses.
- Any inclination 0-180 degrees: high-inclination and retrograde (i > 90 degrees) orbits are ordinary input.
- ``a > 0`` and finite values.

The global search is a heuristic in one respect: a local minimum whose basin falls between grid points and
which produces no discrete grid minimum of its own could be missed. Two elliptic orbits have at most four
local distance minima in practice, far apart in anomaly except for nearly coplanar, nearly tangent pairs; the
default 60 x 60 grid plus refinement of the 6 best grid minima matched a 1440 x 1440 brute-force search on
every synthetic case of the tests (including nearly tangent coplanar pairs and e = 0.995).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit, prange

from numeric.earth_orbit import earth_osculating_elements
from numeric.kepler import AU_KM, eccentric_from_true, perifocal_vectors, true_from_eccentric

DEFAULT_GRID = 60
"""Grid points per orbit (6 degrees of true anomaly)."""
DEFAULT_CANDIDATES = 6
"""Grid local minima refined per pair of orbits."""
MAX_ITER = 100
STEP_TOL = 1e-12
LAM_MIN = 1e-6
LAM_MAX = 1e8
LAM_ZERO = 1e-9


class MoidResult(NamedTuple):
    """MOID of pairs of orbits; the anomalies say where on each orbit the minimum distance occurs."""

    moid_au: np.ndarray
    moid_km: np.ndarray
    true_anomaly_1_deg: np.ndarray
    true_anomaly_2_deg: np.ndarray


class EarthMoidResult(NamedTuple):
    """Earth MOID of asteroids: distance and true anomalies (degrees, [0, 360)) on each orbit."""

    moid_au: np.ndarray
    moid_km: np.ndarray
    asteroid_true_anomaly_deg: np.ndarray
    earth_true_anomaly_deg: np.ndarray


@njit(cache=True)
def _position(a: float, b: float, e: float, p: np.ndarray, q: np.ndarray, ecc: float) -> tuple[float, float, float]:
    x = a * (np.cos(ecc) - e)
    y = b * np.sin(ecc)
    return x * p[0] + y * q[0], x * p[1] + y * q[1], x * p[2] + y * q[2]


@njit(cache=True)
def _squared_distance(
    a1: float,
    b1: float,
    e1: float,
    p1: np.ndarray,
    q1: np.ndarray,
    a2: float,
    b2: float,
    e2: float,
    p2: np.ndarray,
    q2: np.ndarray,
    ecc1: float,
    ecc2: float,
) -> float:
    x1, y1, z1 = _position(a1, b1, e1, p1, q1, ecc1)
    x2, y2, z2 = _position(a2, b2, e2, p2, q2, ecc2)
    dx, dy, dz = x1 - x2, y1 - y2, z1 - z2
    return dx * dx + dy * dy + dz * dz


@njit(cache=True)
def _derivatives(
    a1: float,
    b1: float,
    e1: float,
    p1: np.ndarray,
    q1: np.ndarray,
    a2: float,
    b2: float,
    e2: float,
    p2: np.ndarray,
    q2: np.ndarray,
    ecc1: float,
    ecc2: float,
) -> tuple[float, float, float, float, float, float, float]:
    """``f``, gradient ``(g1, g2)``, Hessian ``(h11, h12, h22)`` and scale ``|r1'|^2 + |r2'|^2`` at (E1, E2)."""
    c1, s1 = np.cos(ecc1), np.sin(ecc1)
    c2, s2 = np.cos(ecc2), np.sin(ecc2)
    x1, y1 = a1 * (c1 - e1), b1 * s1
    dx1, dy1 = -a1 * s1, b1 * c1  # derivative in perifocal coordinates; second derivative is (-a c, -b s)
    x2, y2 = a2 * (c2 - e2), b2 * s2
    dx2, dy2 = -a2 * s2, b2 * c2
    f = 0.0
    d_r1p = 0.0
    d_r2p = 0.0
    d_r1pp = 0.0
    d_r2pp = 0.0
    r1p_r1p = 0.0
    r2p_r2p = 0.0
    r1p_r2p = 0.0
    for k in range(3):
        d = (x1 * p1[k] + y1 * q1[k]) - (x2 * p2[k] + y2 * q2[k])
        r1p = dx1 * p1[k] + dy1 * q1[k]
        r2p = dx2 * p2[k] + dy2 * q2[k]
        r1pp = -a1 * c1 * p1[k] - b1 * s1 * q1[k]
        r2pp = -a2 * c2 * p2[k] - b2 * s2 * q2[k]
        f += d * d
        d_r1p += d * r1p
        d_r2p += d * r2p
        d_r1pp += d * r1pp
        d_r2pp += d * r2pp
        r1p_r1p += r1p * r1p
        r2p_r2p += r2p * r2p
        r1p_r2p += r1p * r2p
    return (
        f,
        2.0 * d_r1p,
        -2.0 * d_r2p,
        2.0 * (r1p_r1p + d_r1pp),
        -2.0 * r1p_r2p,
        2.0 * (r2p_r2p - d_r2pp),
        r1p_r1p + r2p_r2p,
    )


@njit(cache=True)
def _refine(
    a1: float,
    b1: float,
    e1: float,
    p1: np.ndarray,
    q1: np.ndarray,
    a2: float,
    b2: float,
    e2: float,
    p2: np.ndarray,
    q2: np.ndarray,
    ecc1: float,
    ecc2: float,
) -> tuple[float, float, float]:
    """Damped Newton descent of the squared distance from (E1, E2); returns (f, E1, E2) at the minimum."""
    f, g1, g2, h11, h12, h22, scale = _derivatives(a1, b1, e1, p1, q1, a2, b2, e2, p2, q2, ecc1, ecc2)
    lam = 0.0
    for _ in range(MAX_ITER):
        m11 = h11 + lam * scale
        m22 = h22 + lam * scale
        det = m11 * m22 - h12 * h12
        if not (m11 > 0.0 and det > 0.0):
            lam = max(lam * 10.0, LAM_MIN)
            if lam > LAM_MAX:
                break
            continue
        step1 = -(m22 * g1 - h12 * g2) / det
        step2 = -(m11 * g2 - h12 * g1) / det
        if abs(step1) + abs(step2) < STEP_TOL:
            break
        trial = _squared_distance(a1, b1, e1, p1, q1, a2, b2, e2, p2, q2, ecc1 + step1, ecc2 + step2)
        if trial <= f:
            ecc1 += step1
            ecc2 += step2
            f, g1, g2, h11, h12, h22, scale = _derivatives(a1, b1, e1, p1, q1, a2, b2, e2, p2, q2, ecc1, ecc2)
            lam = lam * 0.1 if lam * 0.1 >= LAM_ZERO else 0.0
        else:
            lam = max(lam * 10.0, LAM_MIN)
            if lam > LAM_MAX:
                break
    return f, ecc1, ecc2


@njit(cache=True)
def _moid_pair(
    a1: float,
    e1: float,
    inc1: float,
    node1: float,
    peri1: float,
    a2: float,
    e2: float,
    inc2: float,
    node2: float,
    peri2: float,
    grid: int,
    candidates: int,
) -> tuple[float, float, float]:
    """MOID (au) and the true anomalies (radians, [0, 2 pi)) of one pair of orbits."""
    p1, q1 = perifocal_vectors(inc1, node1, peri1)
    p2, q2 = perifocal_vectors(inc2, node2, peri2)
    b1 = a1 * np.sqrt(1.0 - e1 * e1)
    b2 = a2 * np.sqrt(1.0 - e2 * e2)
    ecc_grid1 = np.empty(grid)
    ecc_grid2 = np.empty(grid)
    x1 = np.empty(grid)
    y1 = np.empty(grid)
    z1 = np.empty(grid)
    x2 = np.empty(grid)
    y2 = np.empty(grid)
    z2 = np.empty(grid)
    for k in range(grid):
        nu = 2.0 * np.pi * k / grid
        ecc_grid1[k] = eccentric_from_true(nu, e1)
        ecc_grid2[k] = eccentric_from_true(nu, e2)
        x1[k], y1[k], z1[k] = _position(a1, b1, e1, p1, q1, ecc_grid1[k])
        x2[k], y2[k], z2[k] = _position(a2, b2, e2, p2, q2, ecc_grid2[k])
    dist = np.empty((grid, grid))
    for i in range(grid):
        xi, yi, zi = x1[i], y1[i], z1[i]
        for j in range(grid):  # contiguous columns: LLVM vectorises this loop
            dx = xi - x2[j]
            dy = yi - y2[j]
            dz = zi - z2[j]
            dist[i, j] = dx * dx + dy * dy + dz * dz
    best_f = np.full(candidates, np.inf)
    best_i = np.zeros(candidates, dtype=np.int64)
    best_j = np.zeros(candidates, dtype=np.int64)
    along = np.empty(grid, dtype=np.bool_)
    last = grid - 1
    for i in range(grid):
        row_prev = dist[i - 1 if i > 0 else last]
        row = dist[i]
        row_next = dist[i + 1 if i < last else 0]
        # a discrete local minimum is not above any of its 8 neighbours; first the two in its row (a branch-free,
        # vectorisable pass: a row has only a few such cells), then the six others for those
        along[0] = row[0] <= row[last] and row[0] <= row[1]
        for j in range(1, last):
            along[j] = (row[j] <= row[j - 1]) & (row[j] <= row[j + 1])
        along[last] = row[last] <= row[last - 1] and row[last] <= row[0]
        for j in range(grid):
            if not along[j]:
                continue
            value = row[j]
            if value >= best_f[candidates - 1]:
                continue
            jp = j - 1 if j > 0 else last
            jn = j + 1 if j < last else 0
            if min(min(row_prev[jp], row_prev[j]), row_prev[jn]) < value:
                continue
            if min(min(row_next[jp], row_next[j]), row_next[jn]) < value:
                continue
            slot = candidates - 1  # insert keeping (value, grid order): equal values stay behind earlier ones
            while slot > 0 and best_f[slot - 1] > value:
                best_f[slot] = best_f[slot - 1]
                best_i[slot] = best_i[slot - 1]
                best_j[slot] = best_j[slot - 1]
                slot -= 1
            best_f[slot] = value
            best_i[slot] = i
            best_j[slot] = j
    moid_f = np.inf
    moid_e1 = 0.0
    moid_e2 = 0.0
    for c in range(candidates):
        if best_f[c] == np.inf:
            break
        f, ecc1, ecc2 = _refine(a1, b1, e1, p1, q1, a2, b2, e2, p2, q2, ecc_grid1[best_i[c]], ecc_grid2[best_j[c]])
        if f < moid_f:
            moid_f, moid_e1, moid_e2 = f, ecc1, ecc2
    two_pi = 2.0 * np.pi
    nu1 = true_from_eccentric(moid_e1, e1) % two_pi
    nu2 = true_from_eccentric(moid_e2, e2) % two_pi
    return np.sqrt(moid_f), nu1, nu2


@njit(cache=True, parallel=True)
def moid_kernel(
    a1: np.ndarray,
    e1: np.ndarray,
    inc1: np.ndarray,
    node1: np.ndarray,
    peri1: np.ndarray,
    a2: np.ndarray,
    e2: np.ndarray,
    inc2: np.ndarray,
    node2: np.ndarray,
    peri2: np.ndarray,
    grid: int = DEFAULT_GRID,
    candidates: int = DEFAULT_CANDIDATES,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MOID of each pair ``k`` of orbits (elements ``[k]`` of the 1-D arrays), in parallel over pairs.

    Unchecked: call it through :func:`moid` or :func:`earth_moid`, which validate the elements.

    Args:
        a1: Semi-major axes of the first orbits (au).
        e1: Eccentricities of the first orbits (0 <= e < 1).
        inc1: Inclinations of the first orbits (radians).
        node1: Longitudes of the ascending node of the first orbits (radians).
        peri1: Arguments of perihelion of the first orbits (radians).
        a2: Semi-major axes of the second orbits (au).
        e2: Eccentricities of the second orbits.
        inc2: Inclinations of the second orbits (radians).
        node2: Longitudes of the ascending node of the second orbits (radians).
        peri2: Arguments of perihelion of the second orbits (radians).
        grid: Grid points per orbit of the global search.
        candidates: Grid local minima refined per pair.

    Returns:
        ``(moid_au, nu1, nu2)``: the MOID and the true anomalies (radians, [0, 2 pi)) where it occurs.
    """
    n = a1.shape[0]
    moid_au = np.empty(n)
    nu1 = np.empty(n)
    nu2 = np.empty(n)
    for k in prange(n):
        moid_au[k], nu1[k], nu2[k] = _moid_pair(
            a1[k], e1[k], inc1[k], node1[k], peri1[k], a2[k], e2[k], inc2[k], node2[k], peri2[k], grid, candidates
        )
    return moid_au, nu1, nu2


def valid_elements(a: np.ndarray, e: np.ndarray, inc: np.ndarray) -> tuple[np.ndarray, str]:
    """Which orbits the MOID handles, and why the first one that it does not is refused.

    Args:
        a: Semi-major axes (au).
        e: Eccentricities.
        inc: Inclinations (radians).

    Returns:
        ``(ok, reason)``: a boolean array, and an empty string when all are valid or else a message naming the
        first invalid row and its problem.
    """
    checks = (
        (np.isfinite(a) & np.isfinite(e) & np.isfinite(inc), "non-finite element"),
        (e < 1.0, "parabolic or hyperbolic orbit (e >= 1): not a closed ellipse, no MOID by this method"),
        (e >= 0.0, "negative eccentricity"),
        (a > 0.0, "semi-major axis a <= 0"),
        ((inc >= 0.0) & (inc <= np.pi), "inclination outside 0-180 degrees"),
    )
    ok = np.ones(a.shape, dtype=bool)
    reason = ""
    for passed, message in checks:
        failed = ~passed & ok
        if not reason and failed.any():
            row = int(np.flatnonzero(failed)[0])
            reason = f"row {row} (a={a[row]!r}, e={e[row]!r}, i={np.degrees(inc[row])!r} deg): {message}"
        ok &= passed
    return ok, reason


def _moid_radians(
    orbit1: tuple[np.ndarray, ...],
    orbit2: tuple[np.ndarray, ...],
    grid: int,
    candidates: int,
    invalid: str,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if invalid not in ("raise", "nan"):
        raise ValueError(f"invalid must be 'raise' or 'nan', not {invalid!r}")
    if grid < 8 or candidates < 1:
        raise ValueError(f"grid must be >= 8 and candidates >= 1 (got {grid}, {candidates})")
    arrays = np.broadcast_arrays(*(np.atleast_1d(np.asarray(v, dtype=np.float64)) for v in (*orbit1, *orbit2)))
    arrays = [np.ascontiguousarray(v.ravel()) for v in arrays]
    ok1, reason1 = valid_elements(arrays[0], arrays[1], arrays[2])
    ok2, reason2 = valid_elements(arrays[5], arrays[6], arrays[7])
    if invalid == "raise" and (reason1 or reason2):
        raise ValueError(f"moid: first orbit {reason1}" if reason1 else f"moid: second orbit {reason2}")
    ok = ok1 & ok2
    n = arrays[0].shape[0]
    moid_au = np.full(n, np.nan)
    nu1 = np.full(n, np.nan)
    nu2 = np.full(n, np.nan)
    if ok.any():
        rows = [np.ascontiguousarray(v[ok]) for v in arrays]
        moid_au[ok], nu1[ok], nu2[ok] = moid_kernel(*rows, grid, candidates)
    shape = np.broadcast_shapes(*(np.shape(v) for v in (*orbit1, *orbit2)))
    return moid_au.reshape(shape), nu1.reshape(shape), nu2.reshape(shape)


def moid(
    a1: np.ndarray,
    e1: np.ndarray,
    inc1_deg: np.ndarray,
    node1_deg: np.ndarray,
    peri1_deg: np.ndarray,
    a2: np.ndarray,
    e2: np.ndarray,
    inc2_deg: np.ndarray,
    node2_deg: np.ndarray,
    peri2_deg: np.ndarray,
    *,
    grid: int = DEFAULT_GRID,
    candidates: int = DEFAULT_CANDIDATES,
    invalid: str = "raise",
) -> MoidResult:
    """MOID between pairs of elliptic orbits given by their elements (arguments broadcast together).

    Args:
        a1: Semi-major axis of the first orbit (au).
        e1: Eccentricity of the first orbit (0 <= e < 1).
        inc1_deg: Inclination of the first orbit (degrees, 0-180).
        node1_deg: Longitude of the ascending node of the first orbit (degrees).
        peri1_deg: Argument of perihelion of the first orbit (degrees).
        a2: Semi-major axis of the second orbit (au).
        e2: Eccentricity of the second orbit.
        inc2_deg: Inclination of the second orbit (degrees).
        node2_deg: Longitude of the ascending node of the second orbit (degrees).
        peri2_deg: Argument of perihelion of the second orbit (degrees).
        grid: Grid points per orbit of the global search.
        candidates: Grid local minima refined per pair.
        invalid: ``"raise"``: a ValueError names the first orbit outside the domain (see the module
            docstring); ``"nan"``: such pairs get NaN results.

    Returns:
        MOID in au and km and the true anomalies (degrees, [0, 360)) on each orbit where it occurs.

    Raises:
        ValueError: For an orbit outside the domain when ``invalid="raise"``, or bad options.
    """
    rad = np.pi / 180.0
    orbit1 = (a1, e1, *(np.asarray(v, dtype=np.float64) * rad for v in (inc1_deg, node1_deg, peri1_deg)))
    orbit2 = (a2, e2, *(np.asarray(v, dtype=np.float64) * rad for v in (inc2_deg, node2_deg, peri2_deg)))
    moid_au, nu1, nu2 = _moid_radians(orbit1, orbit2, grid, candidates, invalid)
    return MoidResult(moid_au, moid_au * AU_KM, np.degrees(nu1), np.degrees(nu2))


def earth_moid(
    epoch_jd: np.ndarray,
    a: np.ndarray,
    e: np.ndarray,
    inc_deg: np.ndarray,
    node_deg: np.ndarray,
    peri_deg: np.ndarray,
    *,
    grid: int = DEFAULT_GRID,
    candidates: int = DEFAULT_CANDIDATES,
    invalid: str = "raise",
) -> EarthMoidResult:
    """Earth MOID of asteroids from their osculating elements (as NeoWs/JPL publish them; arguments broadcast).

    Earth's orbit is its osculating orbit at each asteroid's epoch (:mod:`numeric.earth_orbit`).

    Args:
        epoch_jd: Epoch of osculation (Julian date, TDB), 1800-2050.
        a: Semi-major axis (au).
        e: Eccentricity (0 <= e < 1).
        inc_deg: Inclination (degrees, ecliptic J2000, 0-180).
        node_deg: Longitude of the ascending node (degrees).
        peri_deg: Argument of perihelion (degrees).
        grid: Grid points per orbit of the global search.
        candidates: Grid local minima refined per asteroid.
        invalid: ``"raise"`` or ``"nan"``, as for :func:`moid` (an epoch outside 1800-2050 always raises).

    Returns:
        MOID in au and km and the true anomalies (degrees, [0, 360)) on the asteroid's and on Earth's orbit.

    Raises:
        ValueError: For an epoch outside 1800-2050, or an orbit outside the domain when ``invalid="raise"``.
    """
    rad = np.pi / 180.0
    earth = earth_osculating_elements(np.asarray(epoch_jd, dtype=np.float64))
    asteroid = (a, e, *(np.asarray(v, dtype=np.float64) * rad for v in (inc_deg, node_deg, peri_deg)))
    earth_orbit = (earth["a"], earth["e"], earth["inc"], earth["node"], earth["peri"])
    moid_au, nu1, nu2 = _moid_radians(asteroid, earth_orbit, grid, candidates, invalid)
    return EarthMoidResult(moid_au, moid_au * AU_KM, np.degrees(nu1), np.degrees(nu2))
