"""`elt backfill` re-reads a range without disturbing incremental state; `elt reset` drops through dlt."""

import os
from datetime import UTC, datetime

import sqlalchemy as sa

from elt.connection import connect
from extract_load.demo_data.app_schema import metadata, users
from tests.elt.test_cli import assert_one_line_error, run_elt
from tests.warehouse_checksums import table_checksums

HEADER = "transaction_id,user_id,total_cost,dt\n"
JAN_2 = datetime(2024, 1, 2, 12, tzinfo=UTC).timestamp()


def _setup(warehouse, tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    for name, body in (("a.csv", "a1,1,1.00,2024-01-01\n"), ("b.csv", "b1,2,2.00,2024-01-02\n")):
        (landing / name).write_text(HEADER + body)
        os.utime(landing / name, (JAN_2, JAN_2))
    app_url = f"sqlite:///{tmp_path / 'app.sqlite'}"
    engine = sa.create_engine(app_url)
    metadata.create_all(engine)
    stamp = datetime(2024, 1, 2, 12, tzinfo=UTC)
    with engine.begin() as conn:
        conn.execute(
            users.insert(),
            [
                {
                    "id": 1,
                    "username": "ana",
                    "email": "ana@example.com",
                    "country_code": "DE",
                    "created_at": stamp,
                    "updated_at": stamp,
                    "deleted_at": None,
                },
                {
                    "id": 2,
                    "username": "ben",
                    "email": "ben@example.com",
                    "country_code": "FR",
                    "created_at": stamp,
                    "updated_at": datetime(2024, 1, 4, tzinfo=UTC),
                    "deleted_at": None,
                },
            ],
        )
    env = {
        "WAREHOUSE_URL": warehouse.url(),
        "ELT_HOME": str(tmp_path / "home"),
        "SOURCES__TRANSACTIONS__BUCKET_URL": str(landing),
        "APP_DB_URL": app_url,
    }
    return env, engine


def _load_ids(warehouse, table):
    with connect(warehouse) as conn:
        return conn.execute(f"select count(distinct _dlt_load_id) from {table}").fetchone()[0]


def test_backfill_files_and_dates(warehouse, tmp_path):
    env, engine = _setup(warehouse, tmp_path)
    assert run_elt("load", "transactions", "app_db", env=env).returncode == 0
    before = table_checksums(warehouse, ["raw_transactions"])
    by_file = run_elt("backfill", "transactions", "--files", "a.*", env=env)
    assert by_file.returncode == 0, by_file.stderr
    assert "transactions" in by_file.stdout and "1 rows" in by_file.stdout
    assert _load_ids(warehouse, "raw_transactions.transactions") == 2
    by_date = run_elt("backfill", "transactions", "--from", "2024-01-02", "--to", "2024-01-02", env=env)
    assert by_date.returncode == 0, by_date.stderr
    assert "2 rows" in by_date.stdout
    assert table_checksums(warehouse, ["raw_transactions"]) == before
    assert _load_ids(warehouse, "raw_transactions.transactions") == 1

    # a change the cursor cannot see (updated_at untouched) is picked up by a backfill of its day only
    with engine.begin() as conn:
        conn.execute(users.update().where(users.c.id == 1).values(email="silent@example.com"))
    assert run_elt("load", "app_db", env=env).returncode == 0
    with connect(warehouse) as conn:
        assert conn.execute("select email from raw_app.users where id = 1").fetchone() == ("ana@example.com",)
    outside = run_elt("backfill", "app_db", "--from", "2024-01-03", "--to", "2024-01-05", env=env)
    assert outside.returncode == 0, outside.stderr
    with connect(warehouse) as conn:
        assert conn.execute("select email from raw_app.users where id = 1").fetchone() == ("ana@example.com",)
    inside = run_elt("backfill", "app_db", "--from", "2024-01-02", "--to", "2024-01-02", env=env)
    assert inside.returncode == 0, inside.stderr
    with connect(warehouse) as conn:
        assert conn.execute("select email from raw_app.users where id = 1").fetchone() == ("silent@example.com",)
    assert_one_line_error(run_elt("backfill", "app_db", "--files", "x", env=env), "no files")
    assert_one_line_error(run_elt("backfill", "transactions", env=env), "needs --from/--to dates or --files")


def test_reset_drops_tables_and_state_then_a_load_rebuilds_the_same(warehouse, tmp_path):
    env, _ = _setup(warehouse, tmp_path)
    assert run_elt("load", "transactions", env=env).returncode == 0
    before = table_checksums(warehouse, ["raw_transactions"])
    refused = run_elt("reset", "transactions", env=env)
    assert_one_line_error(refused, "add --yes")
    reset = run_elt("reset", "transactions", "--yes", env=env)
    assert reset.returncode == 0, reset.stderr
    assert "loaded_files" in reset.stdout and "transactions" in reset.stdout
    with connect(warehouse) as conn:
        left = conn.execute(
            "select table_name from information_schema.tables where table_schema = 'raw_transactions' "
            "and table_name not like '\\_dlt%' order by 1"
        ).fetchall()
    assert left == []
    assert run_elt("load", "transactions", env=env).returncode == 0
    assert table_checksums(warehouse, ["raw_transactions"]) == before


def test_reset_after_a_dbt_build_drops_what_dbt_built_on_the_source(warehouse, tmp_path):
    # dbt's staging views depend on the raw tables: dlt's drop failed half-way (state gone, rows kept) and
    # the next load mixed new files into the old rows
    env, _ = _setup(warehouse, tmp_path)
    assert run_elt("load", "transactions", "app_db", env=env).returncode == 0
    built = run_elt("transform", env=env, timeout=600)
    assert built.returncode == 0, built.stdout[-4000:] + built.stderr

    reset = run_elt("reset", "transactions", "--yes", env=env)

    assert reset.returncode == 0, reset.stderr
    assert "Traceback" not in reset.stderr
    assert "staging.stg_transactions__transactions" in reset.stdout
    assert "marts.fct_transactions" in reset.stdout
    assert "marts.dim_users" not in reset.stdout
    other = tmp_path / "other-landing"
    other.mkdir()
    (other / "c.csv").write_text(HEADER + "c1,1,3.00,2024-01-03\nc2,2,4.00,2024-01-03\n")
    env = {**env, "SOURCES__TRANSACTIONS__BUCKET_URL": str(other)}
    assert run_elt("load", "transactions", env=env).returncode == 0
    with connect(warehouse) as conn:
        raw = conn.execute("select transaction_id from raw_transactions.transactions order by 1").fetchall()
    assert raw == [("c1",), ("c2",)]
    rebuilt = run_elt("transform", env=env, timeout=600)
    assert rebuilt.returncode == 0, rebuilt.stdout[-4000:] + rebuilt.stderr
    with connect(warehouse) as conn:
        facts = conn.execute("select transaction_id from marts.fct_transactions order by 1").fetchall()
        snapshot_rows = conn.execute("select count(*) from snapshots.snap_users").fetchone()[0]
    assert facts == [("c1",), ("c2",)]
    assert snapshot_rows == 2
