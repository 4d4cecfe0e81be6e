"""Checksums for idempotence tests: md5 over the business columns of every table, rows ordered by key.

dlt's bookkeeping (``_dlt_*`` tables and columns) is excluded, and so are run timestamps the caller names,
so two loads of the same data compare equal however many times and in whatever runs they happened.
"""

from __future__ import annotations

from collections.abc import Iterable

from psycopg import sql

from elt.connection import connect
from elt.warehouse_target import WarehouseTarget


def table_checksums(
    target: WarehouseTarget, schemas: Iterable[str], *, ignore_columns: Iterable[str] = ()
) -> dict[str, str]:
    """``{"schema.table": md5}`` for every base table of ``schemas`` (``_dlt_*`` tables and columns excluded).

    Rows are ordered by the table's primary key when it has one, else by all its business columns, so the
    checksum does not depend on physical order. ``ignore_columns`` names further columns to leave out.
    """
    ignored = set(ignore_columns)
    checksums = {}
    with connect(target) as conn:
        tables = conn.execute(
            """
            select table_schema, table_name from information_schema.tables
            where table_schema = any(%s) and table_type = 'BASE TABLE' and table_name not like '\\_dlt\\_%%'
            order by 1, 2
            """,
            (list(schemas),),
        ).fetchall()
        for schema, table in tables:
            columns = [
                name
                for (name,) in conn.execute(
                    """
                    select column_name from information_schema.columns
                    where table_schema = %s and table_name = %s order by ordinal_position
                    """,
                    (schema, table),
                ).fetchall()
                if not name.startswith("_dlt_") and name not in ignored
            ]
            key = [
                name
                for (name,) in conn.execute(
                    """
                    select a.attname from pg_index as i
                    join pg_attribute as a on a.attrelid = i.indrelid and a.attnum = any(i.indkey)
                    where i.indrelid = %s::regclass and i.indisprimary order by a.attnum
                    """,
                    (f'"{schema}"."{table}"',),
                ).fetchall()
                if name in columns
            ] or columns
            row = sql.SQL("row({})::text").format(sql.SQL(", ").join(map(sql.Identifier, columns)))
            order = sql.SQL(", ").join(map(sql.Identifier, key))
            query = sql.SQL("select md5(coalesce(string_agg({row}, E'\\n' order by {order}), '')) from {table}").format(
                row=row, order=order, table=sql.Identifier(schema, table)
            )
            checksums[f"{schema}.{table}"] = conn.execute(query).fetchone()[0]
    return checksums
