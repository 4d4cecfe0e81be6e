"""The physical-limit baseline: raw ``COPY ... FROM STDIN`` of the generated transactions CSV.

The CSV is written first (not timed as part of the load), then streamed in blocks through psycopg 3's
``cursor.copy()`` into a table with a primary key on ``transaction_id`` -- the shape every real load of the
data set writes -- and again into the same table without the key. Each timed load is one transaction,
``COPY`` plus ``COMMIT``, after a ``CHECKPOINT`` when the user may run one (so the previous load's dirty pages
are not flushed on its time). The tables are created beforehand, outside the timed transaction (creating a
table in the loading transaction would let ``wal_level=minimal`` servers skip the WAL, which real loads do not).

Later benchmarks compare themselves with :data:`BASELINE_METRIC` (rows/s), measured in the same run.
"""

from __future__ import annotations

import time
from pathlib import Path

import psycopg
from psycopg import sql

from benchmarks.generate import TRANSACTION_COLUMNS, write_csv
from benchmarks.harness import MB, Benchmark, BenchmarkContext, Measurement, Usage, measure
from elt.connection import connect
from elt.errors import EltError

NAME = "raw_copy"
BASELINE_METRIC = f"{NAME}.keyed"
KEYED_TABLE = "transactions_keyed"
UNKEYED_TABLE = "transactions_unkeyed"
BLOCK_BYTES = 1 << 20


def create_table(conn: psycopg.Connection, table: str, *, keyed: bool) -> None:
    """Create ``table`` with the transactions' columns, with a primary key on ``transaction_id`` when ``keyed``."""
    columns = [sql.SQL("{} {}").format(sql.Identifier(name), sql.SQL(kind)) for name, kind in TRANSACTION_COLUMNS]
    if keyed:
        columns.append(sql.SQL("primary key ({})").format(sql.Identifier(TRANSACTION_COLUMNS[0][0])))
    conn.execute(sql.SQL("create table {} ({})").format(sql.Identifier(table), sql.SQL(", ").join(columns)))


def copy_csv(conn: psycopg.Connection, table: str, csv_path: Path, block_bytes: int = BLOCK_BYTES) -> int:
    """Stream a CSV file with a header line into ``table`` with ``COPY FROM STDIN``, in one transaction.

    Args:
        conn: An autocommit connection; the copy runs in its own transaction, committed before returning.
        table: Existing table with the columns of :data:`TRANSACTION_COLUMNS`.
        csv_path: The CSV file (as written by :func:`benchmarks.generate.write_csv`).
        block_bytes: Bytes read from the file and sent per write.

    Returns:
        Rows copied, as reported by the server.
    """
    statement = sql.SQL("copy {} ({}) from stdin with (format csv, header true)").format(
        sql.Identifier(table), sql.SQL(", ").join(sql.Identifier(name) for name, _ in TRANSACTION_COLUMNS)
    )
    with conn.transaction(), conn.cursor() as cursor:
        with cursor.copy(statement) as copy, csv_path.open("rb") as source:
            while block := source.read(block_bytes):
                copy.write(block)
        return cursor.rowcount


def run(ctx: BenchmarkContext) -> list[Measurement]:
    """Generate the CSV, then time ``COPY`` into the keyed and the unkeyed table of ``ctx.target``.

    Args:
        ctx: A fresh database, the row count and the data set's seed, a folder for the CSV.

    Returns:
        Generation rate and file size, load rates and times, the keyed table's size, the client's peak RSS.
    """
    with measure() as generation:
        csv = write_csv(ctx.workdir / "transactions.csv", ctx.rows, ctx.seed)
    loads: dict[str, float] = {}
    checkpointed = True
    with connect(ctx.target) as conn:
        for table in (KEYED_TABLE, UNKEYED_TABLE):
            create_table(conn, table, keyed=table == KEYED_TABLE)
        with measure() as client:
            for table in (KEYED_TABLE, UNKEYED_TABLE):
                checkpointed = _checkpoint(conn) and checkpointed
                start = time.perf_counter()
                copied = copy_csv(conn, table, csv.path)
                loads[table] = time.perf_counter() - start
                _check_count(conn, table, copied, ctx.rows)
        keyed_bytes = conn.execute("select pg_total_relation_size(%s)", (KEYED_TABLE,)).fetchone()[0]

    load_note = f"COPY + COMMIT of {ctx.rows:,} rows; " + ("after CHECKPOINT" if checkpointed else "no CHECKPOINT")
    return [
        Measurement(f"{NAME}.csv_generate", _rate(ctx.rows, generation.seconds), "rows/s", note="numpy, in process"),
        Measurement(f"{NAME}.csv_generate_peak_rss", generation.peak_rss_bytes / MB, "MB", note=_rss_note(generation)),
        Measurement(f"{NAME}.csv_size", csv.size_bytes / MB, "MB", note=f"{ctx.rows:,} rows + header"),
        Measurement(BASELINE_METRIC, _rate(ctx.rows, loads[KEYED_TABLE]), "rows/s", BASELINE_METRIC, note=load_note),
        Measurement(f"{NAME}.keyed_seconds", loads[KEYED_TABLE], "s", note=load_note),
        Measurement(
            f"{NAME}.unkeyed", _rate(ctx.rows, loads[UNKEYED_TABLE]), "rows/s", BASELINE_METRIC, note=load_note
        ),
        Measurement(f"{NAME}.unkeyed_seconds", loads[UNKEYED_TABLE], "s", note=load_note),
        Measurement(f"{NAME}.keyed_table_size", keyed_bytes / MB, "MB", note="pg_total_relation_size: heap + index"),
        Measurement(f"{NAME}.client_peak_rss", client.peak_rss_bytes / MB, "MB", note=_rss_note(client)),
    ]


BENCHMARK = Benchmark(NAME, "raw COPY of the generated CSV into a keyed table (the physical limit)", run)


def _checkpoint(conn: psycopg.Connection) -> bool:
    try:
        conn.execute("checkpoint")
    except psycopg.errors.InsufficientPrivilege:
        return False
    return True


def _rss_note(usage: Usage) -> str:
    exact = "" if usage.peak_rss_exact else " (lifetime peak, an upper bound)"
    return f"benchmark process{exact}; the server's memory is not included"


def _check_count(conn: psycopg.Connection, table: str, copied: int, expected: int) -> None:
    counted = conn.execute(sql.SQL("select count(*) from {}").format(sql.Identifier(table))).fetchone()[0]
    if not copied == counted == expected:
        raise EltError(f"{table}: COPY reported {copied} rows and the table holds {counted}, expected {expected}")


def _rate(rows: int, seconds: float) -> float:
    return rows / seconds if seconds > 0 else float("nan")
