"""EWMA anomaly scores against a direct (non-incremental) pure-Python evaluation of the definition."""

from __future__ import annotations

import math

import numpy as np
import pytest

from numeric.ewma import empty_state, ewma_scores, late_entities


def reference_scores(entity, time, value, half_life, threshold, min_prior):
    """From the definition: weighted sums over all prior non-NaN rows of the entity, weights 0.5**(age/h)."""
    n = len(entity)
    mean_b, std_b, zs, flags, priors = [], [], [], [], []
    history: dict[int, list[tuple[float, float]]] = {}
    for i in range(n):
        rows = history.setdefault(int(entity[i]), [])
        t, x = float(time[i]), float(value[i])
        priors.append(len(rows))
        if rows:
            t_ref = rows[-1][0]
            ws = [0.5 ** ((t_ref - ti) / half_life) for ti, _ in rows]
            w_sum = math.fsum(ws)
            w2_sum = math.fsum(w * w for w in ws)
            m = math.fsum(w * xi for w, (_, xi) in zip(ws, rows, strict=True)) / w_sum
            mean_b.append(m)
            if len(rows) >= 2:
                m2 = math.fsum(w * (xi - m) ** 2 for w, (_, xi) in zip(ws, rows, strict=True))
                std = math.sqrt(m2 / (w_sum - w2_sum / w_sum))
            else:
                std = math.nan
        else:
            m, std = math.nan, math.nan
            mean_b.append(math.nan)
        std_b.append(std)
        if math.isnan(x) or math.isnan(std):
            z = math.nan
        elif std > 0:
            z = (x - m) / std
        else:
            z = 0.0 if x == m else math.copysign(math.inf, x - m)
        zs.append(z)
        flags.append((not math.isnan(x)) and len(rows) >= min_prior and abs(z) > threshold)
        if not math.isnan(x):
            rows.append((t, x))
    return np.array(mean_b), np.array(std_b), np.array(zs), np.array(flags), np.array(priors)


def make_rows(rng, n_entities=40, max_rows=60, nan_share=0.0):
    ents, times, vals = [], [], []
    for e in rng.choice(10_000, size=n_entities, replace=False):
        k = int(rng.integers(1, max_rows))
        gaps = rng.exponential(3.0, size=k) * (rng.random(k) > 0.1)  # irregular, some zero gaps (same time)
        t = 19_000.0 + np.cumsum(gaps)
        v = rng.lognormal(3.0, 0.6, size=k)
        v[rng.random(k) < 0.03] *= 20  # a few spikes
        v[rng.random(k) < nan_share] = np.nan
        ents.append(np.full(k, e))
        times.append(t)
        vals.append(v)
    ent = np.concatenate(ents).astype(np.int64)
    t = np.concatenate(times)
    v = np.concatenate(vals)
    order = np.lexsort((t, ent))
    return ent[order], t[order], v[order]


def assert_close(a, b, rtol=1e-8, atol=1e-12):
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, equal_nan=True)


@pytest.mark.parametrize("nan_share", [0.0, 0.1])
def test_equals_reference(nan_share):
    rng = np.random.default_rng(7)
    ent, t, v = make_rows(rng, nan_share=nan_share)
    res = ewma_scores(ent, t, v, half_life=10.0, threshold=2.0, min_prior=3)
    mean_b, std_b, z, flag, prior = reference_scores(ent, t, v, 10.0, 2.0, 3)
    assert_close(res.mean_before, mean_b)
    assert_close(res.std_before, std_b)
    assert_close(res.z, z)
    np.testing.assert_array_equal(res.is_anomaly, flag)
    np.testing.assert_array_equal(res.n_prior, prior)
    assert flag.sum() > 0  # the test data does have anomalies
    np.testing.assert_array_equal(res.state.entity, np.unique(ent[~np.isnan(v)]))  # all-NaN entities: no state


def test_irregular_gap_decay_is_exact():
    # two rows 10 days apart with half-life 10: the older row has weight exactly 1/2
    res = ewma_scores(np.zeros(3, np.int64), np.array([0.0, 10.0, 10.0]), np.array([1.0, 4.0, 0.0]), half_life=10.0)
    assert res.mean_before[2] == pytest.approx((0.5 * 1 + 4) / 1.5, rel=1e-15)
    assert res.state.weight[0] == pytest.approx(2.5, rel=1e-15)
    assert res.state.weight_sq[0] == pytest.approx(0.25 + 1 + 1, rel=1e-15)
    # a gap scales W, W2, M2 alike, so the mean/std before a row do not depend on the gap to it
    a = ewma_scores(np.zeros(4, np.int64), np.array([0.0, 1.0, 2.0, 3.0]), np.array([1.0, 2.0, 4.0, 9.0]), 5.0)
    b = ewma_scores(np.zeros(4, np.int64), np.array([0.0, 1.0, 2.0, 300.0]), np.array([1.0, 2.0, 4.0, 9.0]), 5.0)
    assert a.z[3] == b.z[3]


