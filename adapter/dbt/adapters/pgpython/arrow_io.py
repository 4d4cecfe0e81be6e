"""Move tables between PostgreSQL and Arrow with ``COPY``, on a psycopg2 connection (dbt's own).

Binary ``COPY`` (:mod:`binary_copy`) is used where it applies: reads whose columns are all fixed-width, writes
of the types it encodes (NULLs and text included), streamed in blocks encoded on a background thread.

Otherwise reading runs ``COPY (query) TO STDOUT (FORMAT csv)`` and parses the stream with Arrow's
multi-threaded CSV reader, with every column's type fixed in advance from the query's result description
(never inferred). What makes it exact:

- NULL is PostgreSQL's unquoted empty field, the empty string is ``""``: Arrow keeps them apart
  (``quoted_strings_can_be_null=False``); quotes, tabs, newlines inside text are CSV-quoted.
- ``numeric(p, s)`` parses straight into ``decimal(p, s)``; unconstrained numeric as text, then narrowed.
- dates and timestamps are sent as integers (days, microseconds since 1970), so no session setting
  (DateStyle, TimeZone) can change them, and dates before 2000 or BC keep their value.
- floats are printed shortest-exact (``extra_float_digits`` >= 1, PostgreSQL's default; raised if lower).

and writing renders the Arrow table as CSV (Arrow's writer: NULL as an unquoted empty field, every string
quoted, zoned timestamps in UTC) and streams it with ``COPY relation (columns) FROM STDIN (FORMAT csv)``.
"""

from __future__ import annotations

import io
import queue
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.csv as pacsv
from dbt.adapters.pgpython import binary_copy
from dbt.adapters.pgpython.pg_types import (
    DATE,
    FLOAT4,
    FLOAT8,
    NUMERIC,
    TEXT_LIKE,
    TIMESTAMP,
    TIMESTAMPTZ,
    PgType,
    arrow_type_for_read,
    narrow_numeric_strings,
)

COPY_CHUNK_BYTES = 1 << 20
_PARALLEL_COSTS = {"parallel_setup_cost": "0", "parallel_tuple_cost": "0"}
_EPOCH_DAY_SQL = "({col} - date '1970-01-01')"
_EPOCH_MICROS_SQL = "(extract(epoch from {col}) * 1000000)::int8"


def quote_identifier(name: str) -> str:
    """PostgreSQL identifier quoting (always quoted, so any name round-trips)."""
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class ReadColumn:
    """How one column of a query is copied out and parsed."""

    name: str
    pg: PgType
    select_sql: str
    csv_type: pa.DataType
    arrow_type: pa.DataType


def plan_read(cursor: object, query: str) -> list[ReadColumn]:
    """Describe ``query`` and decide, per column, the expression ``COPY`` selects and the Arrow types."""
    cursor.execute(f"select * from ({query}) as pgpython_q limit 0")  # type: ignore[attr-defined]
    columns = []
    for description in cursor.description:  # type: ignore[attr-defined]
        pg = PgType.from_description(description)
        name = description.name
        col = _column_sql(name)
        arrow_type = arrow_type_for_read(pg)
        csv_type = arrow_type
        select_sql = col
        if pg.oid == DATE:
            select_sql, csv_type = _EPOCH_DAY_SQL.format(col=col), pa.int32()
        elif pg.oid in (TIMESTAMP, TIMESTAMPTZ):
            select_sql, csv_type = _EPOCH_MICROS_SQL.format(col=col), pa.int64()
        elif pa.types.is_string(arrow_type) and pg.oid != NUMERIC and pg.oid not in TEXT_LIKE:
            select_sql = f"{col}::text"
        columns.append(ReadColumn(name, pg, select_sql, csv_type, arrow_type))
    return columns


