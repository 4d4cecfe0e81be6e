"""Plain numpy reference of the MOID algorithm of :mod:`numeric.moid` (same grid, candidates and refinement).

Vectorised over pairs of orbits (in chunks, to bound the memory of the ``pairs x grid x grid`` distance array)
and, in the refinement, over all candidates at once; no Numba. It exists to check the kernel (tests) and to
measure it (benchmarks): both must give the same MOID to rounding.
"""

from __future__ import annotations

import numpy as np

from numeric.moid import LAM_MAX, LAM_MIN, LAM_ZERO, MAX_ITER, STEP_TOL


def _perifocal(inc: np.ndarray, node: np.ndarray, peri: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    cn, sn = np.cos(node), np.sin(node)
    cw, sw = np.cos(peri), np.sin(peri)
    ci, si = np.cos(inc), np.sin(inc)
    p = np.stack([cn * cw - sn * sw * ci, sn * cw + cn * sw * ci, sw * si], axis=-1)
    q = np.stack([-cn * sw - sn * cw * ci, -sn * sw + cn * cw * ci, cw * si], axis=-1)
    return p, q


def _eccentric_from_true(nu: np.ndarray, e: np.ndarray) -> np.ndarray:
    return 2.0 * np.arctan2(np.sqrt(1.0 - e) * np.sin(0.5 * nu), np.sqrt(1.0 + e) * np.cos(0.5 * nu))


class _Orbits:
    """Elements of many orbits as columns: a, b, e (shape ``(n,)``) and P, Q (shape ``(n, 3)``)."""

    def __init__(self, a: np.ndarray, e: np.ndarray, inc: np.ndarray, node: np.ndarray, peri: np.ndarray) -> None:
        self.a = a
        self.e = e
        self.b = a * np.sqrt(1.0 - e * e)
        self.p, self.q = _perifocal(inc, node, peri)

    def take(self, rows: np.ndarray) -> _Orbits:
        """The orbits of the given rows."""
        out = object.__new__(_Orbits)
        out.a, out.e, out.b, out.p, out.q = self.a[rows], self.e[rows], self.b[rows], self.p[rows], self.q[rows]
        return out

    def position(self, ecc: np.ndarray) -> np.ndarray:
        """Positions at eccentric anomalies ``ecc`` of shape ``(n,)`` or ``(n, k)``: shape ``ecc.shape + (3,)``."""
        extra = (None,) * (ecc.ndim - 1)
        x = self.a[(..., *extra)] * (np.cos(ecc) - self.e[(..., *extra)])
        y = self.b[(..., *extra)] * np.sin(ecc)
        return x[..., None] * self.p[(slice(None), *extra)] + y[..., None] * self.q[(slice(None), *extra)]


def _derivatives(o1: _Orbits, o2: _Orbits, ecc1: np.ndarray, ecc2: np.ndarray) -> tuple[np.ndarray, ...]:
    c1, s1 = np.cos(ecc1), np.sin(ecc1)
    c2, s2 = np.cos(ecc2), np.sin(ecc2)
    d = (o1.a * (c1 - o1.e))[:, None] * o1.p + (o1.b * s1)[:, None] * o1.q
    d -= (o2.a * (c2 - o2.e))[:, None] * o2.p + (o2.b * s2)[:, None] * o2.q
    r1p = (-o1.a * s1)[:, None] * o1.p + (o1.b * c1)[:, None] * o1.q
    r2p = (-o2.a * s2)[:, None] * o2.p + (o2.b * c2)[:, None] * o2.q
    r1pp = (-o1.a * c1)[:, None] * o1.p - (o1.b * s1)[:, None] * o1.q
    r2pp = (-o2.a * c2)[:, None] * o2.p - (o2.b * s2)[:, None] * o2.q
    r1p_r1p = np.sum(r1p * r1p, axis=1)
    r2p_r2p = np.sum(r2p * r2p, axis=1)
    return (
        np.sum(d * d, axis=1),
        2.0 * np.sum(d * r1p, axis=1),
        -2.0 * np.sum(d * r2p, axis=1),
        2.0 * (r1p_r1p + np.sum(d * r1pp, axis=1)),
        -2.0 * np.sum(r1p * r2p, axis=1),
        2.0 * (r2p_r2p - np.sum(d * r2pp, axis=1)),
        r1p_r1p + r2p_r2p,
    )


def _refine(o1: _Orbits, o2: _Orbits, ecc1: np.ndarray, ecc2: np.ndarray) -> tuple[np.ndarray, ...]:
    """The damped Newton descent of :func:`numeric.moid._refine`, on all candidates at once."""
    ecc1 = ecc1.copy()
    ecc2 = ecc2.copy()
    f, g1, g2, h11, h12, h22, scale = _derivatives(o1, o2, ecc1, ecc2)
    lam = np.zeros_like(f)
    active = np.arange(f.shape[0])
    for _ in range(MAX_ITER):
        if active.size == 0:
            break
        lam_a = lam[active]
        m11 = h11[active] + lam_a * scale[active]
        m22 = h22[active] + lam_a * scale[active]
        det = m11 * m22 - h12[active] ** 2
        definite = (m11 > 0.0) & (det > 0.0)
        safe_det = np.where(definite, det, 1.0)
        step1 = -(m22 * g1[active] - h12[active] * g2[active]) / safe_det
        step2 = -(m11 * g2[active] - h12[active] * g1[active]) / safe_det
        converged = definite & (np.abs(step1) + np.abs(step2) < STEP_TOL)
        trying = definite & ~converged
        trial = np.full(active.shape, np.inf)
        rows = active[trying]
        if rows.size:
            diff = o1.take(rows).position(ecc1[rows] + step1[trying]) - o2.take(rows).position(
                ecc2[rows] + step2[trying]
            )
            trial[trying] = np.sum(diff * diff, axis=1)
        accepted = trying & (trial <= f[active])
        grow = ~definite | (trying & ~accepted)
        rows = active[accepted]
        if rows.size:
            ecc1[rows] += step1[accepted]
            ecc2[rows] += step2[accepted]
            new = _derivatives(o1.take(rows), o2.take(rows), ecc1[rows], ecc2[rows])
            for target, value in zip((f, g1, g2, h11, h12, h22, scale), new, strict=True):
                target[rows] = value
            shrunk = lam[rows] * 0.1
            lam[rows] = np.where(shrunk >= LAM_ZERO, shrunk, 0.0)
        lam[active[grow]] = np.maximum(lam[active[grow]] * 10.0, LAM_MIN)
        stalled = grow & (lam[active] > LAM_MAX)
        active = active[~(converged | stalled)]
    return f, ecc1, ecc2


def _moid_chunk(o1: _Orbits, o2: _Orbits, grid: int, candidates: int) -> tuple[np.ndarray, ...]:
    n = o1.a.shape[0]
    nu = 2.0 * np.pi * np.arange(grid) / grid
    ecc_grid1 = _eccentric_from_true(nu[None, :], o1.e[:, None])
    ecc_grid2 = _eccentric_from_true(nu[None, :], o2.e[:, None])
    pos1 = o1.position(ecc_grid1)
    pos2 = o2.position(ecc_grid2)
    dist = np.zeros((n, grid, grid))
    for k in range(3):
        dist += (pos1[:, :, None, k] - pos2[:, None, :, k]) ** 2
    is_minimum = np.ones(dist.shape, dtype=bool)
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            if di or dj:
                is_minimum &= dist <= np.roll(dist, (di, dj), axis=(1, 2))
    pair, cell = np.nonzero(is_minimum.reshape(n, -1))
    value = dist.reshape(n, -1)[pair, cell]
    order = np.lexsort((cell, value, pair))  # per pair: by value, ties in grid order
    pair, cell = pair[order], cell[order]
    first = np.searchsorted(pair, np.arange(n))
    keep = np.arange(pair.shape[0]) - first[pair] < candidates
    pair, cell = pair[keep], cell[keep]
    f, ecc1, ecc2 = _refine(o1.take(pair), o2.take(pair), ecc_grid1[pair, cell // grid], ecc_grid2[pair, cell % grid])
    best = np.full(n, np.inf)
    np.minimum.at(best, pair, f)
    # the first candidate (in rank order) reaching the minimum, as the kernel picks it
    winner = np.flatnonzero(f == best[pair])
    winner = winner[np.unique(pair[winner], return_index=True)[1]]
    e1, e2 = o1.e, o2.e
    rows = pair[winner]
    nu1 = np.empty(n)
    nu2 = np.empty(n)
    half1, half2 = 0.5 * ecc1[winner], 0.5 * ecc2[winner]
    nu1[rows] = 2.0 * np.arctan2(np.sqrt(1.0 + e1[rows]) * np.sin(half1), np.sqrt(1.0 - e1[rows]) * np.cos(half1))
    nu2[rows] = 2.0 * np.arctan2(np.sqrt(1.0 + e2[rows]) * np.sin(half2), np.sqrt(1.0 - e2[rows]) * np.cos(half2))
    two_pi = 2.0 * np.pi
    return np.sqrt(best), np.remainder(nu1, two_pi), np.remainder(nu2, two_pi)


def moid_reference(
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
    grid: int,
    candidates: int,
    chunk: int = 500,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The numpy twin of :func:`numeric.moid.moid_kernel` (same arguments, radians, no validation).

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
        chunk: Pairs per vectorised block (memory: ``chunk * grid^2 * 8`` bytes per temporary).

    Returns:
        ``(moid_au, nu1, nu2)`` as :func:`numeric.moid.moid_kernel` returns them.
    """
    arrays = [np.asarray(v, dtype=np.float64) for v in (a1, e1, inc1, node1, peri1, a2, e2, inc2, node2, peri2)]
    n = arrays[0].shape[0]
    out = [np.empty(n) for _ in range(3)]
    for start in range(0, n, chunk):
        part = [v[start : start + chunk] for v in arrays]
        results = _moid_chunk(_Orbits(*part[:5]), _Orbits(*part[5:]), grid, candidates)
        for target, value in zip(out, results, strict=True):
            target[start : start + chunk] = value
    return out[0], out[1], out[2]
