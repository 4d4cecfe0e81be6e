"""Per user, in time order: time-decayed EWMA mean/variance of total_cost_usd and the z-score of each transaction.

Rows of fct_transactions are ordered per user by (transaction_date, transaction_id); times are days (same-day
transactions do not decay each other). Each transaction is scored against the user's state before it
(numeric.ewma: half-life var anomaly_half_life_days; flagged when |z| > anomaly_z_threshold after at least
anomaly_min_prior earlier transactions of the user).

The user's last scored row carries the user's final state (state_* columns; null on the other rows), so an
incremental run continues each user from it: it scores only transactions that are new since the last run
(fct_transactions rows this table does not hold) and re-emits the previous last row with its state cleared.
A user needs a recompute from the full history, and gets one, when a transaction of theirs changed (amount,
date or user: a corrected copy) or a new one sorts before their last scored row (a late row). Changing the
vars needs --full-refresh.

An incremental run reads only what it needs, never all of fct_transactions: the state rows, then the facts
loaded after their newest ``loaded_at`` minus ``incremental_lookback_hours`` (a new or corrected transaction always
comes with a new load; fct_transactions' index on loaded_at finds them), compared in SQL with their scored rows;
then the full history of the users to recompute. Facts loaded again without a change only get their new
``loaded_at``. Rows travel as Arrow tables: sorted by KEY in Arrow, amounts converted from exact cents.
"""

from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from numeric.ewma import EwmaState, ewma_scores

KEY = ["user_id", "transaction_date", "transaction_id"]
STATE_COLUMNS = ["state_count", "state_weight", "state_weight_sq", "state_mean", "state_m2"]
SCHEMA = pa.schema(
    [
        ("transaction_id", pa.string()),
        ("user_id", pa.int64()),
        ("transaction_date", pa.date32()),
        ("total_cost_usd", pa.decimal128(12, 2)),
        ("prior_transaction_count", pa.int64()),
        ("ewma_mean_before", pa.float64()),
        ("ewma_std_before", pa.float64()),
        ("z_score", pa.float64()),
        ("is_anomaly", pa.bool_()),
        ("state_count", pa.int64()),
        ("state_weight", pa.float64()),
        ("state_weight_sq", pa.float64()),
        ("state_mean", pa.float64()),
        ("state_m2", pa.float64()),
        ("loaded_at", pa.timestamp("us", tz="UTC")),
    ]
)
FACT_COLUMNS = ["transaction_id", "user_id", "transaction_date", "total_cost_usd", "loaded_at"]


def days(dates: pa.ChunkedArray) -> np.ndarray:
    """Dates as float64 days since 1970-01-01."""
    return dates.cast(pa.int32()).to_numpy().astype(np.float64)


def amounts(values: pa.ChunkedArray) -> np.ndarray:
    """Decimals as the nearest float64 (an exact integer of cents, divided: Arrow's own cast may be 1 ulp off)."""
    scale = values.type.scale
    unscaled = pc.multiply(values, pa.scalar(Decimal(10**scale))).cast(pa.int64())
    return unscaled.to_numpy() / 10.0**scale


def nullable(values: np.ndarray) -> pa.Array:
    """float64 with NaN (undefined) as null."""
    return pa.array(values, pa.float64(), mask=np.isnan(values))


def in_key_order(rows: pa.Table) -> pa.Table:
    """``rows`` sorted by KEY: each user's transactions in time order."""
    return rows.sort_by([(name, "ascending") for name in KEY])


def score(rows: pa.Table, settings: dict, state: EwmaState | None) -> pa.Table:
    """Score ``rows`` (sorted by KEY) continuing ``state``; the last row per user carries the final state."""
    n = rows.num_rows
    entity = np.asarray(rows.column("user_id").to_numpy(), dtype=np.int64)
    result = ewma_scores(
        entity,
        days(rows.column("transaction_date")),
        amounts(rows.column("total_cost_usd")),
        state=state,
        **settings,
    )
    last = np.ones(n, dtype=bool)
    last[:-1] = entity[1:] != entity[:-1]
    position = np.searchsorted(result.state.entity, entity[last])
    state_values = {}
    for column, values in zip(STATE_COLUMNS, result.state[2:], strict=True):
        full = np.zeros(n, dtype=values.dtype)
        full[last] = values[position]
        state_values[column] = pa.array(full, mask=~last)
    scored = pa.table(
        {
            "transaction_id": rows.column("transaction_id"),
            "user_id": entity,
            "transaction_date": rows.column("transaction_date"),
            "total_cost_usd": rows.column("total_cost_usd"),
            "prior_transaction_count": result.n_prior,
            "ewma_mean_before": nullable(result.mean_before),
            "ewma_std_before": nullable(result.std_before),
            "z_score": nullable(result.z),
            "is_anomaly": result.is_anomaly,
            **state_values,
            "loaded_at": rows.column("loaded_at"),
        }
    )
    return scored.cast(SCHEMA)


