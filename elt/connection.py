"""Opening warehouse connections, with failures turned into one actionable line."""

from __future__ import annotations

import psycopg

from elt.errors import EltError
from elt.warehouse_target import RoleKind, WarehouseTarget


class MissingDatabaseError(EltError):
    """The server is reachable but the target database does not exist."""


def connect(target: WarehouseTarget, *, role: RoleKind | None = None, autocommit: bool = True) -> psycopg.Connection:
    """Open a psycopg connection to ``target`` (optionally as one of the warehouse roles)."""
    try:
        return psycopg.connect(target.conninfo(role=role), autocommit=autocommit)
    except psycopg.OperationalError as exc:
        message = explain_connection_error(target, exc)
        if "the database does not exist" in message:
            raise MissingDatabaseError(message) from None
        raise EltError(message) from None


def explain_connection_error(target: WarehouseTarget, exc: Exception) -> str:
    """Map a libpq connection failure to what is wrong and how to fix it."""
    text = " ".join(str(exc).split())
    lowered = text.lower()
    where = target.describe()
    if "password authentication failed" in lowered or "no password supplied" in lowered:
        return f"wrong credentials for {where}: check the user and password in WAREHOUSE_URL"
    if "role" in lowered and "does not exist" in lowered:
        return f"the server rejected the user of {where} ({text}): check WAREHOUSE_URL or run `elt up`"
    if "database" in lowered and "does not exist" in lowered:
        return f"{where}: the database does not exist; create it or run `elt up`, which creates it"
    if "failed to resolve host" in lowered or "could not translate host name" in lowered:
        return f"cannot reach {where}: the host name does not resolve; check the host in WAREHOUSE_URL"
    if "timeout expired" in lowered or "timed out" in lowered:
        return f"cannot reach {where}: the connection timed out; check the host, port and firewall"
    if "connection refused" in lowered or "no such file or directory" in lowered:
        hint = "start it with `elt up`" if target.is_unix_socket else "is the server running? check WAREHOUSE_URL"
        return f"cannot reach {where}: nothing is listening there; {hint}"
    return f"cannot connect to {where}: {text}"


def server_version(target: WarehouseTarget) -> str:
    """The server's version string (``18.6``), connecting once."""
    with connect(target) as conn:
        return str(conn.execute("show server_version").fetchone()[0]).split()[0]
