"""The operational application database (any SQLAlchemy URL) into ``raw_app``.

- ``users`` and ``orders``: incremental on ``updated_at`` (re-reading a ``lookback_seconds`` window, so rows
  committed late with an older timestamp are not missed), merged on ``id``. Soft deletes (``deleted_at``)
  propagate like any update.
- ``deleted_keys``: hard deletes. A key reconciliation compares the ids in the source with the ids already
  loaded; an id that disappeared is recorded (``is_deleted``, ``detected_at``) and its raw row is kept, so
  nothing is lost; an id that reappears is recorded as not deleted again. It runs when at least
  ``reconcile_interval_hours`` passed since the last reconciliation (0: every run).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import dlt
import numpy as np
import sqlalchemy as sa
from dlt.sources.sql_database import sql_table

APP_TABLES = ("users", "orders")
CURSOR_COLUMN = "updated_at"
DELETED_KEYS_TABLE = "deleted_keys"


@dlt.source(name="app_db")
def app_db_source(
    credentials: str = dlt.secrets.value,
    tables: Sequence[str] = APP_TABLES,
    lookback_seconds: int = 300,
    reconcile_interval_hours: float = 0,
    chunk_size: int = 50_000,
    updated_between: tuple[datetime, datetime] | None = None,
) -> Any:
    """Incremental, merged copies of the application tables, plus hard-delete detection.

    Args:
        credentials: SQLAlchemy URL of the application database.
        tables: Tables to copy; each needs an integer ``id`` primary key and an ``updated_at`` timestamp.
        lookback_seconds: Window re-read before the last ``updated_at`` seen (merge makes it idempotent).
        reconcile_interval_hours: Minimum time between two key reconciliations; 0 reconciles on every run.
        chunk_size: Rows per Arrow batch read from the source.
        updated_between: Backfill: re-read only rows with ``updated_at`` in ``[start, end)``; the incremental
            state is left as it is, and hard deletes are not reconciled.
    """
    _require_tables(credentials, tables)
    copies = [
        sql_table(
            credentials=credentials,
            table=table,
            incremental=_cursor(lookback_seconds, updated_between),
            primary_key="id",
            write_disposition="merge",
            backend="pyarrow",
            chunk_size=chunk_size,
            reflection_level="full_with_precision",
        )
        for table in tables
    ]
    if updated_between is not None:
        return copies
    return [*copies, deleted_keys(credentials, tuple(tables), reconcile_interval_hours)]


def _require_tables(credentials: str, tables: Sequence[str]) -> None:
    """Fail with the database and the missing tables named (dlt's reflection says only the table name)."""
    engine = sa.create_engine(credentials)
    try:
        present = set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()
    missing = [table for table in tables if table not in present]
    if missing:
        where = sa.engine.make_url(credentials).render_as_string(hide_password=True)
        found = ", ".join(sorted(present)) or "none"
        raise LookupError(f"the application database {where} has no table(s) {', '.join(missing)} (tables: {found})")


def _cursor(lookback_seconds: int, updated_between: tuple[datetime, datetime] | None) -> dlt.sources.incremental:
    if updated_between is None:
        return dlt.sources.incremental(CURSOR_COLUMN, lag=lookback_seconds, on_cursor_value_missing="raise")
    start, end = updated_between
    return dlt.sources.incremental(CURSOR_COLUMN, initial_value=start, end_value=end, on_cursor_value_missing="raise")


@dlt.resource(
    name=DELETED_KEYS_TABLE,
    write_disposition="merge",
    primary_key=["source_table", "id"],
    columns={
        "source_table": {"data_type": "text", "nullable": False},
        "id": {"data_type": "bigint", "nullable": False},
        "is_deleted": {"data_type": "bool", "nullable": False},
        "detected_at": {"data_type": "timestamp", "nullable": False},
    },
)
def deleted_keys(credentials: str, tables: tuple[str, ...], reconcile_interval_hours: float) -> Iterator[dict]:
    """Ids that disappeared from (or came back to) the source since they were loaded."""
    state = dlt.current.resource_state()
    now = datetime.now(UTC)
    last = state.get("reconciled_at")
    if last and now - datetime.fromisoformat(last) < timedelta(hours=reconcile_interval_hours):
        return
    engine = sa.create_engine(credentials)
    try:
        for table in tables:
            loaded, marked = _loaded_ids(table)
            if loaded.size == 0 and marked.size == 0:
                continue
            present = _source_ids(engine, table)
            for key in np.setdiff1d(np.setdiff1d(loaded, present), marked):
                yield {"source_table": table, "id": int(key), "is_deleted": True, "detected_at": now}
            for key in np.intersect1d(marked, present):
                yield {"source_table": table, "id": int(key), "is_deleted": False, "detected_at": now}
    finally:
        engine.dispose()
    state["reconciled_at"] = now.isoformat()


def _source_ids(engine: sa.Engine, table: str) -> np.ndarray:
    reflected = sa.Table(table, sa.MetaData(), autoload_with=engine)
    with engine.connect() as conn:
        ids = conn.execute(sa.select(reflected.c.id)).scalars().all()
    return np.asarray(ids, dtype=np.int64)


def _loaded_ids(table: str) -> tuple[np.ndarray, np.ndarray]:
    """Ids loaded into the raw copy of ``table``, and those currently marked deleted."""
    pipeline = dlt.current.pipeline()
    try:
        with pipeline.sql_client() as client:
            if not client.has_dataset():
                return np.empty(0, np.int64), np.empty(0, np.int64)
            loaded = client.execute_sql(f"select id from {client.make_qualified_table_name(table)}") or []
            try:
                marked = client.execute_sql(
                    f"select id from {client.make_qualified_table_name(DELETED_KEYS_TABLE)} "
                    "where source_table = %s and is_deleted",
                    table,
                )
            except dlt.destinations.exceptions.DatabaseUndefinedRelation:
                marked = []
    except dlt.destinations.exceptions.DatabaseUndefinedRelation:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    return (
        np.asarray([row[0] for row in loaded], dtype=np.int64),
        np.asarray([row[0] for row in marked or []], dtype=np.int64),
    )
