"""Shared fixtures: one PostgreSQL server per test session, one fresh warehouse database per test.

The server is ``WAREHOUSE_URL``'s when that is set (e.g. the machine's PostgreSQL), else an embedded
server started in a temporary folder for the session and deleted afterwards. Each test that asks for
``warehouse`` gets its own database, bootstrapped with the fixed schemas and its own three roles
(prefixed with the database name), dropped again after the test.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from psycopg import sql

from elt.bootstrap import apply_bootstrap
from elt.connection import connect
from elt.embedded_server import EmbeddedServer
from elt.project import ProjectPaths
from elt.warehouse import Warehouse
from elt.warehouse_target import ROLE_KINDS, WarehouseTarget

REPO_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo_paths() -> ProjectPaths:
    """Paths of this checkout."""
    return ProjectPaths(REPO_ROOT)


@pytest.fixture(scope="session")
def server_admin() -> Iterator[WarehouseTarget]:
    """Superuser connection target (maintenance database) of the session's PostgreSQL server.

    The embedded server lives in a folder of its own, not under pytest's ``tmp_path`` root: pytest prunes
    old ``pytest-N`` folders, which would delete a server still used by a concurrent pytest session.
    """
    url = os.environ.get("WAREHOUSE_URL", "").strip()
    if url:
        yield WarehouseTarget.from_url(url).with_database("postgres")
        return
    server = EmbeddedServer(home=Path(tempfile.mkdtemp(prefix="elt-test-warehouse-")))
    server.start()
    try:
        yield server.target("postgres")
    finally:
        server.purge()


@pytest.fixture
def warehouse_factory(server_admin: WarehouseTarget) -> Iterator[Callable[[], WarehouseTarget]]:
    """Make fresh, bootstrapped warehouse databases; each is dropped with its roles after the test."""
    made: list[WarehouseTarget] = []

    def make() -> WarehouseTarget:
        target = server_admin.with_database(f"elt_test_{uuid.uuid4().hex[:10]}")
        with connect(server_admin) as conn:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(target.dbname)))
        made.append(target)
        apply_bootstrap(target)
        return target

    try:
        yield make
    finally:
        for target in made:
            drop_warehouse_database(server_admin, target)


@pytest.fixture
def warehouse(warehouse_factory: Callable[[], WarehouseTarget]) -> WarehouseTarget:
    """A fresh, bootstrapped warehouse database for one test, dropped with its roles afterwards."""
    return warehouse_factory()


def drop_warehouse_database(server_admin: WarehouseTarget, target: WarehouseTarget) -> None:
    """Drop a test database and the roles the bootstrap created for it."""
    with connect(server_admin) as conn:
        conn.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(target.dbname)))
        for kind in ROLE_KINDS:
            conn.execute(sql.SQL("drop role if exists {}").format(sql.Identifier(target.role(kind))))


@pytest.fixture
def warehouse_env(
    warehouse: WarehouseTarget, repo_paths: ProjectPaths, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> WarehouseTarget:
    """The test's warehouse exported to this process's environment, as ``elt`` does for dbt and dlt.

    dlt's local pipeline state goes to the test's own folder, so no state leaks between test databases.
    """
    monkeypatch.setenv("WAREHOUSE_URL", warehouse.url())
    for name, value in Warehouse.resolve(repo_paths).environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DLT_DATA_DIR", str(tmp_path / "dlt-data"))
    return warehouse


BROWSER_ENV = "ELT_BROWSER"
BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome")


@pytest.fixture(scope="session")
def browser_executable() -> str:
    """The Chromium the browser tests drive: ``$ELT_BROWSER``, else the first of ``BROWSER_NAMES`` on PATH.

    Outside CI, a machine without one skips the browser tests with the reason; with ``CI`` set, that is a
    failure (``make test`` installs Debian's ``chromium`` where it can).
    """
    configured = os.environ.get(BROWSER_ENV, "").strip()
    found = configured or next((path for name in BROWSER_NAMES if (path := shutil.which(name))), None)
    if found and Path(found).is_file():
        return found
    reason = (
        f"no Chromium found ({BROWSER_ENV}={configured!r}; looked for {', '.join(BROWSER_NAMES)} on PATH): "
        "install Debian's chromium (apt-get install --no-install-recommends chromium) or set ELT_BROWSER"
    )
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)
