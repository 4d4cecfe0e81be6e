"""The transactions pipeline end to end: incremental by file, idempotent, deterministic duplicates."""

import gzip
import io

import pyarrow as pa
import pyarrow.parquet as pq

HEADER = "transaction_id,user_id,total_cost,dt\n"
DAY = 86_400
T0 = 1_700_000_000


def test_valid_csv_loads_typed_rows_with_lineage(tx):
    tx.drop("2024/day1.csv", HEADER + "t1,1,2.50,2024-01-01\nt2,2,10,2024-01-02\n", mtime=T0)
    tx.run()
    assert tx.transactions() == [
        ("t1", 1, "2.50", "2024-01-01", "2024/day1.csv", 1),
        ("t2", 2, "10.00", "2024-01-02", "2024/day1.csv", 2),
    ]
    assert tx.files() == {"2024/day1.csv": ("loaded", 2, 0)}
    assert tx.rows("select count(*) from raw_transactions.transactions where _dlt_load_id is null") == [(0,)]
    types = dict(
        tx.rows(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'raw_transactions' and table_name = 'transactions'"
        )
    )
    assert (types["user_id"], types["total_cost"], types["dt"]) == ("bigint", "numeric", "date")


def test_three_runs_leave_identical_checksums_and_skip_loaded_files(tx):
    tx.drop("day1.csv", HEADER + "t1,1,2.50,2024-01-01\nbad,1,-3,2024-01-01\n", mtime=T0)
    tx.drop(
        "day2.jsonl", '{"transaction_id": "t2", "user_id": 2, "total_cost": 4.5, "dt": "2024-01-02"}\n', mtime=T0 + DAY
    )
    tx.run()
    first = tx.checksums()
    loads = tx.rows("select count(*) from raw_transactions._dlt_loads")
    tx.run()
    tx.run()
    assert tx.checksums() == first
    assert set(first) == {
        "raw_transactions.transactions",
        "raw_transactions.rejected_rows",
        "raw_transactions.loaded_files",
    }
    # reruns with no new file load no rows
    assert tx.rows("select count(distinct _dlt_load_id) from raw_transactions.transactions") == [(1,)]
    assert tx.rows("select count(*) from raw_transactions._dlt_loads") >= loads


def test_a_changed_file_is_reloaded_and_merged(tx):
    tx.drop("day1.csv", HEADER + "t1,1,2.50,2024-01-01\nt2,2,3.00,2024-01-01\n", mtime=T0)
    tx.run()
    tx.drop("day1.csv", HEADER + "t2,2,30.00,2024-01-01\nt3,3,1.00,2024-01-01\n", mtime=T0 + 60)
    tx.run()
    assert [(row[0], row[2]) for row in tx.transactions()] == [("t1", "2.50"), ("t2", "30.00"), ("t3", "1.00")]
    assert tx.files() == {"day1.csv": ("loaded", 2, 0)}


def test_latest_file_wins_whatever_the_arrival_order(tx):
    tx.drop("b_newer.csv", HEADER + "dup,1,20.00,2024-01-02\n", mtime=T0 + DAY)
    tx.run()
    tx.drop("a_older.csv", HEADER + "dup,1,10.00,2024-01-01\n", mtime=T0)
    tx.run()
    assert [(row[0], row[2], row[4]) for row in tx.transactions()] == [("dup", "20.00", "b_newer.csv")]


def test_ties_are_broken_by_path_then_row_number_within_one_load(tx):
    tx.drop("a.csv", HEADER + "dup,1,1.00,2024-01-01\nwithin,1,1.00,2024-01-01\nwithin,1,2.00,2024-01-01\n", mtime=T0)
    tx.drop("b.csv", HEADER + "dup,1,5.00,2024-01-01\n", mtime=T0)
    tx.run()
    assert [(row[0], row[2], row[4], row[5]) for row in tx.transactions()] == [
        ("dup", "5.00", "b.csv", 1),
        ("within", "2.00", "a.csv", 3),
    ]


