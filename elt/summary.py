"""Row counts of every table in the warehouse's fixed schemas, for the end-of-run summary."""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import sql

from elt.bootstrap import DBT_SCHEMAS, RAW_SCHEMAS
from elt.connection import connect
from elt.warehouse_target import WarehouseTarget


@dataclass(frozen=True)
class RelationCount:
    """One relation of a fixed schema and its exact row count."""

    schema: str
    name: str
    kind: str
    rows: int


def count_relations(target: WarehouseTarget) -> list[RelationCount]:
    """Exact row counts of the tables and views in raw_* and the dbt schemas (dlt bookkeeping excluded)."""
    schemas = [*RAW_SCHEMAS, *DBT_SCHEMAS]
    with connect(target) as conn:
        relations = conn.execute(
            """
            select table_schema, table_name, case table_type when 'VIEW' then 'view' else 'table' end
            from information_schema.tables
            where table_schema = any(%s) and table_name not like '\\_dlt\\_%%'
            order by array_position(%s, table_schema::text), table_name
            """,
            (schemas, schemas),
        ).fetchall()
        counts = []
        for schema, name, kind in relations:
            query = sql.SQL("select count(*) from {}.{}").format(sql.Identifier(schema), sql.Identifier(name))
            counts.append(RelationCount(schema, name, kind, int(conn.execute(query).fetchone()[0])))
    return counts


def format_counts(counts: list[RelationCount]) -> str:
    """A fixed-width table: relation, kind, rows."""
    if not counts:
        return "  (no tables yet)"
    width = max(len(f"{c.schema}.{c.name}") for c in counts)
    return "\n".join(f"  {f'{c.schema}.{c.name}':<{width}}  {c.kind:<5}  {c.rows:>12,}" for c in counts)


def orphan_transactions(target: WarehouseTarget) -> tuple[int, int] | None:
    """(orphan, all) transactions in ``marts.fct_transactions`` (users unknown to the app), or None before a build."""
    with connect(target) as conn:
        exists = conn.execute("select to_regclass('marts.fct_transactions') is not null").fetchone()[0]
        if not exists:
            return None
        orphans, total = conn.execute(
            "select count(*) filter (where is_orphan), count(*) from marts.fct_transactions"
        ).fetchone()
    return int(orphans), int(total)


def describe_orphans(counts: tuple[int, int] | None) -> str:
    """One summary line on orphan transactions (the relationship test to users only warns about them)."""
    if counts is None:
        return "orphan transactions: marts.fct_transactions not built yet"
    orphans, total = counts
    return f"orphan transactions (user unknown to the app database): {orphans:,} of {total:,}"
