"""Demo data: deterministic, with repeat buyers, and a next-day delta that moves only what changed."""

import hashlib
import importlib
from collections import Counter

import sqlalchemy as sa

from elt.connection import connect
from extract_load.demo_data.generator import DemoConfig, DemoData

SMALL = DemoConfig(days=30, users=300)


def _digest(folder):
    return {
        str(path.relative_to(folder)): hashlib.md5(path.read_bytes()).hexdigest()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def _generator(tmp_path, name):
    return DemoData(
        f"sqlite:///{tmp_path / name}.sqlite", tmp_path / name / "landing", tmp_path / name / "state.json", SMALL
    )


def _table_rows(url, table):
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(sa.text(f"select * from {table} order by id")).all()
    engine.dispose()
    return rows


def test_generation_is_deterministic(tmp_path):
    first, second = _generator(tmp_path, "a"), _generator(tmp_path, "b")
    for generator in (first, second):
        generator.generate_base()
        generator.next_day()
    assert _digest(first.landing) == _digest(second.landing)
    for table in ("users", "orders"):
        assert _table_rows(first.app_url, table) == _table_rows(second.app_url, table)
    assert first.generate_base() is None


def test_customers_buy_repeatedly_and_files_cover_every_day_in_several_formats(tmp_path):
    generator = _generator(tmp_path, "a")
    summary = generator.generate_base()
    assert len(summary.files) == SMALL.days
    assert {name.split(".", 1)[1] for name in summary.files} == {"csv", "csv.gz", "jsonl", "parquet"}
    purchases_per_user = Counter(row.user_id for row in _table_rows(generator.app_url, "orders"))
    repeat_buyers = sum(1 for count in purchases_per_user.values() if count > 1)
    assert repeat_buyers >= 30
    assert max(purchases_per_user.values()) >= 5


def test_demo_base_then_next_day_moves_only_the_delta(tmp_path, warehouse_env, monkeypatch):
    generator = _generator(tmp_path, "a")
    monkeypatch.setenv("APP_DB_URL", generator.app_url)
    monkeypatch.setenv("SOURCES__TRANSACTIONS__BUCKET_URL", str(generator.landing))
    base = generator.generate_base()
    transactions = importlib.import_module("extract_load.transactions_pipeline")
    app_db = importlib.import_module("extract_load.app_db_pipeline")
    transactions.run()
    app_db.run()
    with connect(warehouse_env) as conn:
        loaded = conn.execute(
            "select count(*), count(distinct _dlt_load_id) from raw_transactions.transactions"
        ).fetchone()
    assert loaded == (base.transactions, 1)

    delta = generator.next_day()
    transactions.run()
    app_db.run()
    with connect(warehouse_env) as conn:
        per_load = conn.execute(
            "select count(*) from raw_transactions.transactions group by _dlt_load_id order by min(_dlt_load_id)"
        ).fetchall()
        rejects = conn.execute("select field, reason from raw_transactions.rejected_rows order by field").fetchall()
        users_per_load = conn.execute(
            "select count(*) from raw_app.users group by _dlt_load_id order by min(_dlt_load_id)"
        ).fetchall()
        deleted = conn.execute("select count(*) from raw_app.deleted_keys where is_deleted").fetchone()[0]
        soft = conn.execute("select count(*) from raw_app.users where deleted_at is not null").fetchone()[0]
    assert per_load == [(base.transactions,), (delta.transactions,)]
    assert [field for field, _ in rejects] == ["dt", "total_cost", "user_id"]
    assert users_per_load[0][0] >= base.users_added - delta.users_updated - delta.users_soft_deleted - 1
    assert users_per_load[-1][0] >= delta.users_added + delta.users_updated + delta.users_soft_deleted
    assert deleted == delta.users_hard_deleted
    assert soft == delta.users_soft_deleted