def test_reloading_an_old_file_never_changes_the_result(tx):
    import dlt

    from extract_load.transactions import transactions_source

    tx.drop("old.csv", HEADER + "dup,1,10.00,2024-01-01\nonly_old,1,1.00,2024-01-01\n", mtime=T0)
    tx.drop("new.csv", HEADER + "dup,1,20.00,2024-01-02\n", mtime=T0 + DAY)
    tx.run()
    before = tx.checksums()
    pipeline = dlt.pipeline(pipeline_name="transactions", destination="postgres", dataset_name="raw_transactions")
    pipeline.run(transactions_source(reload_files=["old.csv"]), loader_file_format="csv")
    assert tx.checksums() == before


def test_jsonl_parquet_and_gzip_load_alike(tx):
    tx.drop("a.csv.gz", gzip.compress((HEADER + "c1,1,1.00,2024-01-01\n").encode()), mtime=T0)
    tx.drop(
        "b.jsonl.gz",
        gzip.compress(b'{"transaction_id": "j1", "user_id": 2, "total_cost": "2.25", "dt": "2024-01-02"}\n'),
        mtime=T0,
    )
    buffer = io.BytesIO()
    pq.write_table(
        pa.table(
            {
                "transaction_id": ["p1"],
                "user_id": pa.array([3], pa.int32()),
                "total_cost": pa.array([3.5], pa.float64()),
                "dt": pa.array([19725], pa.int32()).cast(pa.date32()),
            }
        ),
        buffer,
    )
    tx.drop("c.parquet", buffer.getvalue(), mtime=T0)
    tx.run()
    assert [row[:4] for row in tx.transactions()] == [
        ("c1", 1, "1.00", "2024-01-01"),
        ("j1", 2, "2.25", "2024-01-02"),
        ("p1", 3, "3.50", "2024-01-03"),
    ]
    assert {name: status for name, (status, *_) in tx.files().items()} == {
        "a.csv.gz": "loaded",
        "b.jsonl.gz": "loaded",
        "c.parquet": "loaded",
    }


def test_unknown_columns_are_kept_as_text(tx):
    tx.drop("x.csv", "transaction_id,user_id,total_cost,dt,channel\nt1,1,1.00,2024-01-01,web\n", mtime=T0)
    tx.run()
    assert tx.rows("select channel from raw_transactions.transactions") == [("web",)]


def test_files_that_are_not_drops_are_ignored(tx):
    tx.drop("README.txt", "not data")
    tx.drop("day.csv", HEADER + "t1,1,1.00,2024-01-01\n", mtime=T0)
    tx.run()
    assert set(tx.files()) == {"day.csv"}


def test_a_jsonl_key_that_first_appears_late_is_kept(tx, monkeypatch):
    from extract_load.transactions import readers

    monkeypatch.setattr(readers, "BATCH_ROWS", 2)
    lines = [
        '{"transaction_id": "j1", "user_id": 1, "total_cost": 1, "dt": "2024-01-01"}',
        '{"transaction_id": "j2", "user_id": 1, "total_cost": 1, "dt": "2024-01-01"}',
        '{"transaction_id": "j3", "user_id": 1, "total_cost": 1, "dt": "2024-01-01", "channel": "app"}',
    ]
    tx.drop("late.jsonl", "\n".join(lines) + "\n", mtime=T0)
    tx.run()
    assert tx.rows("select transaction_id, channel from raw_transactions.transactions order by 1") == [
        ("j1", None),
        ("j2", None),
        ("j3", "app"),
    ]


def test_row_numbers_stay_exact_across_csv_blocks(tx, monkeypatch):
    from extract_load.transactions import readers

    monkeypatch.setattr(readers, "CSV_BLOCK_BYTES", 64)
    rows = [f"t{n},{n},1.00,2024-01-01" for n in range(1, 41)]
    rows[16] = "t17,17"  # ragged record 17
    rows[29] = "t30,30,-1,2024-01-01"  # negative cost, record 30
    tx.drop("big.csv", HEADER + "\n".join(rows) + "\n", mtime=T0)
    tx.run()
    loaded = dict(tx.rows("select transaction_id, _source_row_number from raw_transactions.transactions"))
    assert len(loaded) == 38
    assert all(loaded[f"t{n}"] == n for n in range(1, 41) if n not in (17, 30))
    assert [row[1:3] for row in tx.rejects()] == [(17, "*"), (30, "total_cost")]
