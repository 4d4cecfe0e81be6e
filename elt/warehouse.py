"""Resolve which warehouse this checkout uses and bring it up (embedded server, database, roles)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from elt.bootstrap import apply_bootstrap, ensure_database
from elt.connection import connect
from elt.embedded_server import EmbeddedServer
from elt.project import ProjectPaths
from elt.warehouse_target import WarehouseTarget

WAREHOUSE_URL_ENV = "WAREHOUSE_URL"
APP_DB_URL_ENV = "APP_DB_URL"
EMBEDDED_DATABASE = "warehouse"
DEMO_APP_DATABASE = "app"


@dataclass(frozen=True)
class Warehouse:
    """The resolved warehouse: where to connect, and the embedded server when it is ours to run."""

    paths: ProjectPaths
    target: WarehouseTarget
    embedded: EmbeddedServer | None

    @classmethod
    def resolve(cls, paths: ProjectPaths) -> Warehouse:
        """``WAREHOUSE_URL`` when set, else the checkout's embedded server.

        A ``WAREHOUSE_URL`` pointing at this checkout's own embedded socket (as exported by ``elt env``)
        still counts as embedded, so ``elt down`` works in a shell that evaluated ``elt env``.
        """
        server = EmbeddedServer.at(paths.warehouse_home)
        url = os.environ.get(WAREHOUSE_URL_ENV, "").strip()
        if not url:
            return cls(paths, server.target(EMBEDDED_DATABASE), server)
        target = WarehouseTarget.from_url(url)
        is_ours = target.is_unix_socket and target.host == str(server.socket_dir)
        return cls(paths, target, server if is_ours else None)

    def up(self) -> list[str]:
        """Start the embedded server if it is ours, create the database, schemas and roles; return notes."""
        notes = self.embedded.start() if self.embedded else []
        if ensure_database(self.target):
            notes.append(f"created database {self.target.dbname!r}")
        apply_bootstrap(self.target)
        return notes

    @property
    def demo_app_target(self) -> WarehouseTarget:
        """The demo application database: database ``app`` on the warehouse's server."""
        return self.target.with_database(DEMO_APP_DATABASE)

    def app_db_url(self) -> str:
        """SQLAlchemy URL of the application database: ``APP_DB_URL``, else the demo database."""
        configured = os.environ.get(APP_DB_URL_ENV, "").strip()
        return configured or self.demo_app_target.url().replace("postgresql://", "postgresql+psycopg://", 1)

    def environment(self) -> dict[str, str]:
        """Every variable dbt, dlt and the project's code need to reach this warehouse."""
        return {
            **self.target.environment(),
            APP_DB_URL_ENV: self.app_db_url(),
            "DBT_PROFILES_DIR": str(self.paths.profiles_dir),
            "DBT_PROJECT_DIR": str(self.paths.dbt_project_dir),
            "DLT_PROJECT_DIR": str(self.paths.root),
            "DLT_DATA_DIR": str(self.paths.warehouse_home / "dlt"),
        }

    def export_environment(self) -> None:
        """Put :meth:`environment` into this process's environment (for in-process dbt and dlt)."""
        os.environ.update(self.environment())

    def is_reachable(self) -> bool:
        """True when a connection to the warehouse database succeeds."""
        try:
            connect(self.target).close()
        except Exception:
            return False
        return True
