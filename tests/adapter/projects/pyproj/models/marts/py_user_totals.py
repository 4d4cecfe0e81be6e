"""Per-user totals computed in pandas from a SQL view (ref), with a config value the model reads."""

import pandas as pd


def model(dbt, session):
    dbt.config(materialized="table", bonus_cents=7)
    events = dbt.ref("stg_events").to_pandas()
    bonus = dbt.config.get("bonus_cents")
    totals = events.groupby("user_id", as_index=False).agg(events=("event_id", "count"), total=("amount", "sum"))
    totals["bonus_cents"] = bonus
    totals["is_incremental"] = dbt.is_incremental
    totals["this_relation"] = str(dbt.this)
    return pd.DataFrame(totals).sort_values("user_id")
