"""One warehouse database with small demo data loaded by the real dlt pipelines and built by dbt, in two days.

dbt's staging models read the raw tables through ``source()``, so they must exist (unit tests also read
their column types from the database). Like ``elt demo``, but with a dbt build after each load:

1. base period (30 days, 300 users) loaded, ``dbt build`` (full: the incremental fact is created, the
   users snapshot takes its first versions);
2. next day (new, updated, soft- and hard-deleted users, new transactions, bad rows) plus a corrected
   copy of an old transaction and a late transaction with an old business date, loaded, then an
   incremental ``dbt build`` with ``incremental_lookback_hours: 0``, so only the incremental logic (not a
   lookback covering everything loaded seconds ago) brings the changes in.

Loading and building take ~30 s, so one database is shared by every test in ``tests/dbt`` (session scope);
the process environment points at it only while a fixture or a test that asked for ``demo_env`` runs, never
for the rest of the session. Tests must not change its data; a test that rebuilds a model with other vars
rebuilds it as it was afterwards.
"""

from __future__ import annotations

import csv
import importlib
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from psycopg import sql

from elt.bootstrap import apply_bootstrap
from elt.connection import connect
from elt.dbt_invocation import DbtSession
from elt.project import ProjectPaths
from elt.warehouse import Warehouse
from elt.warehouse_target import WarehouseTarget
from extract_load.demo_data.generator import DemoConfig, DemoData, StepSummary
from tests.conftest import drop_warehouse_database

DEMO = DemoConfig(days=30, users=300)
PIPELINES = ("transactions", "app_db", "neows")
CORRECTIONS_FILE = "corrections/transactions_corrections.csv"
INCREMENTAL_VARS = "{incremental_lookback_hours: 0}"


@dataclass(frozen=True)
class DemoWarehouse:
    """The shared test warehouse, its environment, and what the demo generator wrote into it."""

    target: WarehouseTarget
    environment: dict[str, str]
    base: StepSummary
    next_day: StepSummary
    corrected_transaction_id: str
    late_transaction_id: str
    incremental_rows_merged: int


@contextmanager
def exported(environment: dict[str, str]) -> Iterator[None]:
    """Set ``environment`` in this process for the block, then restore what was there."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in environment.items():
            patch.setenv(name, value)
        yield


def demo_environment(target: WarehouseTarget, repo_paths: ProjectPaths, generator: DemoData, folder: Path) -> dict:
    """What the pipelines and dbt need to load ``generator``'s demo data into ``target`` (isolated dlt state)."""
    with exported({"WAREHOUSE_URL": target.url()}):
        derived = Warehouse.resolve(repo_paths).environment()
    return {
        **derived,
        "WAREHOUSE_URL": target.url(),
        "DLT_DATA_DIR": str(folder / "dlt-data"),
        "APP_DB_URL": generator.app_url,
        "SOURCES__TRANSACTIONS__BUCKET_URL": str(generator.landing),
    }


def run_pipelines(names: tuple[str, ...]) -> None:
    """Run the named ``extract_load/<name>_pipeline.py`` pipelines in this process, in order."""
    for name in names:
        importlib.import_module(f"extract_load.{name}_pipeline").run()


def _write_corrections(generator: DemoData, target: WarehouseTarget) -> tuple[str, str]:
    """A later file re-sending an old transaction with a new amount, and a late one for an old date."""
    with connect(target) as conn:
        corrected_id, user_id, total_cost, day = conn.execute(
            "select transaction_id, user_id, total_cost, dt from raw_transactions.transactions "
            "where user_id < 900000 order by dt, transaction_id limit 1"
        ).fetchone()
    late_id = f"tx-late-{day:%Y%m%d}-00001"
    path = generator.landing / CORRECTIONS_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(("transaction_id", "user_id", "total_cost", "dt"))
        writer.writerow((corrected_id, user_id, f"{total_cost + 100:.2f}", day.isoformat()))
        writer.writerow((late_id, user_id, "12.34", day.isoformat()))
    return corrected_id, late_id


def _rows_affected(result, model: str) -> int:
    for node_result in result.result.results:
        if node_result.node.name == model:
            return int(node_result.adapter_response.get("rows_affected", -1))
    raise AssertionError(f"{model} did not run")


@pytest.fixture(scope="session")
def demo_warehouse(
    server_admin: WarehouseTarget, repo_paths: ProjectPaths, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DemoWarehouse]:
    """A bootstrapped database with the two demo days loaded and built (see the module docstring)."""
    target = server_admin.with_database(f"elt_test_{uuid.uuid4().hex[:10]}")
    with connect(server_admin) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(target.dbname)))
    try:
        apply_bootstrap(target)
        folder = tmp_path_factory.mktemp("dbt-demo")
        generator = DemoData(f"sqlite:///{folder / 'app.sqlite'}", folder / "landing", folder / "state.json", DEMO)
        environment = demo_environment(target, repo_paths, generator, folder)
        session = DbtSession(repo_paths)
        with exported(environment):
            base = generator.generate_base()
            run_pipelines(PIPELINES)
            session.invoke("build")
            next_day = generator.next_day()
            corrected_id, late_id = _write_corrections(generator, target)
            run_pipelines(("transactions", "app_db"))
            incremental = session.invoke("build", "--vars", INCREMENTAL_VARS)
        assert base is not None
        yield DemoWarehouse(
            target,
            environment,
            base,
            next_day,
            corrected_id,
            late_id,
            _rows_affected(incremental, "fct_transactions"),
        )
    finally:
        drop_warehouse_database(server_admin, target)


@pytest.fixture(scope="session")
def dbt_session(repo_paths: ProjectPaths) -> DbtSession:
    """One parsed dbt project for the tests (dbt start-up costs seconds)."""
    return DbtSession(repo_paths)


@pytest.fixture
def demo_env(demo_warehouse: DemoWarehouse) -> Iterator[DemoWarehouse]:
    """The built demo warehouse, exported to the environment for the test (for dbt invocations)."""
    with exported(demo_warehouse.environment):
        assert os.environ["WAREHOUSE_DB"] == demo_warehouse.target.dbname
        yield demo_warehouse
