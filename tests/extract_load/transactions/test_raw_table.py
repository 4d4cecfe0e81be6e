"""The keyed raw table: one transaction per file, latest copy wins, lineage computed in SQL equals the contract's."""

from datetime import UTC, datetime

import psycopg
import pyarrow as pa
import pytest

from elt.connection import connect
from extract_load.transactions.contract import COST_TYPE, SourceFile, source_rank
from extract_load.transactions.raw_table import RawTableLayoutError, RawTransactionsTable

SCHEMA = "raw_table_test"
T0_US = 1_700_000_000_000_000


def batch(rows: list[tuple], extra: dict[str, list] | None = None) -> pa.Table:
    """A validated batch: (transaction_id, user_id, total_cost, dt, row number) per row, plus text columns."""
    ids, users, costs, days, numbers = (list(column) for column in zip(*rows, strict=True))
    columns = {
        "transaction_id": pa.array(ids, pa.string()),
        "user_id": pa.array(users, pa.int64()),
        "total_cost": pa.array(costs, pa.string()).cast(COST_TYPE),
        "dt": pa.array(days, pa.string()).cast(pa.date32()),
    }
    columns |= {name: pa.array(values, pa.string()) for name, values in (extra or {}).items()}
    columns["_source_row_number"] = pa.array(numbers, pa.int64())
    return pa.table(columns)


@pytest.fixture
def table(warehouse):
    with connect(warehouse) as conn:
        conn.execute(f"drop schema if exists {SCHEMA} cascade")
    opened = []

    def open_table(load_id: str = "1700000000.1") -> RawTransactionsTable:
        opened.append(RawTransactionsTable(warehouse.url(), SCHEMA, load_id))
        return opened[-1]

    yield open_table
    for raw in opened:
        raw.close()


def rows(warehouse, columns: str = "transaction_id, user_id, total_cost::text, _source_file, _source_row_number"):
    with connect(warehouse) as conn:
        return conn.execute(f"select {columns} from {SCHEMA}.transactions order by transaction_id").fetchall()


def test_the_table_is_created_with_a_primary_key_and_dlt_types(table, warehouse):
    table()
    with connect(warehouse) as conn:
        key = conn.execute(
            "select a.attname from pg_index as i join pg_attribute as a "
            "on a.attrelid = i.indrelid and a.attnum = any(i.indkey) "
            "where i.indrelid = %s::regclass and i.indisprimary",
            (f"{SCHEMA}.transactions",),
        ).fetchall()
        types = dict(
            conn.execute(
                "select column_name, data_type from information_schema.columns "
                "where table_schema = %s and table_name = 'transactions'",
                (SCHEMA,),
            ).fetchall()
        )
    assert key == [("transaction_id",)]
    assert types == {
        "transaction_id": "character varying",
        "user_id": "bigint",
        "total_cost": "numeric",
        "dt": "date",
        "_source_file": "character varying",
        "_source_modified_at": "timestamp with time zone",
        "_source_row_number": "bigint",
        "_source_rank": "character varying",
        "_dlt_load_id": "character varying",
    }


def test_lineage_computed_in_sql_equals_the_contract(table, warehouse):
    raw = table()
    source = SourceFile("2024/a|b.csv", T0_US + 123)
    with raw.file(source) as merge:
        merge.write(batch([("t1", 1, "2.50", "2024-01-01", 1), ("t2", 2, "3", "2024-01-02", 123456)]))
    assert rows(warehouse, "transaction_id, _source_file, _source_modified_at, _source_rank, _dlt_load_id") == [
        (
            "t1",
            "2024/a|b.csv",
            datetime.fromtimestamp((T0_US + 123) / 1e6, UTC),
            source_rank(T0_US + 123, "2024/a|b.csv", 1),
            "1700000000.1",
        ),
        (
            "t2",
            "2024/a|b.csv",
            datetime.fromtimestamp((T0_US + 123) / 1e6, UTC),
            source_rank(T0_US + 123, "2024/a|b.csv", 123456),
            "1700000000.1",
        ),
    ]


def test_the_later_record_of_a_file_wins_across_batches(table, warehouse):
    raw = table()
    with raw.file(SourceFile("a.csv", T0_US)) as merge:
        merge.write(batch([("t1", 1, "1.00", "2024-01-01", 1), ("t2", 2, "2.00", "2024-01-01", 2)]))
        merge.write(batch([("t1", 9, "9.00", "2024-01-01", 3)]))
    assert rows(warehouse) == [("t1", 9, "9.00", "a.csv", 3), ("t2", 2, "2.00", "a.csv", 2)]


