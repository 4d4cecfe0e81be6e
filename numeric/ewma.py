"""Per-entity sequential anomaly scores: time-decayed exponentially weighted mean and variance.

Rows arrive sorted by (entity, time). For each entity the state after its rows ``1..n`` is, with decay weights
``w_i = 0.5 ** ((t_n - t_i) / half_life)`` (so the newest row has weight 1 and irregular gaps are handled exactly,
not by a per-row factor)::

    weight    W  = sum(w_i)
    weight_sq W2 = sum(w_i ** 2)
    mean      m  = sum(w_i * x_i) / W
    m2        M2 = sum(w_i * (x_i - m) ** 2)
    variance     = M2 / (W - W2 / W)        (unbiased for reliability weights; the sample variance when all w_i = 1)

The state is updated in one pass (West's weighted update after decaying ``W``, ``M2`` by ``d`` and ``W2`` by
``d ** 2`` with ``d = 0.5 ** (gap / half_life)``). Each row is scored against the state *before* it:
``z = (x - m) / sqrt(variance)``; the decay between the previous row and this one scales ``W``, ``W2`` and ``M2``
alike, so it leaves ``m`` and the variance, hence ``z``, unchanged. The row is flagged when ``|z| > threshold``
and the entity has at least ``min_prior`` prior (non-NaN) rows.

Conventions:
    * Times are float64 **days** (any unit works if ``half_life`` uses the same one; convert epoch seconds with
      ``seconds / 86400``). Within an entity times must be non-decreasing; equal times decay by 1 (no decay).
    * A NaN value gets ``z = NaN``, is never flagged and does not change the state (nor the prior count).
    * Fewer than two prior rows (or all prior weight on one row): the variance is undefined, ``z = NaN``.
    * Zero prior variance (all prior values equal): ``z = 0`` when the value equals the mean, else ``±inf``
      (flagged once ``min_prior`` is reached).
    * Incremental runs: :func:`ewma_scores` with ``state=`` the final state of an earlier run continues each
      entity exactly as one pass over all rows would (same arithmetic in the same order, bit-identical).
      A row older than its entity's saved ``last_time`` cannot be continued: :func:`late_entities` finds those
      entities so the caller recomputes them from their full history.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numba
import numpy as np


class EwmaState(NamedTuple):
    """Final state per entity, arrays aligned and sorted by ``entity`` (one row per entity)."""

    entity: np.ndarray  # int64
    last_time: np.ndarray  # float64, time of the entity's last non-NaN row
    count: np.ndarray  # int64, non-NaN rows seen
    weight: np.ndarray  # float64, W
    weight_sq: np.ndarray  # float64, W2
    mean: np.ndarray  # float64, m
    m2: np.ndarray  # float64, M2


class EwmaResult(NamedTuple):
    """Per-row scores (aligned with the input rows) and the final state per entity."""

    mean_before: np.ndarray  # float64, weighted mean before the row (NaN for the entity's first row)
    std_before: np.ndarray  # float64, weighted standard deviation before the row (NaN when undefined)
    z: np.ndarray  # float64
    is_anomaly: np.ndarray  # bool
    n_prior: np.ndarray  # int64, non-NaN rows of the entity before this one
    state: EwmaState


def empty_state() -> EwmaState:
    """A state with no entities (what a first run continues from)."""
    f = np.empty(0, dtype=np.float64)
    i = np.empty(0, dtype=np.int64)
    return EwmaState(i, f, i.copy(), f.copy(), f.copy(), f.copy(), f.copy())


@numba.njit(cache=True)
def _ewma_pass(
    entity: np.ndarray,
    time: np.ndarray,
    value: np.ndarray,
    half_life: float,
    threshold: float,
    min_prior: int,
    init_index: np.ndarray,
    st_time: np.ndarray,
    st_count: np.ndarray,
    st_w: np.ndarray,
    st_w2: np.ndarray,
    st_mean: np.ndarray,
    st_m2: np.ndarray,
    out_mean: np.ndarray,
    out_std: np.ndarray,
    out_z: np.ndarray,
    out_flag: np.ndarray,
    out_prior: np.ndarray,
    fin_entity: np.ndarray,
    fin_time: np.ndarray,
    fin_count: np.ndarray,
    fin_w: np.ndarray,
    fin_w2: np.ndarray,
    fin_mean: np.ndarray,
    fin_m2: np.ndarray,
) -> int:
    """One pass; returns the number of entities written to ``fin_*`` (-1: unsorted input, -2: late row)."""
    n = entity.shape[0]
    n_ent = 0
    i = 0
    inv_half_life = 1.0 / half_life
    while i < n:
        ent = entity[i]
        k = init_index[i]
        if k >= 0:
            last_t = st_time[k]
            count = st_count[k]
            w = st_w[k]
            w2 = st_w2[k]
            mean = st_mean[k]
            m2 = st_m2[k]
        else:
            last_t = -np.inf
            count = 0
            w = 0.0
            w2 = 0.0
            mean = 0.0
            m2 = 0.0
        while i < n and entity[i] == ent:
            t = time[i]
            x = value[i]
            out_prior[i] = count
            if count >= 1:
                out_mean[i] = mean
            else:
                out_mean[i] = np.nan
            denom = w - w2 / w if count >= 1 else 0.0
            if count >= 2 and denom > 0.0:
                var = m2 / denom
                if var < 0.0:
                    var = 0.0
                std = math.sqrt(var)
            else:
                std = np.nan
            out_std[i] = std
            if t < last_t:
                return -2 if k >= 0 and t < st_time[k] else -1
            if math.isnan(x):
                out_z[i] = np.nan
                out_flag[i] = False
                i += 1
                continue
            if math.isnan(std):
                z = np.nan
            elif std > 0.0:
                z = (x - mean) / std
            elif x == mean:
                z = 0.0
            else:
                z = math.copysign(np.inf, x - mean)
            out_z[i] = z
            out_flag[i] = count >= min_prior and abs(z) > threshold
            # decay the state to time t, then add the row with weight 1
            if count > 0:
                d = 0.5 ** ((t - last_t) * inv_half_life)
                w *= d
                w2 *= d * d
                m2 *= d
            w_new = w + 1.0
            delta = x - mean
            mean = mean + delta / w_new
            m2 = m2 + delta * (x - mean)
            w = w_new
            w2 = w2 + 1.0
            count += 1
            last_t = t
            i += 1
        if i < n and entity[i] < ent:
            return -1
        fin_entity[n_ent] = ent
        fin_time[n_ent] = last_t
        fin_count[n_ent] = count
        fin_w[n_ent] = w
        fin_w2[n_ent] = w2
        fin_mean[n_ent] = mean
        fin_m2[n_ent] = m2
        n_ent += 1
    return n_ent


def _as_inputs(entity: np.ndarray, time: np.ndarray, value: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    entity = np.ascontiguousarray(entity, dtype=np.int64)
    time = np.ascontiguousarray(time, dtype=np.float64)
    value = np.ascontiguousarray(value, dtype=np.float64)
    if not (entity.ndim == time.ndim == value.ndim == 1) or not (entity.shape == time.shape == value.shape):
        raise ValueError("entity, time and value must be 1-d arrays of the same length")
    if np.isnan(time).any():
        raise ValueError("time must not contain NaN")
    return entity, time, value


def _state_index(entity: np.ndarray, state: EwmaState) -> np.ndarray:
    """Index into ``state`` of each row's entity, -1 where the entity has no saved state."""
    if state.entity.shape[0] == 0:
        return np.full(entity.shape[0], -1, dtype=np.int64)
    pos = np.searchsorted(state.entity, entity)
    pos_c = np.minimum(pos, state.entity.shape[0] - 1)
    return np.where(state.entity[pos_c] == entity, pos_c, -1).astype(np.int64)


