"""The application-database pipeline against real source databases (SQLite, PostgreSQL, MariaDB if reachable)."""

import importlib
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from psycopg import sql

from elt.connection import connect
from extract_load.demo_data.app_schema import metadata, orders, users
from tests.warehouse_checksums import table_checksums

T0 = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def app_url(request, tmp_path, server_admin):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'app.sqlite'}"
    elif request.param == "postgresql":
        name = f"app_{uuid.uuid4().hex[:10]}"
        with connect(server_admin) as conn:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
        target = server_admin.with_database(name)
        yield target.url().replace("postgresql://", "postgresql+psycopg://", 1)
        with connect(server_admin) as conn:
            conn.execute(sql.SQL("drop database {} with (force)").format(sql.Identifier(name)))
    else:
        pytest.importorskip("pymysql")
        name = f"app_{uuid.uuid4().hex[:10]}"
        admin = sa.create_engine("mysql+pymysql://root@127.0.0.1:3306/")
        try:
            with admin.connect() as conn:
                conn.execute(sa.text(f"create database {name}"))
        except sa.exc.OperationalError:
            pytest.skip("no MariaDB reachable on 127.0.0.1:3306")
        yield f"mysql+pymysql://root@127.0.0.1:3306/{name}"
        with admin.connect() as conn:
            conn.execute(sa.text(f"drop database {name}"))


@pytest.fixture
def app(app_url, warehouse_env, monkeypatch):
    engine = sa.create_engine(app_url)
    metadata.create_all(engine)
    monkeypatch.setenv("APP_DB_URL", app_url)
    yield engine
    engine.dispose()


def _user(uid, *, updated=T0, deleted=None, email=None):
    return {
        "id": uid,
        "username": f"user{uid}",
        "email": email or f"user{uid}@example.com",
        "country_code": "DE",
        "created_at": T0,
        "updated_at": updated,
        "deleted_at": deleted,
    }


def _order(oid, uid, amount="10.00", status="paid", updated=T0):
    return {
        "id": oid,
        "user_id": uid,
        "status": status,
        "amount": Decimal(amount),
        "created_at": T0,
        "updated_at": updated,
    }


def _run():
    return importlib.import_module("extract_load.app_db_pipeline").run()


def _rows(warehouse, query):
    with connect(warehouse) as conn:
        return conn.execute(query).fetchall()


def test_incremental_merge_soft_and_hard_deletes(app, warehouse_env):
    with app.begin() as conn:
        conn.execute(users.insert(), [_user(1), _user(2), _user(3)])
        conn.execute(orders.insert(), [_order(10, 1), _order(11, 2, "5.50")])
    _run()
    first = table_checksums(warehouse_env, ["raw_app"], ignore_columns=["detected_at"])
    _run()
    assert table_checksums(warehouse_env, ["raw_app"], ignore_columns=["detected_at"]) == first

    later = T0 + timedelta(hours=1)
    with app.begin() as conn:
        conn.execute(users.update().where(users.c.id == 1).values(email="new@example.com", updated_at=later))
        conn.execute(users.update().where(users.c.id == 2).values(deleted_at=later, updated_at=later))
        conn.execute(users.delete().where(users.c.id == 3))
        conn.execute(users.insert(), [_user(4, updated=later)])
        conn.execute(orders.update().where(orders.c.id == 11).values(status="refunded", updated_at=later))
    _run()
    assert _rows(warehouse_env, "select id, email, deleted_at is not null from raw_app.users order by id") == [
        (1, "new@example.com", False),
        (2, "user2@example.com", True),
        (3, "user3@example.com", False),
        (4, "user4@example.com", False),
    ]
    assert _rows(warehouse_env, "select source_table, id, is_deleted from raw_app.deleted_keys") == [("users", 3, True)]
    assert _rows(warehouse_env, "select id, status, amount::text from raw_app.orders order by id") == [
        (10, "paid", "10.00"),
        (11, "refunded", "5.50"),
    ]
    settled = table_checksums(warehouse_env, ["raw_app"], ignore_columns=["detected_at"])
    _run()
    assert table_checksums(warehouse_env, ["raw_app"], ignore_columns=["detected_at"]) == settled

    with app.begin() as conn:
        conn.execute(users.insert(), [_user(3, updated=later + timedelta(hours=1))])
    _run()
    assert _rows(warehouse_env, "select id, is_deleted from raw_app.deleted_keys") == [(3, False)]


def test_late_rows_inside_the_lookback_window_are_picked_up(app, warehouse_env):
    with app.begin() as conn:
        conn.execute(users.insert(), [_user(1, updated=T0 + timedelta(minutes=10))])
    _run()
    with app.begin() as conn:
        # committed after the first load, but stamped earlier than the cursor (a long transaction)
        conn.execute(users.insert(), [_user(2, updated=T0 + timedelta(minutes=9))])
    _run()
    assert _rows(warehouse_env, "select id from raw_app.users order by id") == [(1,), (2,)]
