"""One warehouse database with small demo data loaded by the real dlt pipelines, built once by dbt.

dbt's staging models read the raw tables through ``source()``, so they must exist (unit tests also read
their column types from the database). Loading and building take ~20 s, so one database is shared by every
test in ``tests/dbt`` (session scope); the process environment points at it only while a fixture or a
test that asked for ``demo_env`` runs, never for the rest of the session. Tests must not change its data;
a test that rebuilds a model with other vars rebuilds it with the defaults afterwards.
"""

from __future__ import annotations

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


@dataclass(frozen=True)
class DemoWarehouse:
    """The shared test warehouse, its environment, and what the demo generator wrote into it."""

    target: WarehouseTarget
    environment: dict[str, str]
    base: StepSummary
    next_day: StepSummary


@contextmanager
def exported(environment: dict[str, str]) -> Iterator[None]:
    """Set ``environment`` in this process for the block, then restore what was there."""
    with pytest.MonkeyPatch.context() as patch:
        for name, value in environment.items():
            patch.setenv(name, value)
        yield


def _environment(target: WarehouseTarget, repo_paths: ProjectPaths, generator: DemoData, folder: Path) -> dict:
    with exported({"WAREHOUSE_URL": target.url()}):
        derived = Warehouse.resolve(repo_paths).environment()
    return {
        **derived,
        "WAREHOUSE_URL": target.url(),
        "DLT_DATA_DIR": str(folder / "dlt-data"),
        "APP_DB_URL": generator.app_url,
        "SOURCES__TRANSACTIONS__BUCKET_URL": str(generator.landing),
    }


def _run_pipelines(names: tuple[str, ...]) -> None:
    for name in names:
        importlib.import_module(f"extract_load.{name}_pipeline").run()


@pytest.fixture(scope="session")
def demo_warehouse(
    server_admin: WarehouseTarget, repo_paths: ProjectPaths, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DemoWarehouse]:
    """A bootstrapped database loaded like ``elt demo`` does (base period, load, next day, load), small."""
    target = server_admin.with_database(f"elt_test_{uuid.uuid4().hex[:10]}")
    with connect(server_admin) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(target.dbname)))
    try:
        apply_bootstrap(target)
        folder = tmp_path_factory.mktemp("dbt-demo")
        generator = DemoData(f"sqlite:///{folder / 'app.sqlite'}", folder / "landing", folder / "state.json", DEMO)
        environment = _environment(target, repo_paths, generator, folder)
        with exported(environment):
            base = generator.generate_base()
            _run_pipelines(PIPELINES)
            next_day = generator.next_day()
            _run_pipelines(("transactions", "app_db"))
        assert base is not None
        yield DemoWarehouse(target, environment, base, next_day)
    finally:
        drop_warehouse_database(server_admin, target)


@pytest.fixture(scope="session")
def dbt_session(repo_paths: ProjectPaths) -> DbtSession:
    """One parsed dbt project for the whole session (dbt start-up costs seconds)."""
    return DbtSession(repo_paths)


@pytest.fixture(scope="session")
def built_warehouse(demo_warehouse: DemoWarehouse, dbt_session: DbtSession) -> DemoWarehouse:
    """The demo warehouse after a successful ``dbt build`` (every model, unit test and data test)."""
    with exported(demo_warehouse.environment):
        dbt_session.invoke("build")
    return demo_warehouse


@pytest.fixture
def demo_env(built_warehouse: DemoWarehouse) -> Iterator[DemoWarehouse]:
    """The built demo warehouse, exported to the environment for the test (for dbt invocations)."""
    with exported(built_warehouse.environment):
        assert os.environ["WAREHOUSE_DB"] == built_warehouse.target.dbname
        yield built_warehouse
