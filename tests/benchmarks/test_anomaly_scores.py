import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from benchmarks import anomaly_scores as bench
from benchmarks.harness import BenchmarkContext, resolve_references
from elt.connection import connect
from elt.errors import EltError


def test_transactions_are_sorted_seeded_whole_days_and_cents():
    data = bench.transactions(5000, seed=3)
    again = bench.transactions(5000, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip(data, again, strict=True))
    assert not np.array_equal(bench.transactions(5000, seed=4).value, data.value)
    assert data.user.shape == data.day.shape == data.value.shape == (5000,)
    order = np.lexsort((data.day, data.user))
    np.testing.assert_array_equal(order, np.arange(5000))
    assert (data.day == np.floor(data.day)).all()
    assert data.day.min() >= bench.FIRST_DAY and data.day.max() < bench.FIRST_DAY + bench.DAYS
    assert (data.value > 0).all() and np.allclose(data.value * 100, np.round(data.value * 100))
    assert bench.count_users(data) == np.unique(data.user).shape[0]


def test_anomaly_scores_benchmark_checks_both_references(warehouse, tmp_path):
    measured = resolve_references(bench.run(BenchmarkContext(warehouse, rows=2000, seed=9, workdir=tmp_path)))
    by_metric = {m.metric: m for m in measured}
    assert set(by_metric) == {
        "anomaly_scores.pandas_ewm",
        "anomaly_scores.kernel",
        "anomaly_scores.pandas_seconds",
        "anomaly_scores.kernel_seconds",
        "anomaly_scores.sql_recursive_cte",
        "anomaly_scores.kernel_sql_rows",
        "anomaly_scores.sql_seconds",
        "anomaly_scores.kernel_sql_rows_seconds",
        "anomaly_scores.pandas_max_difference",
        "anomaly_scores.sql_max_difference",
    }
    pandas_rate = by_metric["anomaly_scores.pandas_ewm"].value
    assert pandas_rate == pytest.approx(20_000 / by_metric["anomaly_scores.pandas_seconds"].value)
    assert by_metric["anomaly_scores.kernel"].reference == pandas_rate
    sql_rate = by_metric["anomaly_scores.sql_recursive_cte"].value
    assert sql_rate == pytest.approx(2000 / by_metric["anomaly_scores.sql_seconds"].value)
    assert by_metric["anomaly_scores.kernel_sql_rows"].reference == sql_rate
    for name in ("pandas_max_difference", "sql_max_difference"):
        assert 0 <= by_metric[f"anomaly_scores.{name}"].value <= bench.RTOL * 1e9
    # the CTE's table stays in the benchmark's database: one row per transaction, the same flags as the kernel
    data = bench.transactions(2000, seed=9)
    result = bench.score(data)
    with connect(warehouse) as conn:
        z = conn.execute("select z from anomaly_sql order by user_id, seq").fetchall()
    z = np.array([np.nan if v is None else v for (v,) in z])
    assert z.shape == (2000,)
    prior = result.n_prior
    assert np.array_equal(np.abs(z) > bench.THRESHOLD, (np.abs(result.z) > bench.THRESHOLD))
    assert np.array_equal((prior >= bench.MIN_PRIOR) & (np.abs(z) > bench.THRESHOLD), result.is_anomaly)
    assert result.is_anomaly.any()


def test_pandas_check_fails_when_the_results_differ():
    data = bench.transactions(3000, seed=5)
    result = bench.score(data)
    times = (data.day * 86400).astype(np.int64).astype("datetime64[s]")
    frame = pd.DataFrame({"user": data.user, "t": times, "x": data.value})
    bench.check_pandas(data, result, bench.pandas_moments(frame))
    stretched = frame.assign(t=(data.day * 86400 * 1.001).astype(np.int64).astype("datetime64[s]"))
    with pytest.raises(EltError, match="kernel and pandas differ"):
        bench.check_pandas(data, result, bench.pandas_moments(stretched))


def test_sql_check_fails_when_the_results_differ():
    data = bench.transactions(3000, seed=6)
    result = bench.score(data)
    mean, variance = bench.state_after_each_row(data, result)
    table = pa.table({"mean": mean, "variance": variance, "z": result.z})
    assert bench.check_sql(data, result, table) == (0.0, 0.0, 0.0)
    finite = np.flatnonzero(np.isfinite(result.z))
    z = result.z.copy()
    z[finite[10]] *= 1 + 1e-6
    with pytest.raises(EltError, match="differ"):
        bench.check_sql(data, result, table.set_column(2, "z", pa.array(z)))
    z = result.z.copy()
    z[finite[10]] = np.nan
    with pytest.raises(EltError, match="undefined or infinite"):
        bench.check_sql(data, result, table.set_column(2, "z", pa.array(z)))
