"""A corpus of bad transaction files, each with its exact outcome: what loads, what is quarantined, why."""

import gzip
import io

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

HEADER = "transaction_id,user_id,total_cost,dt\n"
GOOD = "ok1,1,1.00,2024-01-01\n"
T0 = 1_700_000_000


def _parquet(**columns) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(pa.table(columns), buffer)
    return buffer.getvalue()


def _truncated_gzip() -> bytes:
    whole = gzip.compress((HEADER + GOOD * 2000).encode())
    return whole[: len(whole) // 2]


# name, file name, content, loaded ids, rejects as (row, field, reason fragment), file status
CASES = [
    ("empty file", "f.csv", b"", [], [(0, "*", "empty file")], "rejected"),
    ("header only", "f.csv", HEADER, [], [], "loaded"),
    (
        "missing column",
        "f.csv",
        "transaction_id,user_id,dt\nt1,1,2024-01-01\n",
        [],
        [(0, "total_cost", "missing required column(s) total_cost")],
        "rejected",
    ),
    (
        "extra column",
        "f.csv",
        "transaction_id,user_id,total_cost,dt,note\nt1,1,1.00,2024-01-01,hi\n",
        ["t1"],
        [],
        "loaded",
    ),
    (
        "wrong delimiter",
        "f.csv",
        "transaction_id;user_id;total_cost;dt\nt1;1;1.00;2024-01-01\n",
        [],
        [(0, "transaction_id", "the delimiter must be ','")],
        "rejected",
    ),
    (
        "quotes and embedded newlines",
        "f.csv",
        HEADER
        + '"t,1",1,1.00,2024-01-01\n"t""2",2,2.00,2024-01-02\n"t\n3",3,3.00,2024-01-03\n'
        + "t4,4,4.00,2024-01-04\n",
        ["t\n3", 't"2', "t,1", "t4"],
        [],
        "loaded",
    ),
    (
        "non-UTF-8 bytes quarantine the row, not the file",
        "f.csv",
        HEADER.encode() + b"t1,1,1.00,2024-01-01\nt\xff2,2,2.00,2024-01-02\n" + GOOD.encode(),
        ["ok1", "t1"],
        [(2, "transaction_id", "invalid UTF-8")],
        "loaded",
    ),
    (
        "negative cost",
        "f.csv",
        HEADER + "t1,1,-5.00,2024-01-01\n" + GOOD,
        ["ok1"],
        [(1, "total_cost", "negative")],
        "loaded",
    ),
    (
        "cost with three decimals",
        "f.csv",
        HEADER + "t1,1,1.005,2024-01-01\n",
        [],
        [(1, "total_cost", "at most 2 decimal places")],
        "loaded",
    ),
    ("unparseable date", "f.csv", HEADER + "t1,1,1.00,01/02/2024\n", [], [(1, "dt", "calendar date")], "loaded"),
    ("impossible date", "f.csv", HEADER + "t1,1,1.00,2024-02-30\n", [], [(1, "dt", "calendar date")], "loaded"),
    ("null id", "f.csv", HEADER + ",1,1.00,2024-01-01\n" + GOOD, ["ok1"], [(1, "transaction_id", "missing")], "loaded"),
    (
        "non-integer user",
        "f.csv",
        HEADER + "t1,1.5,1.00,2024-01-01\n",
        [],
        [(1, "user_id", "not an integer")],
        "loaded",
    ),
    (
        "several broken fields give one reject each",
        "f.csv",
        HEADER + "t1,x,-1,2024-13-01\n",
        [],
        [(1, "dt", "calendar date"), (1, "total_cost", "negative"), (1, "user_id", "not an integer")],
        "loaded",
    ),
    (
        "ragged row",
        "f.csv",
        HEADER + "t1,1\n" + GOOD,
        ["ok1"],
        [(1, "*", "expected 4 fields, found 2")],
        "loaded",
    ),
    ("whitespace is trimmed", "f.csv", HEADER + " t1 , 7 , 1.50 , 2024-01-01 \n", ["t1"], [], "loaded"),
    (
        "duplicate ids within a file: the later row wins",
        "f.csv",
        HEADER + "d,1,1.00,2024-01-01\nd,1,2.00,2024-01-01\n",
        ["d"],
        [],
        "loaded",
    ),
    ("truncated gzip", "f.csv.gz", _truncated_gzip(), [], [(0, "*", "truncated or corrupt gzip")], "rejected"),
    (
        "parquet with a wrong type",
        "f.parquet",
        _parquet(transaction_id=["t1"], user_id=[1], total_cost=["1.00"], dt=["2024-01-01"]),
        [],
        [(0, "total_cost", "incompatible with the contract")],
        "rejected",
    ),
    (
        "not a parquet file",
        "f.parquet",
        b"PAR1 this is not parquet",
        [],
        [(0, "*", "not a readable Parquet file")],
        "rejected",
    ),
    (
        "jsonl with a broken line",
        "f.jsonl",
        '{"transaction_id": "t1", "user_id": 1, "total_cost": 1, "dt": "2024-01-01"}\n{"transaction_id": "t2", \n'
        '{"transaction_id": "t3", "user_id": 3, "total_cost": 3, "dt": "2024-01-03"}\n',
        ["t1", "t3"],
        [(2, "*", "broken JSON line")],
        "loaded",
    ),
    (
        "jsonl line that is not an object",
        "f.jsonl",
        '[1, 2]\n{"transaction_id": "t2", "user_id": 2, "total_cost": 2, "dt": "2024-01-02"}\n',
        ["t2"],
        [(1, "*", "JSON object")],
        "loaded",
    ),
    (
        "jsonl missing a required key",
        "f.jsonl",
        '{"transaction_id": "t1", "user_id": 1, "dt": "2024-01-01"}\n',
        [],
        [(1, "total_cost", "missing")],
        "loaded",
    ),
    # header names: normalized to warehouse identifiers (dlt's snake_case); a header the warehouse cannot
    # take rejects the file as one row, and the other files of the run load
    *[
        (
            f"{column} column is reserved for the loader",
            "f.csv",
            f"transaction_id,user_id,total_cost,dt,{column}\nt1,1,1.00,2024-01-01,x\n",
            [],
            [(0, column, "lineage and bookkeeping columns (_source_*, _dlt_*)")],
            "rejected",
        )
        for column in ("_source_file", "_source_rank", "_source_row_number", "_dlt_load_id", "_dlt_id")
    ],
    (
        "reserved column in parquet",
        "f.parquet",
        _parquet(transaction_id=["t1"], user_id=[1], total_cost=[1], dt=["2024-01-01"], _source_modified_at=["x"]),
        [],
        [(0, "_source_modified_at", "lineage and bookkeeping")],
        "rejected",
    ),
    (
        "reserved key in jsonl",
        "f.jsonl",
        '{"transaction_id": "t1", "user_id": 1, "total_cost": 1, "dt": "2024-01-01"}\n'
        '{"transaction_id": "t2", "user_id": 2, "total_cost": 2, "dt": "2024-01-02", "_source_file": "a"}\n',
        [],
        [(0, "_source_file", "lineage and bookkeeping")],
        "rejected",
    ),
    (
        "reserved name after normalization",
        "f.csv",
        "transaction_id,user_id,total_cost,dt,__Source File\nt1,1,1.00,2024-01-01,x\n",
        [],
        [(0, "_source_file", "lineage and bookkeeping")],
        "rejected",
    ),
    (
        "two names become one identifier",
        "f.csv",
        "transaction_id,User ID,total_cost,dt,user_id\nt1,1,1.00,2024-01-01,1\n",
        [],
        [(0, "user_id", "columns 'User ID' and 'user_id' both become the identifier user_id")],
        "rejected",
    ),
    (
        "two extra columns differing in case",
        "f.csv",
        "transaction_id,user_id,total_cost,dt,Note,note\nt1,1,1.00,2024-01-01,a,b\n",
        [],
        [(0, "note", "columns 'Note' and 'note' both become the identifier note")],
        "rejected",
    ),
    (
        "two extra columns differing in spacing",
        "f.csv",
        "transaction_id,user_id,total_cost,dt,Store Name,store_name\nt1,1,1.00,2024-01-01,a,b\n",
        [],
        [(0, "store_name", "both become the identifier store_name")],
        "rejected",
    ),
    (
        "two parquet columns become one identifier",
        "f.parquet",
        _parquet(**{"transaction_id": ["t1"], "User ID": [1], "user_id": [1], "total_cost": [1], "dt": ["2024-01-01"]}),
        [],
        [(0, "user_id", "both become the identifier user_id")],
        "rejected",
    ),
    (
        "two jsonl keys become one identifier",
        "f.jsonl",
        '{"transaction_id": "t1", "user_id": 1, "total_cost": 1, "dt": "2024-01-01", "Store Name": "a",'
        ' "store_name": "b"}\n',
        [],
        [(0, "store_name", "both become the identifier store_name")],
        "rejected",
    ),
    (
        "exactly duplicated column",
        "f.csv",
        "transaction_id,user_id,total_cost,dt,dt\nt1,1,1.00,2024-01-01,2024-01-01\n",
        [],
        [(0, "dt", "duplicated column(s) dt")],
        "rejected",
    ),
    (
        "empty column name at the end",
        "f.csv",
        "transaction_id,user_id,total_cost,dt,\nt1,1,1.00,2024-01-01,x\n",
        [],
        [(0, "*", "column 5 of the header has an empty name")],
        "rejected",
    ),
    (
        "blank column name in the middle",
        "f.csv",
        "transaction_id, ,user_id,total_cost,dt\nt1,x,1,1.00,2024-01-01\n",
        [],
        [(0, "*", "column 2 of the header has an empty name")],
        "rejected",
    ),
    (
        "empty key in jsonl",
        "f.jsonl",
        '{"transaction_id": "t1", "user_id": 1, "total_cost": 1, "dt": "2024-01-01", "": "x"}\n',
        [],
        [(0, "*", "has an empty name")],
        "rejected",
    ),
    (
        "column name over PostgreSQL's 63 bytes",
        "f.csv",
        f"{HEADER.strip()},{'n' * 64}\nt1,1,1.00,2024-01-01,x\n",
        [],
        [(0, "n" * 63, "is 64 bytes as an identifier; PostgreSQL allows at most 63")],
        "rejected",
    ),
    (
        "parquet column name over 63 bytes",
        "f.parquet",
        _parquet(
            **{"transaction_id": ["t1"], "user_id": [1], "total_cost": [1], "dt": ["2024-01-01"], "m" * 70: ["x"]}
        ),
        [],
        [(0, "m" * 63, "is 70 bytes")],
        "rejected",
    ),
    (
        "column name of exactly 63 bytes loads",
        "f.csv",
        f"{HEADER.strip()},{'n' * 63}\nt1,1,1.00,2024-01-01,x\n",
        ["t1"],
        [],
        "loaded",
    ),
    (
        "header in other case and spacing loads",
        "f.csv",
        "Transaction ID, User ID ,Total Cost,DT\nt1,1,1.00,2024-01-01\n",
        ["t1"],
        [],
        "loaded",
    ),
    (
        "camelCase header loads",
        "f.csv",
        "transactionId,userId,totalCost,dt\nt1,1,1.00,2024-01-01\n",
        ["t1"],
        [],
        "loaded",
    ),
]


@pytest.mark.parametrize(
    ("name", "file_name", "content", "loaded", "rejects", "status"), CASES, ids=[c[0] for c in CASES]
)
def test_bad_file_outcome(tx, name, file_name, content, loaded, rejects, status):
    tx.drop(file_name, content, mtime=T0)
    tx.drop("zz_good.csv", HEADER + "good,9,9.00,2024-01-09\n", mtime=T0)
    tx.run()
    loaded_ids = [row[0] for row in tx.rows("select transaction_id from raw_transactions.transactions order by 1")]
    assert loaded_ids == sorted([*loaded, "good"])
    found = [row[1:] for row in tx.rejects() if row[0] == file_name]
    assert [(row, field) for row, field, _ in found] == [(row, field) for row, field, _ in rejects]
    for (_, _, reason), (_, _, fragment) in zip(found, rejects, strict=True):
        assert fragment in reason
    assert tx.files()[file_name][0] == status
    assert tx.files()["zz_good.csv"] == ("loaded", 1, 0)


def test_rejects_are_not_duplicated_by_reruns_or_reloads(tx):
    import dlt

    from extract_load.transactions import transactions_source

    tx.drop("f.csv", HEADER + "t1,1,-1,2024-01-01\nt2,x,1,2024-01-01\n", mtime=T0)
    tx.run()
    before = tx.rejects()
    tx.run()
    pipeline = dlt.pipeline(pipeline_name="transactions", destination="postgres", dataset_name="raw_transactions")
    pipeline.run(transactions_source(reload_files=["f.csv"]), loader_file_format="csv")
    assert tx.rejects() == before
    assert len(before) == 2


def test_raw_record_keeps_the_offending_text(tx):
    tx.drop("f.csv", HEADER.encode() + b"t\xff1,1,1.00,2024-01-01\n", mtime=T0)
    tx.run()
    assert tx.rows("select raw_record from raw_transactions.rejected_rows") == [
        ('{"transaction_id":"t\\\\xff1","user_id":"1","total_cost":"1.00","dt":"2024-01-01"}',)
    ]


def test_extra_columns_land_under_their_identifiers(tx):
    tx.drop("f.csv", "transaction_id,user_id,total_cost,dt,Store Name,giftWrap\nt1,1,1.00,2024-01-01,A,yes\n", mtime=T0)
    tx.run()
    assert tx.rows("select store_name, gift_wrap from raw_transactions.transactions") == [("A", "yes")]


def test_a_reserved_header_blocks_nothing_after_it(tx):
    # the file used to fail the whole run (the COPY named a column the table had as lineage): files sorted
    # after it were not loaded, the state was not saved, and every later run failed the same way
    tx.drop("a.csv", "transaction_id,user_id,total_cost,dt,_source_file\nt1,1,1.00,2024-01-01,x.csv\n", mtime=T0)
    tx.drop("b.csv", HEADER + "t2,2,2.00,2024-01-02\n", mtime=T0)
    tx.run()
    tx.drop("c.csv", HEADER + "t3,3,3.00,2024-01-03\n", mtime=T0 + 60)
    tx.run()
    assert [row[0] for row in tx.transactions()] == ["t2", "t3"]
    assert tx.files()["a.csv"][0] == "rejected"
    assert [row[1:3] for row in tx.rejects()] == [(0, "_source_file")]


def test_a_rejected_file_is_retried_once_it_changes(tx):
    tx.drop("f.csv", "transaction_id;user_id;total_cost;dt\n", mtime=T0)
    tx.run()
    assert tx.files()["f.csv"][0] == "rejected"
    tx.drop("f.csv", HEADER + "t1,1,1.00,2024-01-01\n", mtime=T0 + 60)
    tx.run()
    assert tx.files()["f.csv"] == ("loaded", 1, 0)
    assert [row[0] for row in tx.transactions()] == ["t1"]
