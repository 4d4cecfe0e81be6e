"""Create the warehouse database, its fixed schemas and its three roles (idempotent)."""

from __future__ import annotations

from importlib.resources import files

import psycopg
from psycopg import sql

from elt.connection import MissingDatabaseError, connect
from elt.errors import EltError
from elt.warehouse_target import WarehouseTarget

RAW_SCHEMAS = ("raw_neows", "raw_transactions", "raw_app")
OPS_SCHEMA = "raw_ops"
DBT_SCHEMAS = ("staging", "intermediate", "marts", "marts_pii", "snapshots")
MAINTENANCE_DATABASE = "postgres"


def bootstrap_sql() -> str:
    """The bootstrap script shared by ``elt up`` and docker-compose's init."""
    return files("elt").joinpath("sql/bootstrap.sql").read_text(encoding="utf-8")


def ensure_database(target: WarehouseTarget) -> bool:
    """Create ``target.dbname`` when it does not exist; return True when it was created."""
    try:
        connect(target).close()
        return False
    except MissingDatabaseError:
        pass
    with connect(target.with_database(MAINTENANCE_DATABASE)) as conn:
        try:
            conn.execute(sql.SQL("create database {}").format(sql.Identifier(target.dbname)))
        except psycopg.errors.InsufficientPrivilege:
            raise EltError(
                f"database {target.dbname!r} does not exist and user {target.user!r} may not create it: "
                "create it (and run elt up again) or use a URL of a user with CREATEDB"
            ) from None
        return True


def apply_bootstrap(target: WarehouseTarget) -> None:
    """Create the fixed schemas and roles in ``target``'s database and grant their privileges."""
    with connect(target) as conn:
        try:
            conn.execute(bootstrap_sql())
        except psycopg.errors.InsufficientPrivilege as exc:
            raise EltError(
                f"user {target.user!r} may not create the warehouse roles and schemas ({exc.diag.message_primary}):"
                " use a URL of a user with CREATEROLE who owns the database, or run elt/sql/bootstrap.sql as admin"
            ) from None
