"""Incremental Python model (strategy merge): new or changed events since the last run."""

import pyarrow.compute as pc


def model(dbt, session):
    dbt.config(materialized="incremental", unique_key="event_id", incremental_strategy="merge")
    events = dbt.ref("stg_events")
    if dbt.is_incremental:
        latest = session.sql(f"select max(updated_at) as latest from {dbt.this}").column("latest")[0]
        events = events.filter(pc.greater(events.column("updated_at"), latest))
    return events
