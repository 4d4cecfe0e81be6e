"""Fixtures for the pgpython adapter tests: a copy of a fixture dbt project, its source data, dbt in-process.

``pyproj`` copies ``projects/pyproj`` to the test's folder (so ``target/`` and edits stay there), creates the
source tables in the test's warehouse as the loader role, and returns a :class:`DbtProject` to run dbt with.
``built_pyproj`` is one shared, already built project (module scope) for tests that only read its results.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from dbt.cli.main import dbtRunner, dbtRunnerResult
from psycopg import sql

from elt.bootstrap import apply_bootstrap
from elt.connection import connect
from elt.warehouse_target import WarehouseTarget
from tests.conftest import drop_warehouse_database

PROJECTS = Path(__file__).resolve().parent / "projects"

TYPE_SAMPLES_DDL = """
create table raw_app.type_samples (
    sample_id integer primary key,
    big bigint,
    small smallint,
    ratio double precision,
    amount numeric(12, 2),
    wide_amount numeric(30, 10),
    free_numeric numeric,
    label text,
    code varchar(10),
    flag boolean,
    day date,
    happened_at timestamptz,
    local_at timestamp
)
"""
# one row per edge case; row 1 is all NULLs
TYPE_SAMPLES_ROWS = """
insert into raw_app.type_samples values
(1, null, null, null, null, null, null, null, null, null, null, null, null),
(2, 9223372036854775807, 32767, 0.1, 9999999999.99, 12345678901234567890.0123456789, 1.5,
    E'two\\nlines, "quoted", \\ttabbed', 'x', true, '1899-12-31', '1969-07-20 20:17:40.5+00',
    '1999-12-31 23:59:59.999999'),
(3, -9223372036854775808, -32768, 'NaN', -0.01, -0.0000000001, -123456789012345678901234567890.12345,
    '', '', false, '0001-01-01', '2024-03-31 01:30:00.123456+02', '1970-01-01 00:00:00'),
(4, 0, 0, 'Infinity', 0, 0, 0, E'back\\\\slash \\\\. and \\r\\n crlf', 'é✓', null, '2000-02-29',
    '1900-01-01 00:00:00+00', '1900-01-01 12:00:00'),
(5, 42, 7, '-Infinity', 0.5, 1, 1e-20, 'NULL', '\\N', true, '2038-01-19', '2262-04-11 23:47:16.854775+00',
    '0001-01-01 00:00:00'),
(6, 1, 1, 1e-300, 1.23, 2, 99999999999999999999, ',', ' ', false, '1970-01-01', 'epoch', 'epoch'),
(7, 2, 2, -0.0, 4.56, 3, -0.5, '"', '""', true, '1600-03-01', '1600-03-01 00:00:00.000001+00',
    '9999-12-31 23:59:59.999999')