def read_query(connection: object, query: str) -> pa.Table:
    """Run ``query`` on a psycopg2 connection and return its rows as an Arrow table, exactly.

    Args:
        connection: An open psycopg2 connection (dbt's thread connection: the read sees its transaction).
        query: A SELECT statement, or a relation name prefixed by ``select * from``.

    Returns:
        The result, column names and order as the query gives them.
    """
    with connection.cursor() as cursor:  # type: ignore[attr-defined]
        columns = plan_read(cursor, query)
        if columns and all(binary_copy.readable(c.pg) for c in columns):
            selects = ", ".join(
                f"{expression} as {quote_identifier(f'c{i}_{j}')}"
                for i, c in enumerate(columns)
                for j, expression in enumerate(binary_copy.read_select(c.pg, _column_sql(c.name)))
            )
            sink = io.BytesIO()
            with _parallel_friendly(cursor):
                cursor.copy_expert(
                    f"copy (select {selects} from ({query}) as pgpython_q) to stdout (format binary)", sink
                )
            return binary_copy.decode(sink.getbuffer(), [c.name for c in columns], [c.pg for c in columns])
        _ensure_exact_floats(cursor, columns)
        selects = ", ".join(f"{c.select_sql} as {quote_identifier(f'c{i}')}" for i, c in enumerate(columns))
        sink = io.BytesIO()
        cursor.copy_expert(f"copy (select {selects} from ({query}) as pgpython_q) to stdout (format csv)", sink)
    return parse_csv(sink.getbuffer(), columns)


def parse_csv(data: memoryview | bytes, columns: Sequence[ReadColumn]) -> pa.Table:
    """Parse PostgreSQL's CSV output of :func:`read_query` into the planned Arrow types."""
    names = [f"c{i}" for i in range(len(columns))]
    if len(data) == 0:
        return pa.table(
            [pa.array([], type=_empty_type(c)) for c in columns],
            names=[c.name for c in columns],
        )
    has_text = any(pa.types.is_string(c.csv_type) for c in columns)
    table = pacsv.read_csv(
        pa.py_buffer(data),
        read_options=pacsv.ReadOptions(column_names=names, block_size=8 << 20),
        # a row of one NULL text column is an empty line: it must not be skipped
        parse_options=pacsv.ParseOptions(newlines_in_values=has_text, ignore_empty_lines=False),
        convert_options=pacsv.ConvertOptions(
            column_types=dict(zip(names, (c.csv_type for c in columns), strict=True)),
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
            true_values=["t"],
            false_values=["f"],
        ),
    )
    arrays = []
    for column, array in zip(columns, table.columns, strict=True):
        if column.pg.oid == NUMERIC and not column.pg.constrained_numeric:
            array = narrow_numeric_strings(array, column.name)
        elif column.csv_type != column.arrow_type:
            array = array.cast(column.arrow_type)
        arrays.append(array)
    return pa.table(arrays, names=[c.name for c in columns])


def write_table(
    connection: object, relation: str, table: pa.Table, *, binary: bool = True, chunk_rows: int | None = None
) -> int:
    """Append ``table`` to the existing ``relation`` with ``COPY ... FROM STDIN`` (binary when it can, else csv).

    Args:
        connection: An open psycopg2 connection, inside the transaction that created ``relation``.
        relation: The target, already quoted (``"schema"."name"``), with columns named as ``table``'s.
        table: Columns already checked and converted (see :func:`pg_types.prepare_for_write`).
        binary: Whether the relation's column types are the ones matching the Arrow types (then binary COPY,
            :func:`binary_copy.encode_chunks`, is used for tables it can encode).
        chunk_rows: Rows per binary COPY block (default: about :data:`binary_copy.CHUNK_BYTES` per block).

    Returns:
        Rows written.
    """
    columns = ", ".join(quote_identifier(name) for name in table.column_names)
    if table.num_rows == 0:
        return 0
    plan = binary_copy.plan_encode(table) if binary else None
    if plan is not None:
        source: io.RawIOBase = _ChunkReader(binary_copy.encode_chunks(table, plan, chunk_rows))
        copy_format = "binary"
    else:
        out = pa.BufferOutputStream()
        pacsv.write_csv(_zones_to_utc(table), out, pacsv.WriteOptions(include_header=False, batch_size=64 * 1024))
        source, copy_format = _ChunkReader(_slices(out.getvalue(), COPY_CHUNK_BYTES)), "csv"
    with source, connection.cursor() as cursor:  # type: ignore[attr-defined]
        cursor.copy_expert(f"copy {relation} ({columns}) from stdin (format {copy_format})", source)
        return cursor.rowcount