def test_min_prior_and_threshold():
    values = np.array([10.0, 11.0, 9.0, 10.0, 100.0, 100.0])
    ent = np.zeros(6, np.int64)
    t = np.arange(6, dtype=np.float64)
    res = ewma_scores(ent, t, values, half_life=1e9, threshold=3.0, min_prior=4)
    assert np.isnan(res.z[:2]).all()  # fewer than two prior rows
    np.testing.assert_array_equal(res.n_prior, np.arange(6))
    assert res.z[4] > 3 and res.is_anomaly[4]
    res5 = ewma_scores(ent, t, values, half_life=1e9, threshold=3.0, min_prior=5)
    assert not res5.is_anomaly[4]
    # with an infinite-like half-life the state is the plain sample mean/std
    assert res.mean_before[4] == pytest.approx(10.0)
    assert res.std_before[4] == pytest.approx(np.std(values[:4], ddof=1))


def test_zero_variance_and_nan():
    ent = np.zeros(5, np.int64)
    t = np.arange(5, dtype=np.float64)
    res = ewma_scores(ent, t, np.array([5.0, 5.0, np.nan, 5.0, 6.0]), half_life=2.0, threshold=3.0, min_prior=2)
    assert np.isnan(res.z[2]) and not res.is_anomaly[2]
    assert res.n_prior[3] == 2  # the NaN row does not count
    assert res.z[3] == 0.0
    assert res.z[4] == np.inf and res.is_anomaly[4]
    assert res.state.count[0] == 4


@pytest.mark.parametrize("split_seed", [1, 2, 3])
def test_continuing_from_saved_state_equals_one_pass(split_seed):
    rng = np.random.default_rng(11)
    ent, t, v = make_rows(rng, nan_share=0.05)
    full = ewma_scores(ent, t, v, half_life=7.0, threshold=2.5, min_prior=2)
    # split by a per-entity cut time: earlier rows form batch 1, later rows batch 2 (some entities only in one)
    cut = np.random.default_rng(split_seed).uniform(19_000, 19_150, size=ent.max() + 1)
    first = t < cut[ent]
    r1 = ewma_scores(ent[first], t[first], v[first], half_life=7.0, threshold=2.5, min_prior=2)
    r2 = ewma_scores(ent[~first], t[~first], v[~first], 7.0, 2.5, 2, state=r1.state)
    for name in ("mean_before", "std_before", "z", "is_anomaly", "n_prior"):
        combined = np.empty_like(getattr(full, name))
        combined[first] = getattr(r1, name)
        combined[~first] = getattr(r2, name)
        np.testing.assert_array_equal(combined, getattr(full, name), err_msg=name)  # bit-identical
    for a, b in zip(r2.state, full.state, strict=True):
        np.testing.assert_array_equal(a, b)


def test_unsorted_and_late_rows_raise():
    with pytest.raises(ValueError, match="sorted"):
        ewma_scores(np.array([0, 0]), np.array([2.0, 1.0]), np.array([1.0, 1.0]), 1.0)
    with pytest.raises(ValueError, match="sorted"):
        ewma_scores(np.array([1, 0]), np.array([1.0, 2.0]), np.array([1.0, 1.0]), 1.0)
    first = ewma_scores(np.array([0, 0, 1]), np.array([1.0, 5.0, 3.0]), np.array([1.0, 2.0, 3.0]), 1.0)
    ent, t = np.array([0, 1]), np.array([4.0, 3.0])  # entity 0 gets a row older than its last (5.0)
    np.testing.assert_array_equal(late_entities(ent, t, first.state), [0])
    with pytest.raises(ValueError, match="late"):
        ewma_scores(ent, t, np.array([1.0, 1.0]), 1.0, state=first.state)


def test_empty_input():
    res = ewma_scores(np.empty(0, np.int64), np.empty(0), np.empty(0), 3.0, state=empty_state())
    assert res.z.shape == (0,) and res.state.entity.shape == (0,)