"""
EVENTS_DDL = """
create table raw_app.events (
    event_id integer primary key,
    user_id integer not null,
    amount numeric(12, 2),
    updated_at timestamptz not null
)
"""


def insert_events(target: WarehouseTarget, rows: list[tuple[int, int, str | None, str]]) -> None:
    """Insert or update events (event_id, user_id, amount, updated_at) in the source, as the loader."""
    with connect(target, role="loader") as conn:
        conn.cursor().executemany(
            """
            insert into raw_app.events values (%s, %s, %s, %s)
            on conflict (event_id) do update
            set user_id = excluded.user_id, amount = excluded.amount, updated_at = excluded.updated_at
            """,
            rows,
        )


FIRST_EVENTS = [
    (1, 10, "10.50", "2024-01-01 10:00+00"),
    (2, 10, "0.01", "2024-01-02 10:00+00"),
    (3, 20, None, "2024-01-03 10:00+00"),
    (4, 30, "-5.25", "2024-01-04 10:00+00"),
]
# event 2 updated, events 5 and 6 new
SECOND_EVENTS = [
    (2, 10, "100.00", "2024-02-01 10:00+00"),
    (5, 20, "7.77", "2024-02-02 10:00+00"),
    (6, 40, "1.00", "2024-02-03 10:00+00"),
]


def create_sources(target: WarehouseTarget) -> None:
    """Create and fill ``raw_app.type_samples`` and ``raw_app.events`` as the loader role."""
    with connect(target, role="loader") as conn:
        conn.execute(TYPE_SAMPLES_DDL)
        conn.execute(TYPE_SAMPLES_ROWS)
        conn.execute(EVENTS_DDL)
    insert_events(target, FIRST_EVENTS)


@dataclass
class DbtProject:
    """A fixture dbt project copied to a scratch folder, run with dbt in-process against ``target``."""

    path: Path
    target: WarehouseTarget
    events: list[Any] = field(default_factory=list)

    def dbt(self, *args: str, expect_success: bool = True) -> dbtRunnerResult:
        """Run ``dbt <args>`` on this project; assert the outcome (success unless told otherwise)."""
        self.events.clear()
        runner = dbtRunner(callbacks=[self.events.append])
        result = runner.invoke(
            [*args, "--project-dir", str(self.path), "--profiles-dir", str(self.path), "--no-use-colors"]
        )
        if expect_success and not result.success:
            raise AssertionError(f"dbt {' '.join(args)} failed: {result.exception}\n{self.failures(result)}")
        if not expect_success:
            assert not result.success, f"dbt {' '.join(args)} unexpectedly succeeded"
        return result

    def log_text(self) -> str:
        """Every message dbt logged during the last command (what its console output shows, and more)."""
        return "\n".join(event.info.msg for event in self.events)

    @staticmethod
    def failures(result: dbtRunnerResult) -> str:
        """Messages of the failed nodes of a run/build result."""
        rows = getattr(result.result, "results", None) or []
        return "\n".join(f"{r.node.name}: {r.message}" for r in rows if str(r.status) in {"error", "fail"})

    def write_model(self, relative: str, text: str) -> None:
        """Replace (or add) a file of the project, e.g. ``models/marts/x.py``."""
        (self.path / relative).write_text(text, encoding="utf-8")


def copy_project(name: str, destination: Path, target: WarehouseTarget) -> DbtProject:
    """Copy ``projects/<name>`` to ``destination`` and return it as a :class:`DbtProject`."""
    shutil.copytree(PROJECTS / name, destination)
    return DbtProject(destination, target)


def query(target: WarehouseTarget, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Rows of a query run as the superuser of the test's database."""
    with connect(target) as conn:
        return conn.execute(statement, params).fetchall()


def relation_names(target: WarehouseTarget) -> list[str]:
    """Every table/view of the non-system schemas (temporary ones included), as ``schema.name``."""
    rows = query(
        target,
        """
        select n.nspname || '.' || c.relname from pg_class as c join pg_namespace as n on n.oid = c.relnamespace
        where c.relkind in ('r', 'v', 'm', 'p') and n.nspname not in ('pg_catalog', 'information_schema')
        order by 1
        """,
    )
    return [name for (name,) in rows]


@pytest.fixture
def pyproj(warehouse_env: WarehouseTarget, tmp_path: Path) -> DbtProject:
    """The ``pyproj`` fixture project with its sources, on the test's own warehouse database."""
    create_sources(warehouse_env)
    return copy_project("pyproj", tmp_path / "pyproj", warehouse_env)


@pytest.fixture(scope="module")
def module_warehouse_env(server_admin: WarehouseTarget) -> Iterator[WarehouseTarget]:
    """Like ``warehouse_env``, for a whole module: one database, exported the way profiles.yml reads it."""
    target = server_admin.with_database(f"elt_test_{uuid.uuid4().hex[:10]}")
    with connect(server_admin) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(target.dbname)))
    apply_bootstrap(target)
    with pytest.MonkeyPatch.context() as monkeypatch:
        for name, value in target.environment().items():
            monkeypatch.setenv(name, value)
        try:
            yield target
        finally:
            drop_warehouse_database(server_admin, target)


@pytest.fixture(scope="module")
def built_pyproj(module_warehouse_env: WarehouseTarget, tmp_path_factory: pytest.TempPathFactory) -> DbtProject:
    """``pyproj`` after one successful ``dbt build`` (shared by the tests of a module; do not modify)."""
    create_sources(module_warehouse_env)
    project = copy_project("pyproj", tmp_path_factory.mktemp("built") / "pyproj", module_warehouse_env)
    project.dbt("build")
    return project