class _ChunkReader(io.RawIOBase):
    """A read-only file handing out the blocks of an iterator whole (psycopg2 sends each as one CopyData).

    The blocks are produced by a background thread, a few ahead, while this thread sends the previous ones:
    encoding (numpy and Arrow release the GIL) overlaps with the server parsing the rows. An exception of the
    iterator is raised by :meth:`read`; :meth:`close` stops and joins the thread.
    """

    def __init__(self, chunks: Iterator[bytes], ahead: int = 2) -> None:
        self._queue: queue.Queue[tuple[str, object]] = queue.Queue(maxsize=ahead)
        self._stop = threading.Event()
        self._finished = False
        self._thread = threading.Thread(target=self._produce, args=(chunks,), name="pgpython-copy", daemon=True)
        self._thread.start()

    def _produce(self, chunks: Iterator[bytes]) -> None:
        try:
            for chunk in chunks:
                if not self._put(("chunk", chunk)):
                    return
            self._put(("end", None))
        except BaseException as exc:  # handed to the reading thread
            self._put(("error", exc))

    def _put(self, item: tuple[str, object]) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if self._finished:
            return b""
        kind, value = self._queue.get()
        if kind == "chunk":
            return value  # type: ignore[return-value]
        self._finished = True
        if kind == "error":
            raise value  # type: ignore[misc]
        return b""

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        super().close()


def _zones_to_utc(table: pa.Table) -> pa.Table:
    """Zoned timestamps in UTC: Arrow's CSV writer prints offsets in whole minutes (LMT's +00:53:28 as +0053)."""
    for i, field in enumerate(table.schema):
        if pa.types.is_timestamp(field.type) and field.type.tz is not None and field.type.tz != "UTC":
            utc = pa.timestamp(field.type.unit, tz="UTC")
            table = table.set_column(i, field.name, table.column(i).cast(utc))
    return table


def _slices(buffer: pa.Buffer, size: int) -> Iterator[bytes]:
    view = memoryview(buffer)
    for offset in range(0, len(view), size):
        yield view[offset : offset + size].tobytes()


def _column_sql(name: str) -> str:
    return f"pgpython_q.{quote_identifier(name)}"


def _empty_type(column: ReadColumn) -> pa.DataType:
    if column.pg.oid == NUMERIC and not column.pg.constrained_numeric:
        return pa.decimal128(1, 0)
    return column.arrow_type


@contextmanager
def _parallel_friendly(cursor: object) -> Iterator[None]:
    """Let the planner run the read's per-row conversions in parallel workers, then restore the settings.

    The binary read's numeric-to-int8 conversions cost the server more than the scan; with the planner's
    default costs a plain ``select * from t`` never gets a parallel plan. Zero setup and tuple costs (local to
    the transaction, restored afterwards) let tables above ``min_parallel_table_scan_size`` be scanned and
    converted by ``max_parallel_workers_per_gather`` workers; settings of 0 workers are respected.
    """
    names = list(_PARALLEL_COSTS)
    cursor.execute(  # type: ignore[attr-defined]
        "select " + ", ".join(f"current_setting('{name}'), set_config('{name}', %s, true)" for name in names),
        [_PARALLEL_COSTS[name] for name in names],
    )
    previous = cursor.fetchone()[0::2]  # type: ignore[attr-defined]
    yield
    cursor.execute(  # type: ignore[attr-defined]
        "select " + ", ".join(f"set_config('{name}', %s, true)" for name in names), list(previous)
    )


def _ensure_exact_floats(cursor: object, columns: Sequence[ReadColumn]) -> None:
    if not any(c.pg.oid in (FLOAT4, FLOAT8) for c in columns):
        return
    cursor.execute("select current_setting('extra_float_digits')::int")  # type: ignore[attr-defined]
    if cursor.fetchone()[0] < 1:  # type: ignore[attr-defined]
        # transaction-local: PostgreSQL 12+ prints floats shortest-exact for any value >= 1
        cursor.execute("select set_config('extra_float_digits', '1', true)")  # type: ignore[attr-defined]
