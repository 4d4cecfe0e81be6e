"""``raw_transactions.transactions`` written with COPY, one PostgreSQL transaction per file.

The valid rows of a file do not travel through dlt's load package (Arrow -> CSV normalize, then a merge that
deletes and re-inserts through a staging table): that path ran far below the raw keyed ``COPY`` and held far
more memory (benchmarks/README.md, ``transactions_load``). Instead, per file:

1. the validated batches stream with ``COPY`` into a temporary table (no WAL, no index); the lineage that is
   the same for every record of the file (path, modification time, the prefix of ``_source_rank``) is not
   sent but added in SQL;
2. one sort keeps the latest copy of each ``transaction_id`` (highest ``_source_rank``) and looks up the
   rank already loaded;
3. loaded ids with a lower or equal rank are updated (equal: the same copy read again, e.g. by a backfill,
   which gets the new load id so that incremental models downstream see it again), new ids are inserted in
   key order (a sorted insert into the primary-key index is cheaper than ``COPY``'s random-order one);
4. commit. A file that fails halfway rolls back: nothing of it is loaded.

Rows carry the ``_dlt_load_id`` of the run's load package. Reading a file again changes no business column,
so a crash between this commit and dlt's state commit is harmless: the next run reads the file again. The
table has a primary key on ``transaction_id``. dlt's schema does not list it (``elt reset`` drops it too).
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
from psycopg import sql

from extract_load.transactions.contract import (
    RANK_ROW_DIGITS,
    SOURCE_FILE,
    SOURCE_MODIFIED_AT,
    SOURCE_RANK,
    SOURCE_ROW_NUMBER,
    TRANSACTION_COLUMN_HINTS,
    TRANSACTION_ID,
    SourceFile,
)

TRANSACTIONS_TABLE = "transactions"
LOAD_ID = "_dlt_load_id"
# columns the same for every record of a file (or of the run): set in SQL, not sent with COPY
_PER_FILE = (SOURCE_FILE, SOURCE_MODIFIED_AT, SOURCE_RANK, LOAD_ID)
# the PostgreSQL types dlt gives these hints (the table looks as if dlt had created it)
_DLT_TYPES = {"text": "varchar", "bigint": "bigint", "date": "date", "timestamp": "timestamp with time zone"}
# memory to sort a few million rows and keep a file's temporary table in local buffers; index lookups costed
# as on SSDs, so that a small file probes the primary key instead of scanning the whole table
SESSION_SETTINGS = {"work_mem": "256MB", "temp_buffers": "256MB", "random_page_cost": "1.1"}
_CSV = pacsv.WriteOptions(include_header=False)
FILLFACTOR = 90


class RawTableLayoutError(RuntimeError):
    """The existing table is not laid out as this module writes it (e.g. no primary key)."""


def column_type(hint: dict) -> str:
    """The PostgreSQL type dlt gives a column with this hint."""
    if hint["data_type"] == "decimal":
        return f"numeric({hint['precision']}, {hint['scale']})"
    return _DLT_TYPES[hint["data_type"]]


class RawTransactionsTable:
    """The keyed raw table of one dataset, on a connection of its own (the loader's credentials)."""

    def __init__(self, conninfo: str, schema: str, load_id: str) -> None:
        self._conn = psycopg.connect(conninfo)
        self._schema = schema
        self._table = sql.Identifier(schema, TRANSACTIONS_TABLE)
        self._load_id = load_id
        for name, value in SESSION_SETTINGS.items():
            self._conn.execute(sql.SQL("set {} = {}").format(sql.Identifier(name), sql.Literal(value)))
        self._columns = self._ensure_table()
        self._conn.commit()

    def close(self) -> None:
        """Close the connection (rolling back a file still open)."""
        self._conn.close()

    def __enter__(self) -> RawTransactionsTable:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def file(self, source: SourceFile) -> Iterator[FileMerge]:
        """One file's transaction: write its batches to the yielded merge; commits on exit, rolls back on error."""
        sent = sql.SQL(", ").join(sql.Identifier(name) for name in self._columns if name not in _PER_FILE)
        # one writer at a time (readers are not blocked): the merge's lookups stay valid until its commit
        self._conn.execute(sql.SQL("lock table {} in share row exclusive mode").format(self._table))
        self._conn.execute(
            sql.SQL("create temporary table incoming on commit drop as select {} from {} with no data").format(
                sent, self._table
            )
        )
        merge = FileMerge(self)
        try:
            yield merge
            merge.finish()
            self._merge(source)
            self._conn.commit()
        except BaseException:
            merge.finish(raise_error=False)
            self._conn.rollback()
            raise

    def write(self, batch: pa.Table) -> None:
        """COPY validated rows (without per-file lineage) into the open file's temporary table.

        A column the table does not have yet (a further column of the file) is added as text.
        """
        for name in batch.column_names:
            if name not in self._columns:
                self._add_column(name)
        columns = sql.SQL(", ").join(map(sql.Identifier, batch.column_names))
        buffer = pa.BufferOutputStream()
        pacsv.write_csv(batch, buffer, _CSV)
        with self._conn.cursor().copy(sql.SQL("copy incoming ({}) from stdin (format csv)").format(columns)) as copy:
            copy.write(memoryview(buffer.getvalue()))

    def _ensure_table(self) -> list[str]:
        exists = self._conn.execute("select 1 from pg_namespace where nspname = %s", (self._schema,)).fetchone()
        if not exists:
            self._conn.execute(sql.SQL("create schema {}").format(sql.Identifier(self._schema)))
        definitions = [
            sql.SQL("{} {}{}").format(
                sql.Identifier(name),
                sql.SQL(column_type(hint)),
                sql.SQL("" if hint.get("nullable", True) else " not null"),
            )
            for name, hint in TRANSACTION_COLUMN_HINTS.items()
        ]
        definitions.append(sql.SQL("{} varchar not null").format(sql.Identifier(LOAD_ID)))
        definitions.append(sql.SQL("primary key ({})").format(sql.Identifier(TRANSACTION_ID)))
        # fillfactor: room on each page so that a later copy of a row is written beside it (a HOT update,
        # no new primary-key entry): re-delivered rows cost less, for 10% more pages
        self._conn.execute(
            sql.SQL("create table if not exists {} ({}) with (fillfactor = {})").format(
                self._table, sql.SQL(", ").join(definitions), sql.Literal(FILLFACTOR)
            )
        )
        keyed = self._conn.execute(
            "select 1 from pg_index where indrelid = %s::regclass and indisprimary",
            (self._table.as_string(self._conn),),
        ).fetchone()
        if not keyed:
            raise RawTableLayoutError(
                f"{self._schema}.{TRANSACTIONS_TABLE} has no primary key: it was created by an earlier version "
                "of this pipeline; run `elt reset transactions --yes`, then load again (the files are reread)"
            )
        return [
            name
            for (name,) in self._conn.execute(
                "select column_name from information_schema.columns where table_schema = %s and table_name = %s "
                "order by ordinal_position",
                (self._schema, TRANSACTIONS_TABLE),
            ).fetchall()
        ]

    def _add_column(self, name: str) -> None:
        for table in (self._table, sql.Identifier("incoming")):
            self._conn.execute(
                sql.SQL("alter table {} add column if not exists {} varchar").format(table, sql.Identifier(name))
            )
        self._columns.append(name)

    def _merge(self, source: SourceFile) -> None:
        """Keep the file's latest copy of each id; update loaded ids it outranks, insert new ids in key order.

        The update finds its rows by the physical address the lookup returned (no second index probe); the
        table lock taken when the file began keeps other writers out until the commit.
        """
        sent = [name for name in self._columns if name not in _PER_FILE]
        values = {
            SOURCE_FILE: sql.Literal(source.path),
            SOURCE_MODIFIED_AT: sql.Literal(datetime.fromtimestamp(source.modified_at_us / 1e6, tz=UTC)),
            SOURCE_RANK: sql.Identifier("latest", SOURCE_RANK),
            LOAD_ID: sql.Literal(self._load_id),
            **{name: sql.Identifier("latest", name) for name in sent},
        }
        targets = list(values)
        key, rank, row = (sql.Identifier(name) for name in (TRANSACTION_ID, SOURCE_RANK, SOURCE_ROW_NUMBER))
        rank_of_row = sql.SQL("{} || lpad(incoming.{}::text, {}, '0')").format(
            sql.Literal(source.rank_prefix()), row, sql.Literal(RANK_ROW_DIGITS)
        )
        self._conn.execute("analyze incoming")
        self._conn.execute(
            sql.SQL(
                "with latest as materialized ("
                " select distinct on (incoming.{key}) incoming.*, {rank_of_row} as {rank},"
                " loaded.{rank} as loaded_rank, loaded.ctid as loaded_row"
                " from incoming left join {table} as loaded on loaded.{key} = incoming.{key}"
                " order by incoming.{key}, incoming.{row} desc"
                "), updated as ("
                " update {table} as loaded set ({targets}) = ({values}) from latest"
                " where latest.loaded_rank is not null and latest.{rank} >= latest.loaded_rank"
                " and loaded.ctid = latest.loaded_row"
                ")"
                " insert into {table} ({targets}) select {values} from latest"
                " where latest.loaded_rank is null order by latest.{key}"
            ).format(
                key=key,
                rank=rank,
                row=row,
                rank_of_row=rank_of_row,
                table=self._table,
                targets=sql.SQL(", ").join(map(sql.Identifier, targets)),
                values=sql.SQL(", ").join(values.values()),
            )
        )


class FileMerge:
    """The open transaction of one file: ``write`` hands its validated batches to a writer thread.

    The writer encodes each batch as CSV and streams it with ``COPY`` while the caller reads and validates
    the next one (Arrow and psycopg release the GIL); at most ``QUEUED_BATCHES`` wait, so memory stays flat.
    A writer error is raised by the next ``write`` or by ``finish``.
    """

    QUEUED_BATCHES = 2

    def __init__(self, table: RawTransactionsTable) -> None:
        self._table = table
        self._queue: queue.Queue[pa.Table | None] = queue.Queue(maxsize=self.QUEUED_BATCHES)
        self._error: BaseException | None = None
        self._writer = threading.Thread(target=self._drain, name="raw-transactions-copy", daemon=True)
        self._writer.start()

    def write(self, batch: pa.Table) -> None:
        """Add a batch of validated rows to the file's transaction."""
        if self._error is not None:
            raise self._error
        if batch.num_rows:
            self._queue.put(batch)

    def finish(self, *, raise_error: bool = True) -> None:
        """Wait until every batch is written (the connection is the caller's again); raise a writer error."""
        if self._writer.is_alive():
            self._queue.put(None)
            self._writer.join()
        if raise_error and self._error is not None:
            raise self._error

    def _drain(self) -> None:
        while (batch := self._queue.get()) is not None:
            if self._error is None:
                try:
                    self._table.write(batch)
                except BaseException as exc:  # handed to the caller's thread
                    self._error = exc
