"""Benchmark: per-user time-decayed EWMA anomaly scores, the Numba kernel against pandas and a SQL recursive CTE.

Transactions are generated like the project's (``ctx.seed``): ``rows / 20`` users picked uniformly, whole-day
dates over two years (several transactions of a user may share a day), log-normal amounts in cents with 0.5 %
eight-fold spikes, sorted by (user, day). Half-life 30 days, threshold 3, five prior rows: the dbt model's
defaults. The kernel is :func:`numeric.ewma.ewma_scores` (JIT-compiled, or loaded from Numba's cache, before
timing); it scores every row against the state before it and returns the final state per user.

* **pandas**, on ``10 x rows`` transactions (10M at the default ``--rows``): ``groupby(user)`` +
  ``ewm(halflife=30 days, times=date).mean()`` of x and of x squared (pandas has no time-based ``ewm().var()``),
  timed from a DataFrame already in memory. Check: after every row, pandas' mean equals the kernel's state mean,
  and ``(mean(x^2) - mean^2) * W^2 / (W^2 - W2)`` (``W``, ``W2``: the sums of the decay weights and of their
  squares, from an independent per-user cumulative sum) equals the kernel's variance, to ``RTOL``.
* **SQL**, on ``rows`` transactions in PostgreSQL (the benchmark's throwaway database): a recursive CTE carrying
  each user's state from one transaction to the next (``seq`` = position in the user's history, primary key
  ``(user_id, seq)``), materialised with ``CREATE UNLOGGED TABLE ... AS`` under ``work_mem = 256MB`` (its fastest
  plan: the hash of the transactions stays in memory; with the default 4MB it spills to disk and is much slower).
  Check: the table's mean, variance and z of every row equal the kernel's.

Each side is timed as the best of several runs, in interleaved rounds (three kernel runs, then one run of the
reference, twice); the benchmark fails when a check does not hold.
"""

from __future__ import annotations

import io
from typing import NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
from psycopg import Connection, sql

from benchmarks.harness import Benchmark, BenchmarkContext, Measurement, interleaved_best_times
from elt.connection import connect
from elt.errors import EltError
from numeric.ewma import EwmaResult, ewma_scores

NAME = "anomaly_scores"
PANDAS_METRIC = f"{NAME}.pandas_ewm"
SQL_METRIC = f"{NAME}.sql_recursive_cte"
HALF_LIFE_DAYS = 30.0
THRESHOLD = 3.0
MIN_PRIOR = 5
TRANSACTIONS_PER_USER = 20
DAYS = 730
FIRST_DAY = 19723.0  # 2024-01-01, days since 1970-01-01
PANDAS_ROWS_FACTOR = 10
RTOL = 1e-8
# pandas' variance mean(x^2) - mean^2 cancels: its absolute error is a few ulps of mean(x^2)
CANCELLATION = 1e-12
# z = (x - mean) / std: an absolute error of a few ulps of x / std where x is close to the mean
Z_ATOL = 1e-9
ROUNDS = 2
KERNEL_PER_ROUND = 3
KERNEL_REPEATS = ROUNDS * KERNEL_PER_ROUND
SQL_WORK_MEM = "256MB"

CTE = """
create unlogged table anomaly_sql as
with recursive state (user_id, seq, day, x, n, w, w2, mean, m2, z) as (
    select user_id, seq, day, x, 1, 1.0::float8, 1.0::float8, x, 0.0::float8, null::float8
    from transactions
    where seq = 1
    union all
    select
        t.user_id,
        t.seq,
        t.day,
        t.x,
        s.n + 1,
        s.w * d.f + 1,
        s.w2 * d.f * d.f + 1,
        s.mean + (t.x - s.mean) / (s.w * d.f + 1),
        s.m2 * d.f + (t.x - s.mean) * (t.x - (s.mean + (t.x - s.mean) / (s.w * d.f + 1))),
        case
            when s.n < 2 or s.w - s.w2 / s.w <= 0 then null
            when s.m2 > 0 then (t.x - s.mean) / sqrt(s.m2 / (s.w - s.w2 / s.w))
            when t.x = s.mean then 0
            else sign(t.x - s.mean) * 'Infinity'::float8
        end
    from state as s
    inner join transactions as t on t.user_id = s.user_id and t.seq = s.seq + 1
    cross join lateral (select power(0.5::float8, (t.day - s.day) / {half_life}) as f) as d
)
select
    user_id,
    seq,
    mean,
    case when n >= 2 and w - w2 / w > 0 then greatest(m2, 0) / (w - w2 / w) end as variance,
    z
from state
"""