def differing(rows, stored):
    """The rows of ``rows`` that differ from the ``stored`` row of their transaction_id (nulls equal), or have none."""
    joined = rows.join(stored, "transaction_id", join_type="left outer", right_suffix="_stored")
    same = pa.array(np.ones(joined.num_rows, dtype=bool))
    for name in SCHEMA.names[1:]:
        ours, theirs = joined.column(name), joined.column(f"{name}_stored")
        equal = pc.or_kleene(pc.equal(ours, theirs), pc.and_(pc.is_null(ours), pc.is_null(theirs)))
        same = pc.and_(same, pc.fill_null(equal, False))
    return joined.filter(pc.invert(same)).select(SCHEMA.names)


def one_row_per_transaction(rows: pa.Table) -> pa.Table:
    """``rows``, checked to hold each transaction_id once.

    A full build writes such rows and every incremental run merges such rows by transaction_id, so the table
    stays unique without the daily run scanning it (the weekly full build still runs the uniqueness test).
    """
    repeated = rows.num_rows - pc.count_distinct(rows.column("transaction_id")).as_py()
    if repeated:
        counts = pc.value_counts(rows.column("transaction_id"))
        example = counts.filter(pc.greater(counts.field("counts"), 1))[0]["values"].as_py()
        raise ValueError(f"{repeated} rows repeat a transaction_id (e.g. {example!r}): nothing was written")
    return rows


def sibling(dbt, name):
    """A relation of this model's schema: fct_transactions is a mart too (schema names are fixed in this project)."""
    return f'"{dbt.this.database}"."{dbt.this.schema}"."{name}"'


def bigint_array(values):
    """A SQL literal of a bigint array."""
    return "'{" + ",".join(str(int(value)) for value in values) + "}'::bigint[]"


