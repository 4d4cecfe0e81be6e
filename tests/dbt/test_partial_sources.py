"""A warehouse where only some sources were loaded builds: `elt load SOURCE...` then `elt transform` exit 0.

Models whose input was never loaded build empty (staging reads a missing raw table as an empty stand-in with
the columns its source YAML declares), source tests of missing tables pass on the stand-in, and freshness is
not checked for tables never loaded or switched off, with one line each saying so.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from psycopg import sql

from elt.connection import connect
from elt.warehouse_target import WarehouseTarget
from extract_load.demo_data.generator import DemoConfig, DemoData
from tests.elt.test_cli import run_elt

SMALL_DEMO = DemoConfig(days=10, users=40)
# replay answers 404 for an id it holds no recording of: with a one-request budget spent on it, no lookup
# is ever found and raw_neows.lookups never exists
NO_LOOKUP_FOUND = {"SOURCES__NEOWS__LOOKUP_IDS": '["1"]', "SOURCES__NEOWS__LOOKUP_BUDGET": "1"}
BROWSE_OFF = {"SOURCES__NEOWS__BROWSE_MAX_PAGES": "0"}


def _environment(warehouse: WarehouseTarget, tmp_path: Path, extra: dict[str, str]) -> dict[str, str]:
    demo = DemoData(f"sqlite:///{tmp_path / 'app.sqlite'}", tmp_path / "landing", tmp_path / "state.json", SMALL_DEMO)
    demo.generate_base()
    return {
        "WAREHOUSE_URL": warehouse.url(),
        "ELT_HOME": str(tmp_path / "home"),
        "DLT_DATA_DIR": str(tmp_path / "dlt-data"),
        "SOURCES__TRANSACTIONS__BUCKET_URL": str(demo.landing),
        "APP_DB_URL": demo.app_url,
        **extra,
    }


def _rows(warehouse: WarehouseTarget, relation: str) -> int:
    schema, name = relation.split(".")
    with connect(warehouse) as conn:
        query = sql.SQL("select count(*) from {}.{}").format(sql.Identifier(schema), sql.Identifier(name))
        return int(conn.execute(query).fetchone()[0])


def _load_and_transform(env: dict[str, str], sources: tuple[str, ...]) -> str:
    """Run `elt load SOURCES` and `elt transform`; both must succeed. Returns transform's stderr."""
    load = run_elt("load", *sources, env=env, timeout=300)
    assert load.returncode == 0, load.stdout + load.stderr
    transform = run_elt("transform", env=env, timeout=600)
    assert transform.returncode == 0, transform.stdout[-6000:] + transform.stderr
    assert "ERROR=0" in transform.stdout
    return transform.stderr


def _skipped_freshness(stderr: str) -> set[str]:
    prefix = "elt: freshness of source "
    return {line.removeprefix(prefix).split(" ")[0] for line in stderr.splitlines() if line.startswith(prefix)}


@pytest.mark.slow
def test_transactions_only(warehouse: WarehouseTarget, tmp_path: Path) -> None:
    env = _environment(warehouse, tmp_path, {})

    stderr = _load_and_transform(env, ("transactions",))

    assert _skipped_freshness(stderr) == {
        "app.users",
        "app.orders",
        "app.dlt_loads",
        "neows.asteroids",
        "neows.close_approaches",
        "neows.browse_asteroids",
        "neows.browse_close_approaches",
        "neows.dlt_loads",
    }
    assert "raw_app.users was never loaded" in stderr
    assert _rows(warehouse, "marts.fct_transactions") > 0
    assert _rows(warehouse, "staging.stg_app__users") == 0
    assert _rows(warehouse, "marts.dim_users") == 0
    assert _rows(warehouse, "marts.dim_asteroids") == 0
    # every transaction is an orphan without an application database, and still counted in the marts
    assert _rows(warehouse, "marts.fct_daily_revenue_by_country") > 0

    # the weekly customer-value run of the README: dbt's flags through elt transform
    weekly = run_elt("transform", "--vars", "{clv_time_unit: week}", "--select", "+clv_model_parameters", env=env)
    assert weekly.returncode == 0, weekly.stdout[-6000:] + weekly.stderr
    with connect(warehouse) as conn:
        units = conn.execute("select time_unit from marts.clv_model_parameters order by fitted_at").fetchall()
        rfm_units = conn.execute("select distinct time_unit from intermediate.int_customers_rfm").fetchall()
    assert units == [("day",), ("week",)]
    assert rfm_units == [("week",)]
    assert "model marts.customer_lifetime_value" not in weekly.stdout
    assert "model marts.clv_model_parameters" in weekly.stdout


@pytest.mark.slow
def test_app_db_only(warehouse: WarehouseTarget, tmp_path: Path) -> None:
    env = _environment(warehouse, tmp_path, {})

    stderr = _load_and_transform(env, ("app_db",))

    assert {"transactions.transactions", "transactions.loaded_files", "neows.asteroids"} <= _skipped_freshness(stderr)
    assert "app.users" not in _skipped_freshness(stderr)
    assert _rows(warehouse, "marts.dim_users") == _rows(warehouse, "staging.stg_app__users") > 0
    assert _rows(warehouse, "marts.fct_transactions") == 0
    assert _rows(warehouse, "marts.customer_lifetime_value") == 0


@pytest.mark.slow
def test_neows_only_with_browse_off(warehouse: WarehouseTarget, tmp_path: Path) -> None:
    env = _environment(warehouse, tmp_path, BROWSE_OFF)

    stderr = _load_and_transform(env, ("neows",))

    skipped = _skipped_freshness(stderr)
    assert {"neows.browse_asteroids", "neows.browse_close_approaches", "transactions.transactions"} <= skipped
    assert "neows.asteroids" not in skipped
    assert "sources.neows.browse_max_pages is off" in stderr
    assert _rows(warehouse, "marts.dim_asteroids") > 0
    assert _rows(warehouse, "staging.stg_neows__browse_asteroids") == 0
    assert _rows(warehouse, "marts.fct_transactions") == 0


@pytest.mark.slow
def test_all_three_with_no_lookup_found(warehouse: WarehouseTarget, tmp_path: Path) -> None:
    env = _environment(warehouse, tmp_path, NO_LOOKUP_FOUND)

    stderr = _load_and_transform(env, ("transactions", "app_db", "neows"))

    assert _skipped_freshness(stderr) == set()
    with connect(warehouse) as conn:
        assert conn.execute("select to_regclass('raw_neows.lookups')").fetchone()[0] is None
        assert conn.execute("select status from raw_neows.lookup_status").fetchall() == [("not_found",)]
    assert _rows(warehouse, "staging.stg_neows__lookups") == 0
    assert _rows(warehouse, "marts.dim_asteroids") > 0
    assert _rows(warehouse, "marts.asteroid_earth_moid") > 0
    assert _rows(warehouse, "marts.dim_users") > 0
