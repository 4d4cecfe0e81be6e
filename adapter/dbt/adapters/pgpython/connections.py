"""Credentials and connection manager: exactly dbt-postgres', under the adapter type ``pgpython``."""

from __future__ import annotations

from dataclasses import dataclass

from dbt.adapters.postgres import PostgresConnectionManager, PostgresCredentials

ADAPTER_TYPE = "pgpython"


@dataclass
class PgPythonCredentials(PostgresCredentials):
    """The postgres profile fields (host, port, user, password, dbname, role, sslmode, ...), unchanged."""

    @property
    def type(self) -> str:
        """The adapter type profiles name (``type: pgpython``)."""
        return ADAPTER_TYPE


class PgPythonConnectionManager(PostgresConnectionManager):
    """dbt-postgres' psycopg2 connection manager; Python models share its thread connection and transaction."""

    TYPE = ADAPTER_TYPE