def late_entities(entity: np.ndarray, time: np.ndarray, state: EwmaState) -> np.ndarray:
    """Entities that have a row older than their saved ``last_time`` (they need a recompute from full history).

    Args:
        entity: Entity id per new row (int64).
        time: Time per new row (float64 days).
        state: Saved state of an earlier run.

    Returns:
        Sorted unique int64 entity ids.
    """
    entity, time, _ = _as_inputs(entity, time, np.zeros(len(entity)))
    idx = _state_index(entity, state)
    has = idx >= 0
    late = np.zeros(entity.shape[0], dtype=bool)
    late[has] = time[has] < state.last_time[idx[has]]
    return np.unique(entity[late])


def ewma_scores(
    entity: np.ndarray,
    time: np.ndarray,
    value: np.ndarray,
    half_life: float,
    threshold: float = 3.0,
    min_prior: int = 5,
    state: EwmaState | None = None,
) -> EwmaResult:
    """Score each row against its entity's time-decayed EWMA mean/variance before it; see the module docstring.

    Args:
        entity: Entity id per row (int64), rows sorted by (entity, time).
        time: Time per row, float64 days (non-decreasing within an entity, no NaN).
        value: Value per row (float64; NaN rows are scored NaN and skipped).
        half_life: Half-life of the decay, in the unit of ``time`` (> 0).
        threshold: Flag rows with ``|z| > threshold``.
        min_prior: Flag only rows whose entity has at least this many prior non-NaN rows.
        state: Saved final state of an earlier run to continue from (None: start empty). Entities in the state
            but absent from these rows are carried over unchanged into the returned state.

    Returns:
        Per-row arrays and the final state per entity (sorted by entity).

    Raises:
        ValueError: Bad shapes or parameters, rows not sorted by (entity, time), or a row older than its
            entity's saved ``last_time`` (see :func:`late_entities`).
    """
    entity, time, value = _as_inputs(entity, time, value)
    if not (half_life > 0 and math.isfinite(half_life)):
        raise ValueError("half_life must be a positive finite number")
    if min_prior < 0:
        raise ValueError("min_prior must be >= 0")
    state = empty_state() if state is None else state
    n = entity.shape[0]
    init_index = _state_index(entity, state)
    out = [np.empty(n, dtype=np.float64) for _ in range(3)]
    flag = np.empty(n, dtype=np.bool_)
    prior = np.empty(n, dtype=np.int64)
    fin_entity = np.empty(n, dtype=np.int64)
    fin_count = np.empty(n, dtype=np.int64)
    fin = [np.empty(n, dtype=np.float64) for _ in range(5)]
    n_ent = _ewma_pass(
        entity,
        time,
        value,
        float(half_life),
        float(threshold),
        int(min_prior),
        init_index,
        np.ascontiguousarray(state.last_time, dtype=np.float64),
        np.ascontiguousarray(state.count, dtype=np.int64),
        np.ascontiguousarray(state.weight, dtype=np.float64),
        np.ascontiguousarray(state.weight_sq, dtype=np.float64),
        np.ascontiguousarray(state.mean, dtype=np.float64),
        np.ascontiguousarray(state.m2, dtype=np.float64),
        out[0],
        out[1],
        out[2],
        flag,
        prior,
        fin_entity,
        fin[0],
        fin_count,
        fin[1],
        fin[2],
        fin[3],
        fin[4],
    )
    if n_ent == -2:
        raise ValueError("a row is older than its entity's saved state (late row): recompute that entity")
    if n_ent < 0:
        raise ValueError("rows must be sorted by (entity, time)")
    new = EwmaState(
        fin_entity[:n_ent], fin[0][:n_ent], fin_count[:n_ent], fin[1][:n_ent], fin[2][:n_ent], fin[3][:n_ent],
        fin[4][:n_ent],
    )  # fmt: skip
    # entities without non-NaN rows here keep their saved state; new entities with only NaN rows stay empty
    untouched = ~np.isin(state.entity, new.entity)
    keep_new = new.count > 0
    merged = [np.concatenate([old[untouched], cur[keep_new]]) for old, cur in zip(state, new, strict=True)]
    order = np.argsort(merged[0], kind="stable")
    final = EwmaState(*(np.ascontiguousarray(a[order]) for a in merged))
    return EwmaResult(out[0], out[1], out[2], flag, prior, final)