class Transactions(NamedTuple):
    """Generated transactions, sorted by (user, day)."""

    user: np.ndarray  # int64
    day: np.ndarray  # float64, days since 1970-01-01 (whole days)
    value: np.ndarray  # float64, dollars with cents


def transactions(n: int, seed: int) -> Transactions:
    """``n`` seeded transactions of ``n / 20`` users (see the module docstring), sorted by (user, day)."""
    rng = np.random.default_rng(seed)
    users = max(1, n // TRANSACTIONS_PER_USER)
    key = np.sort(rng.integers(0, users, n) * DAYS + rng.integers(0, DAYS, n))
    spikes = np.where(rng.random(n) < 0.005, 8.0, 1.0)
    value = np.round(rng.lognormal(3.5, 0.6, n) * spikes, 2)
    return Transactions(key // DAYS, FIRST_DAY + (key % DAYS).astype(np.float64), value)


def score(data: Transactions) -> EwmaResult:
    """The kernel with the benchmark's settings."""
    return ewma_scores(data.user, data.day, data.value, HALF_LIFE_DAYS, THRESHOLD, MIN_PRIOR)


def state_after_each_row(data: Transactions, result: EwmaResult) -> tuple[np.ndarray, np.ndarray]:
    """The kernel's mean and (unbiased) variance after each row: before the user's next row, or the final state.

    Returns:
        (mean, variance) per row; the variance is NaN where it is undefined (fewer than two rows).
    """
    last = np.append(data.user[1:] != data.user[:-1], True)
    mean = np.empty(data.user.shape[0])
    variance = np.empty(data.user.shape[0])
    mean[:-1] = result.mean_before[1:]
    variance[:-1] = result.std_before[1:] ** 2
    state = result.state  # one row per user, sorted like the users' last rows
    denominator = state.weight - state.weight_sq / state.weight
    defined = (state.count >= 2) & (denominator > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        final_variance = np.where(defined, np.maximum(state.m2, 0.0) / denominator, np.nan)
    mean[last] = state.mean
    variance[last] = final_variance
    return mean, variance


def decay_weight_sums(data: Transactions) -> tuple[np.ndarray, np.ndarray]:
    """Per row, ``W = sum 0.5 ** ((t - t_i) / h)`` and ``W2 = sum 0.25 ** ((t - t_i) / h)`` over the user's rows so far.

    Computed as ``2 ** (-(t - t0) / h) * cumsum(2 ** ((t_i - t0) / h))`` per user (``t0`` the user's first day),
    independently of both implementations.
    """
    frame = pd.DataFrame({"user": data.user, "day": data.day})
    elapsed = (frame["day"] - frame.groupby("user")["day"].transform("min")) / HALF_LIFE_DAYS
    growth = np.exp2(elapsed)
    frame["a"], frame["a2"] = growth, growth * growth
    sums = frame.groupby("user")[["a", "a2"]].cumsum()
    return sums["a"].to_numpy() / growth, sums["a2"].to_numpy() / (growth * growth)


def pandas_moments(frame: pd.DataFrame) -> pd.DataFrame:
    """Time-decayed EWMA by pandas of x and of x squared per user (columns ``x``, ``x2``), in the frame's order."""
    halflife = pd.Timedelta(days=HALF_LIFE_DAYS)
    with_square = frame.assign(x2=frame["x"] * frame["x"])
    return with_square.groupby("user", sort=False)[["x", "x2"]].ewm(halflife=halflife, times=frame["t"]).mean()


def relative_difference(mine: np.ndarray, theirs: np.ndarray, floor: np.ndarray | float = 0.0) -> float:
    """Largest ``|mine - theirs| / (|theirs| + floor / RTOL)``: at most RTOL when they agree (NaN must match)."""
    if not np.array_equal(np.isnan(mine), np.isnan(theirs)):
        return float("inf")
    both = ~np.isnan(theirs)
    scale = np.abs(theirs[both]) + np.broadcast_to(floor, theirs.shape)[both] / RTOL
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.abs(mine[both] - theirs[both]) / scale
    ratio = np.where(mine[both] == theirs[both], 0.0, ratio)
    return float(ratio.max(initial=0.0))


def check_pandas(data: Transactions, result: EwmaResult, moments: pd.DataFrame) -> tuple[float, float]:
    """Compare pandas' moments with the kernel's state after each row; raise EltError when they differ."""
    rows = moments.index.get_level_values(-1).to_numpy()
    if not np.array_equal(rows, np.arange(rows.shape[0])):
        raise EltError(f"{NAME}: pandas returned the rows in another order")
    mean, variance = state_after_each_row(data, result)
    pandas_mean, pandas_square = moments["x"].to_numpy(), moments["x2"].to_numpy()
    weight, weight_sq = decay_weight_sums(data)
    count = pd.Series(data.user).groupby(data.user).cumcount().to_numpy() + 1
    unbiased = weight * weight - weight_sq
    with np.errstate(divide="ignore", invalid="ignore"):
        pandas_variance = np.where(
            (count >= 2) & (unbiased > 0),
            (pandas_square - pandas_mean * pandas_mean) * weight * weight / unbiased,
            np.nan,
        )
    mean_difference = relative_difference(mean, pandas_mean)
    floor = CANCELLATION * pandas_square * weight * weight / np.where(unbiased > 0, unbiased, 1.0)
    variance_difference = relative_difference(variance, pandas_variance, floor)
    if not (mean_difference <= RTOL and variance_difference <= RTOL):
        raise EltError(
            f"{NAME}: kernel and pandas differ: means by {mean_difference:.3g}, variances by "
            f"{variance_difference:.3g} (relative, tolerance {RTOL})"
        )
    return mean_difference, variance_difference


def load_transactions(conn: Connection, data: Transactions) -> None:
    """Create ``transactions (user_id, seq, day, x)`` keyed by (user_id, seq) and COPY the rows into it."""
    n = data.user.shape[0]
    first = np.flatnonzero(np.append(True, data.user[1:] != data.user[:-1]))
    seq = np.arange(n) - np.repeat(first, np.diff(np.append(first, n))) + 1
    conn.execute(
        "create table transactions (user_id bigint, seq integer, day float8, x float8, primary key (user_id, seq))"
    )
    csv = io.BytesIO()  # shortest round-trip decimal forms: the server parses back the same doubles
    pa_csv.write_csv(pa.table({"user_id": data.user, "seq": seq, "day": data.day, "x": data.value}), csv)
    with conn.cursor() as cursor, cursor.copy("copy transactions from stdin with (format csv, header true)") as copy:
        copy.write(csv.getvalue())
    conn.execute("analyze transactions")


def run_cte(conn: Connection) -> None:
    """(Re)create ``anomaly_sql`` with the recursive CTE, in one transaction with the benchmark's work_mem."""
    conn.execute("drop table if exists anomaly_sql")
    with conn.transaction():
        conn.execute(f"set local work_mem = '{SQL_WORK_MEM}'")
        conn.execute(sql.SQL(CTE).format(half_life=sql.Literal(HALF_LIFE_DAYS)))


def fetch_cte(conn: Connection) -> pa.Table:
    """``anomaly_sql`` in (user_id, seq) order, via COPY (no rows of the CTE are Python objects)."""
    out = io.BytesIO()
    query = "copy (select mean, variance, z from anomaly_sql order by user_id, seq) to stdout (format csv, header)"
    with conn.cursor() as cursor, cursor.copy(query) as copy:
        for block in copy:
            out.write(block)
    return pa_csv.read_csv(io.BytesIO(out.getvalue()))


def check_sql(data: Transactions, result: EwmaResult, table: pa.Table) -> tuple[float, float, float]:
    """Compare the CTE's mean, variance and z per row with the kernel's; raise EltError when they differ."""
    if table.num_rows != data.user.shape[0]:
        raise EltError(f"{NAME}: the recursive CTE returned {table.num_rows} rows for {data.user.shape[0]}")
    mean, variance = state_after_each_row(data, result)
    sql_mean, sql_variance, sql_z = (
        table[c].to_numpy(zero_copy_only=False).astype(np.float64) for c in ("mean", "variance", "z")
    )
    finite, infinite = np.isfinite(result.z), np.isinf(result.z)
    if not (
        np.array_equal(np.isfinite(sql_z), finite)
        and np.array_equal(np.isinf(sql_z), infinite)
        and np.array_equal(sql_z[infinite], result.z[infinite])
    ):
        raise EltError(f"{NAME}: the recursive CTE's z is undefined or infinite on other rows than the kernel's")
    differences = (
        relative_difference(mean, sql_mean),
        relative_difference(variance, sql_variance),
        relative_difference(result.z[finite], sql_z[finite], Z_ATOL),
    )
    if not max(differences) <= RTOL:
        raise EltError(
            f"{NAME}: kernel and recursive CTE differ (mean, variance, z): {differences} (relative, tolerance {RTOL})"
        )
    return differences


def run(ctx: BenchmarkContext) -> list[Measurement]:
    """Time the kernel against pandas (10 x rows) and against the recursive CTE (rows); check all agree."""
    big = transactions(ctx.rows * PANDAS_ROWS_FACTOR, ctx.seed)
    score(Transactions(*(v[:100] for v in big)))  # compile or load the kernel
    times = (big.day * 86400).astype(np.int64).astype("datetime64[s]")
    frame = pd.DataFrame({"user": big.user, "t": times, "x": big.value})
    (kernel_seconds, result), (pandas_seconds, moments) = interleaved_best_times(
        [(lambda: score(big), KERNEL_PER_ROUND), (lambda: pandas_moments(frame), 1)], ROUNDS
    )
    pandas_mean_diff, pandas_variance_diff = check_pandas(big, result, moments)

    small = transactions(ctx.rows, ctx.seed)
    with connect(ctx.target) as conn:
        load_transactions(conn, small)
        (small_seconds, small_result), (sql_seconds, _) = interleaved_best_times(
            [(lambda: score(small), KERNEL_PER_ROUND), (lambda: run_cte(conn), 1)], ROUNDS
        )
        sql_differences = check_sql(small, small_result, fetch_cte(conn))

    n_big, n_small = big.user.shape[0], small.user.shape[0]
    big_shape = f"{n_big:,} transactions of {count_users(big):,} users"
    small_shape = f"{n_small:,} transactions of {count_users(small):,} users"
    return [
        Measurement(
            PANDAS_METRIC,
            n_big / pandas_seconds,
            "rows/s",
            PANDAS_METRIC,
            note=f"groupby + ewm(halflife, times).mean() of x and x^2, best of {ROUNDS}; {big_shape}",
        ),
        Measurement(
            f"{NAME}.kernel",
            n_big / kernel_seconds,
            "rows/s",
            PANDAS_METRIC,
            note=f"numeric.ewma.ewma_scores, best of {KERNEL_REPEATS}; {big_shape}",
        ),
        Measurement(f"{NAME}.pandas_seconds", pandas_seconds, "s", note=big_shape),
        Measurement(f"{NAME}.kernel_seconds", kernel_seconds, "s", note=big_shape),
        Measurement(
            SQL_METRIC,
            n_small / sql_seconds,
            "rows/s",
            SQL_METRIC,
            note=f"recursive CTE, CREATE UNLOGGED TABLE AS, work_mem {SQL_WORK_MEM}, best of {ROUNDS}; {small_shape}",
        ),
        Measurement(
            f"{NAME}.kernel_sql_rows",
            n_small / small_seconds,
            "rows/s",
            SQL_METRIC,
            note=f"numeric.ewma.ewma_scores, best of {KERNEL_REPEATS}; {small_shape}",
        ),
        Measurement(f"{NAME}.sql_seconds", sql_seconds, "s", note=small_shape),
        Measurement(f"{NAME}.kernel_sql_rows_seconds", small_seconds, "s", note=small_shape),
        Measurement(
            f"{NAME}.pandas_max_difference",
            max(pandas_mean_diff, pandas_variance_diff) * 1e9,
            "ppb",
            note=f"largest relative difference of means ({pandas_mean_diff:.3g}) and variances "
            f"({pandas_variance_diff:.3g}) after each row, kernel vs pandas (must be <= {RTOL})",
        ),
        Measurement(
            f"{NAME}.sql_max_difference",
            max(sql_differences) * 1e9,
            "ppb",
            note="largest relative difference of mean, variance, z per row, kernel vs recursive CTE "
            f"({', '.join(f'{d:.3g}' for d in sql_differences)}; must be <= {RTOL})",
        ),
    ]


def count_users(data: Transactions) -> int:
    """Number of distinct users (the rows are sorted by user)."""
    return int(np.count_nonzero(data.user[1:] != data.user[:-1])) + 1


BENCHMARK = Benchmark(
    NAME,
    "EWMA anomaly scores: Numba kernel vs pandas ewm (10 x --rows) and a SQL recursive CTE (--rows)",
    run,
)