def test_a_later_file_updates_and_an_older_file_never_does(table, warehouse):
    raw = table()
    with raw.file(SourceFile("b.csv", T0_US + 10)) as merge:
        merge.write(batch([("t1", 1, "1.00", "2024-01-01", 1)]))
    with raw.file(SourceFile("a.csv", T0_US)) as merge:  # older: loses
        merge.write(batch([("t1", 5, "5.00", "2024-01-01", 1), ("t3", 3, "3.00", "2024-01-01", 2)]))
    with raw.file(SourceFile("c.csv", T0_US + 20)) as merge:  # newer: wins
        merge.write(batch([("t1", 7, "7.00", "2024-01-01", 1)]))
    assert rows(warehouse) == [("t1", 7, "7.00", "c.csv", 1), ("t3", 3, "3.00", "a.csv", 2)]


def test_reading_the_same_file_again_keeps_the_rows_and_takes_the_new_load_id(table, warehouse):
    source = SourceFile("a.csv", T0_US)
    data = batch([("t1", 1, "1.00", "2024-01-01", 1), ("t2", 2, "2.00", "2024-01-01", 2)])
    with table("1700000000.1").file(source) as merge:
        merge.write(data)
    before = rows(warehouse)
    with table("1700000100.1").file(source) as merge:
        merge.write(data)
    assert rows(warehouse) == before
    assert {load_id for (load_id,) in rows(warehouse, "_dlt_load_id")} == {"1700000100.1"}


def test_a_file_that_fails_halfway_leaves_nothing_and_the_table_usable(table, warehouse):
    raw = table()
    with raw.file(SourceFile("a.csv", T0_US)) as merge:
        merge.write(batch([("t1", 1, "1.00", "2024-01-01", 1)]))
    with pytest.raises(RuntimeError, match="broken halfway"), raw.file(SourceFile("b.csv", T0_US + 1)) as merge:
        merge.write(batch([("t1", 2, "2.00", "2024-01-01", 1), ("t2", 2, "2.00", "2024-01-01", 2)]))
        raise RuntimeError("broken halfway")
    assert rows(warehouse) == [("t1", 1, "1.00", "a.csv", 1)]
    with raw.file(SourceFile("c.csv", T0_US + 2)) as merge:
        merge.write(batch([("t3", 3, "3.00", "2024-01-01", 1)]))
    assert [row[0] for row in rows(warehouse)] == ["t1", "t3"]


def test_a_new_column_is_added_as_text_and_a_later_copy_without_it_clears_it(table, warehouse):
    raw = table()
    with raw.file(SourceFile("a.csv", T0_US)) as merge:
        merge.write(batch([("t1", 1, "1.00", "2024-01-01", 1)]))
        merge.write(batch([("t2", 2, "2.00", "2024-01-01", 2)], extra={"channel": ["web"]}))
    assert rows(warehouse, "transaction_id, channel") == [("t1", None), ("t2", "web")]
    with table().file(SourceFile("b.csv", T0_US + 1)) as merge:
        merge.write(batch([("t2", 2, "2.00", "2024-01-01", 1)]))
    assert rows(warehouse, "transaction_id, channel") == [("t1", None), ("t2", None)]


def test_a_table_without_primary_key_from_an_earlier_layout_is_refused_with_the_remedy(table, warehouse):
    with connect(warehouse) as conn:
        conn.execute(f"create schema {SCHEMA}")
        conn.execute(f"create table {SCHEMA}.transactions (transaction_id varchar, _dlt_id varchar not null)")
    with pytest.raises(RawTableLayoutError, match=r"no primary key.*elt reset transactions --yes"):
        table()


def test_a_copy_error_in_the_writer_thread_reaches_the_caller_and_rolls_back(table, warehouse):
    raw = table()
    broken = batch([("t1", 1, "1.00", "2024-01-01", 1)]).set_column(1, "user_id", pa.array(["one"], pa.string()))
    with pytest.raises(psycopg.errors.InvalidTextRepresentation), raw.file(SourceFile("a.csv", T0_US)) as merge:
        merge.write(broken)
        for number in range(2, 50):  # later writes either raise the writer's error or queue behind it
            merge.write(batch([(f"t{number}", 1, "1.00", "2024-01-01", number)]))
    assert rows(warehouse) == []
    with raw.file(SourceFile("b.csv", T0_US + 1)) as merge:
        merge.write(batch([("t2", 2, "2.00", "2024-01-01", 1)]))
    assert [row[0] for row in rows(warehouse)] == ["t2"]
