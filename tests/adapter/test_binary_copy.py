"""Binary COPY encoding of Arrow tables (pgpython's write path), checked value by value against PostgreSQL.

Every table is written twice into tables of the same column types: through binary COPY (the path under test,
with small blocks so rows cross block boundaries) and through the CSV path; both must hold exactly the same
rows, and reading the binary one back must give the table that was written.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import numpy as np
import psycopg2
import pyarrow as pa
import pytest
from dbt.adapters.pgpython import arrow_io, binary_copy
from dbt.adapters.pgpython.pg_types import pg_type_for_arrow

from elt.warehouse_target import WarehouseTarget

INT64 = (-(2**63), 2**63 - 1)
UTC = dt.UTC


@pytest.fixture(scope="module")
def connection(module_warehouse_env: WarehouseTarget) -> Iterator[Any]:
    """A psycopg2 connection (as dbt's); each test's tables are rolled back afterwards."""
    target = module_warehouse_env
    conn = psycopg2.connect(
        host=target.host, port=target.port, user=target.user, password=target.password, dbname=target.dbname
    )
    try:
        yield conn
    finally:
        conn.close()


@pytest.fixture
def db(connection: Any) -> Iterator[Any]:
    try:
        yield connection
    finally:
        connection.rollback()


def create(conn: Any, name: str, table: pa.Table) -> str:
    definition = ", ".join(
        f"{arrow_io.quote_identifier(field.name)} {pg_type_for_arrow(field.type, field.name)}" for field in table.schema
    )
    with conn.cursor() as cursor:
        cursor.execute(f"create temporary table {name} ({definition})")
    return name


def differences(conn: Any, left: str, right: str) -> list[tuple[Any, ...]]:
    with conn.cursor() as cursor:
        cursor.execute(
            f"(select * from {left} except all select * from {right}) "
            f"union all (select * from {right} except all select * from {left})"
        )
        return cursor.fetchall()


def rows(conn: Any, statement: str) -> list[tuple[Any, ...]]:
    with conn.cursor() as cursor:
        cursor.execute(statement)
        return cursor.fetchall()


def round_trip(conn: Any, table: pa.Table, *, chunk_rows: int | None = 3) -> pa.Table:
    """Write ``table`` through binary COPY and through CSV, assert both agree, return the binary one read back."""
    assert binary_copy.plan_encode(table) is not None, "the table should take the binary path"
    binary = create(conn, "written_binary", table)
    csv = create(conn, "written_csv", table)
    assert arrow_io.write_table(conn, binary, table, chunk_rows=chunk_rows) == table.num_rows
    assert arrow_io.write_table(conn, csv, table, binary=False) == table.num_rows
    assert differences(conn, binary, csv) == []
    return arrow_io.read_query(conn, f"select * from {binary}")


MIXED = pa.table(
    {
        "id": pa.array(range(10), pa.int32()),
        "big": pa.array([INT64[0], INT64[1], None, 0, -1, 1, None, 42, None, 7], pa.int64()),
        "label": pa.array(["", None, "two\nlines", 'q"uote', "tab\there", "back\\slash", "\\N", "NULL", "é✓", ","]),
        "amount": pa.array(
            [Decimal("-0.01"), None, Decimal("9999999999.99"), Decimal("0"), Decimal("1.5")] * 2, pa.decimal128(12, 2)
        ),
        "flag": pa.array([True, False, None] * 3 + [True]),
        "day": pa.array(
            [dt.date(1899, 12, 31), None, dt.date(1, 1, 1), dt.date(2000, 2, 29), dt.date(9999, 12, 31)] * 2
        ),
        "at": pa.array(
            [dt.datetime(1969, 7, 20, 20, 17, 40, 500000, tzinfo=UTC), None] * 5, pa.timestamp("us", tz="UTC")
        ),
    }
)


def test_nulls_and_text_cross_block_boundaries(db: Any) -> None:
    # blocks of 3 rows: some hold NULLs or text, the last one a single row
    assert round_trip(db, MIXED).equals(MIXED)
    assert rows(
        db, "select count(*) filter (where label is null), count(*) filter (where label = '') from written_binary"
    ) == [(1, 1)]


@pytest.mark.parametrize("chunk_rows", [1, 2, 3, 4, 9, 10, 11, None])
def test_every_block_size_gives_the_same_rows(db: Any, chunk_rows: int | None) -> None:
    assert round_trip(db, MIXED, chunk_rows=chunk_rows).equals(MIXED)


def test_fixed_width_blocks_with_and_without_nulls(db: Any) -> None:
    # the first block has no NULLs (one fixed-width matrix), the second has (length -1 fields)
    table = pa.table({"a": pa.array([1, 2, 3, None, 5, 6], pa.int64()), "b": pa.array([0.5] * 5 + [None])})
    assert round_trip(db, table).equals(table)
    assert rows(db, "select a, b from written_binary order by a nulls first") == [
        (None, 0.5),
        (1, 0.5),
        (2, 0.5),
        (3, 0.5),
        (5, 0.5),
        (6, None),
    ]


def test_empty_and_one_row_tables(db: Any) -> None:
    one = pa.table({"a": pa.array([None], pa.int64()), "t": pa.array(["x"])})
    assert round_trip(db, one).equals(one)
    empty = one.slice(0, 0)
    stream = b"".join(binary_copy.encode_chunks(empty, binary_copy.plan_encode(empty) or []))
    assert stream == binary_copy.HEADER + binary_copy.TRAILER
    create(db, "empty_target", empty)
    with db.cursor() as cursor:
        cursor.copy_expert("copy empty_target from stdin (format binary)", arrow_io._ChunkReader(iter([stream])))
        assert cursor.rowcount == 0


def test_integer_extremes_and_widened_integers(db: Any) -> None:
    table = pa.table(
        {
            "i64": pa.array([*INT64, 0], pa.int64()),
            "i32": pa.array([-(2**31), 2**31 - 1, 0], pa.int32()),
            "i16": pa.array([-(2**15), 2**15 - 1, None], pa.int16()),
            "i8": pa.array([-128, 127, 0], pa.int8()),
            "u8": pa.array([0, 255, 1], pa.uint8()),
            "u16": pa.array([0, 65535, 1], pa.uint16()),
            "u32": pa.array([0, 2**32 - 1, None], pa.uint32()),
        }
    )
    back = round_trip(db, table)
    assert back.column("i64").to_pylist() == [*INT64, 0]
    assert back.column("u32").to_pylist() == [0, 2**32 - 1, None]
    assert back.column("i8").type == pa.int16() and back.column("i8").to_pylist() == [-128, 127, 0]


def test_special_floats(db: Any) -> None:
    values = [float("nan"), float("inf"), float("-inf"), -0.0, 1e-300, 0.1, None]
    table = pa.table({"f8": pa.array(values, pa.float64()), "f4": pa.array(values, pa.float32())})
    back = round_trip(db, table)
    assert rows(db, "select f8::text, f4::text from written_binary") == [
        ("NaN", "NaN"),
        ("Infinity", "Infinity"),
        ("-Infinity", "-Infinity"),
        ("-0", "-0"),
        ("1e-300", "0"),
        ("0.1", "0.1"),
        (None, None),
    ]
    for name, bits in [("f8", np.int64), ("f4", np.int32)]:  # bit for bit: NaN, infinities, the sign of -0.0
        sent, received = (t.column(name).combine_chunks().fill_null(7.0).to_numpy() for t in (table, back))
        assert (sent.view(bits) == received.view(bits)).all(), name


def test_numeric_scales_and_extremes(db: Any) -> None:
    cases = {
        (18, 0): ["999999999999999999", "-999999999999999999", "0", "1", "-10000"],
        (18, 6): ["999999999999.999999", "-0.000001", "123.4", "0", "10000.0001"],
        (12, 2): ["9999999999.99", "-0.01", "100", "-1.5", None],
        (4, 4): ["0.9999", "-0.0001", "0.5", "0", None],
        (5, 3): ["99.999", "-0.001", "10.5", "0", "1"],
        (18, 18): ["0.999999999999999999", "-0.000000000000000001", "0", "0.1", None],
        (1, 0): ["9", "-9", "0", None, "1"],
    }
    for (precision, scale), values in cases.items():
        decimals = [None if v is None else Decimal(v) for v in values]
        table = pa.table({"n": pa.array(decimals, pa.decimal128(precision, scale))})
        back = round_trip(db, table)
        assert back.equals(table), (precision, scale)
        expected = [None if d is None else format(d.quantize(Decimal(1).scaleb(-scale)), "f") for d in decimals]
        assert [r[0] for r in rows(db, "select n::text from written_binary")] == expected
        db.rollback()


def test_dates_and_timestamps(db: Any) -> None:
    days = [dt.date(1, 1, 1), dt.date(1600, 3, 1), dt.date(1969, 12, 31), dt.date(1970, 1, 1), dt.date(9999, 12, 31)]
    instants = [
        dt.datetime(1, 1, 1, tzinfo=UTC),
        dt.datetime(1900, 1, 1, 12, tzinfo=UTC),
        dt.datetime(1999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        dt.datetime(2262, 4, 11, 23, 47, 16, 854775, tzinfo=UTC),
        dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    ]
    table = pa.table(
        {
            "day": pa.array(days, pa.date32()),
            "zoned": pa.array(instants, pa.timestamp("us", tz="UTC")),
            "berlin": pa.array(instants, pa.timestamp("us", tz="UTC")).cast(pa.timestamp("us", tz="Europe/Berlin")),
            "local": pa.array([i.replace(tzinfo=None) for i in instants], pa.timestamp("us")),
            "seconds": pa.array([i.replace(tzinfo=None, microsecond=0) for i in instants], pa.timestamp("s")),
            "millis": pa.array([None] * 5, pa.timestamp("ms")),
        }
    )
    back = round_trip(db, table)
    assert back.column("day").to_pylist() == days
    assert back.column("zoned").to_pylist() == instants
    assert back.column("berlin").to_pylist() == instants  # the same instants, read back in UTC
    assert rows(db, "select day::text, local::text from written_binary where day < '1970-01-01' order by day") == [
        ("0001-01-01", "0001-01-01 00:00:00"),
        ("1600-03-01", "1900-01-01 12:00:00"),
        ("1969-12-31", "1999-12-31 23:59:59.999999"),
    ]


def test_nanoseconds_use_binary_only_when_exact(db: Any) -> None:
    exact = pa.table({"t": pa.array([1_000, 2_000_000], pa.timestamp("ns"))})
    assert round_trip(db, exact).column("t").to_pylist() == [
        dt.datetime(1970, 1, 1, 0, 0, 0, 1),
        dt.datetime(1970, 1, 1, 0, 0, 0, 2000),
    ]
    assert binary_copy.plan_encode(pa.table({"t": pa.array([1_001], pa.timestamp("ns"))})) is None


def test_text_only_and_all_null_columns(db: Any) -> None:
    table = pa.table(
        {
            "s": pa.array(["a" * 10_000, "", None, "x\r\ny"]),
            "large": pa.array(["é", None, "", "\\."], pa.large_string()),
            "nothing": pa.nulls(4),
        }
    )
    back = round_trip(db, table)
    assert back.column("s").to_pylist() == table.column("s").to_pylist()
    assert back.column("large").to_pylist() == table.column("large").to_pylist()
    assert back.column("nothing").to_pylist() == [None] * 4


def test_types_without_binary_encoding_take_the_csv_path() -> None:
    for array in [
        pa.array([Decimal("1.5")], pa.decimal128(19, 1)),
        pa.array([dt.time(12, 0)]),
        pa.array([[1, 2]]),
        pa.array([1], pa.uint64()),
    ]:
        assert binary_copy.plan_encode(pa.table({"c": array})) is None, array.type


def test_an_encoding_error_fails_the_copy_and_stops_the_encoder(db: Any) -> None:
    def failing() -> Iterator[bytes]:
        yield binary_copy.HEADER
        raise RuntimeError("encoder broke")

    create(db, "never_filled", pa.table({"a": pa.array([1], pa.int64())}))
    reader = arrow_io._ChunkReader(failing())
    with (
        pytest.raises(psycopg2.errors.QueryCanceled, match="RuntimeError encoder broke"),
        reader,
        db.cursor() as cursor,
    ):
        cursor.copy_expert("copy never_filled from stdin (format binary)", reader)
    assert not reader._thread.is_alive()


def test_a_server_error_mid_stream_stops_the_encoder(db: Any) -> None:
    # varchar(3) rejects the value in the last block; the encoder thread is still ahead of the COPY then
    table = pa.table({"s": pa.array(["abc"] * 5000 + ["too long"])})
    with db.cursor() as cursor:
        cursor.execute("create temporary table short_text (s varchar(3))")
    with pytest.raises(psycopg2.errors.StringDataRightTruncation):
        arrow_io.write_table(db, "short_text", table, chunk_rows=10)
    assert not [t for t in threading.enumerate() if t.name == "pgpython-copy"]


def test_reads_leave_the_planner_settings_as_they_were(db: Any) -> None:
    table = pa.table({"n": pa.array([Decimal("1.25"), None], pa.decimal128(12, 2))})
    create(db, "settings_probe", table)
    arrow_io.write_table(db, "settings_probe", table)
    with db.cursor() as cursor:
        cursor.execute("set local parallel_tuple_cost = 0.25")
    assert arrow_io.read_query(db, "select * from settings_probe").equals(table)
    assert rows(db, "select current_setting('parallel_tuple_cost'), current_setting('parallel_setup_cost')") == [
        ("0.25", "1000")
    ]


def test_a_single_null_text_column_keeps_its_rows(db: Any) -> None:
    """PostgreSQL's CSV writes a row of one NULL text value as an empty line; it is a row, not nothing."""
    table = arrow_io.read_query(db, "select v from (values (null::text), ('x'), (null::text)) as t (v)")
    assert table.column("v").to_pylist() == [None, "x", None]