def model(dbt, session):
    """All transactions (first run, full refresh) or the new ones and the recomputed users (incremental)."""
    dbt.config(
        materialized="incremental",
        incremental_strategy="merge",
        unique_key="transaction_id",
        on_schema_change="append_new_columns",
    )
    settings = {
        "half_life": float(dbt.config.meta_get("anomaly_half_life_days")),
        "threshold": float(dbt.config.meta_get("anomaly_z_threshold")),
        "min_prior": int(dbt.config.meta_get("anomaly_min_prior")),
    }
    if not dbt.is_incremental:
        return one_row_per_transaction(
            score(in_key_order(dbt.ref("fct_transactions").select(FACT_COLUMNS)), settings, None)
        )

    facts_relation = sibling(dbt, "fct_transactions")
    lookback_hours = int(dbt.config.meta_get("incremental_lookback_hours"))
    # a table built before loaded_at was one of its columns: every fact is compared once, which stamps every row
    stamped = "loaded_at" in session.sql(f"select * from {dbt.this} limit 0").column_names
    columns = SCHEMA.names if stamped else [*SCHEMA.names[:-1], "null::timestamptz as loaded_at"]
    last_scored = session.sql(f"select {', '.join(columns)} from {dbt.this} where state_count is not null")
    last_rows = last_scored.to_pandas().set_index("user_id")
    # the newest loaded_at of the state rows, never newer than the table's newest: the window can only be wider
    newest = pc.max(last_scored.column("loaded_at")).as_py()
    cutoff = (
        f"'{newest.isoformat()}'::timestamptz - interval '{lookback_hours} hours'"
        if newest is not None
        else "'-infinity'::timestamptz"
    )
    kept = [name for name in SCHEMA.names if name not in ("transaction_id", "loaded_at")]
    candidates = session.sql(
        f"""
        select
            {", ".join(f"facts.{name}" for name in FACT_COLUMNS)},
            {", ".join(f"scored.{name} as {name}_old" for name in kept)},
            scored.transaction_id is null as is_new
        from {facts_relation} as facts
        left join {dbt.this} as scored on facts.transaction_id = scored.transaction_id
        where
            facts.loaded_at > {cutoff}
            and facts.loaded_at is distinct from {"scored.loaded_at" if stamped else "null::timestamptz"}
        """
    )
    compared = candidates.to_pandas()
    new = compared["is_new"].to_numpy(bool)
    changed = ~new & (
        (compared["user_id"] != compared["user_id_old"])
        | (compared["transaction_date"] != compared["transaction_date_old"])
        | (compared["total_cost_usd"] != compared["total_cost_usd_old"])
    ).to_numpy(bool)
    recompute = set(compared.loc[changed, "user_id"]) | set(compared.loc[changed, "user_id_old"].astype("int64"))

    arrivals = compared.loc[new, FACT_COLUMNS]
    last_keys = last_rows[["transaction_date", "transaction_id"]].add_suffix("_last")
    saved = arrivals.join(last_keys, on="user_id", how="inner")
    late = (saved["transaction_date"] < saved["transaction_date_last"]) | (
        (saved["transaction_date"] == saved["transaction_date_last"])
        & (saved["transaction_id"] < saved["transaction_id_last"])
    )
    recompute |= set(saved.loc[late, "user_id"])

    # loaded again without a change, user not recomputed: the scored row as it is, with its new loaded_at
    reloaded = candidates.filter(pa.array(~new & ~changed & ~compared["user_id"].isin(recompute).to_numpy(bool)))
    fresh = ("transaction_id", "loaded_at")
    reloaded = pa.table({name: reloaded.column(name if name in fresh else f"{name}_old") for name in SCHEMA.names})
    reloaded = reloaded.cast(SCHEMA)

    parts = []
    if recompute:
        users = bigint_array(recompute)
        history = session.sql(f"select {', '.join(FACT_COLUMNS)} from {facts_relation} where user_id = any({users})")
        rescored = score(in_key_order(history), settings, None)
        # a user's rows before their first changed one score the same (bit-identical): merge only the others
        stored = session.sql(f"select {', '.join(columns)} from {dbt.this} where user_id = any({users})")
        parts.append(differing(rescored, stored.cast(SCHEMA)))
    continuing = candidates.filter(pa.array(new & ~compared["user_id"].isin(recompute).to_numpy(bool)))
    continuing = in_key_order(continuing.select(FACT_COLUMNS))
    if continuing.num_rows:
        users_with_state = pc.is_in(last_scored.column("user_id"), pc.unique(continuing.column("user_id")))
        with_state = last_scored.filter(users_with_state).sort_by("user_id")
        state = EwmaState(
            np.asarray(with_state.column("user_id").to_numpy(), dtype=np.int64),
            days(with_state.column("transaction_date")),
            np.asarray(with_state.column("state_count").to_numpy(), dtype=np.int64),
            *(np.asarray(with_state.column(column).to_numpy(), dtype=np.float64) for column in STATE_COLUMNS[1:]),
        )
        parts.append(score(continuing, settings, state))
        # the previous last rows of these users no longer carry the state (a reloaded one takes its new loaded_at)
        cleared = with_state
        for column in STATE_COLUMNS:
            index = cleared.schema.get_field_index(column)
            cleared = cleared.set_column(index, column, pa.nulls(cleared.num_rows, SCHEMA.field(column).type))
        cleared = cleared.cast(SCHEMA)
        again = pc.is_in(reloaded.column("transaction_id"), cleared.column("transaction_id"))
        reloaded_at = dict(
            zip(
                reloaded.filter(again).column("transaction_id").to_pylist(),
                reloaded.filter(again).column("loaded_at").to_pylist(),
                strict=True,
            )
        )
        loaded_at = [
            reloaded_at.get(transaction_id, at)
            for transaction_id, at in zip(
                cleared.column("transaction_id").to_pylist(), cleared.column("loaded_at").to_pylist(), strict=True
            )
        ]
        index = cleared.schema.get_field_index("loaded_at")
        parts.append(cleared.set_column(index, "loaded_at", pa.array(loaded_at, SCHEMA.field("loaded_at").type)))
        reloaded = reloaded.filter(pc.invert(again))
    parts.append(reloaded)
    return one_row_per_transaction(pa.concat_tables(parts))
