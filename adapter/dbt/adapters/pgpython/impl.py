"""The pgpython adapter: dbt-postgres' adapter plus the ``local`` Python model submission method."""

from __future__ import annotations

from functools import partial
from typing import Any

from dbt.adapters.contracts.connection import AdapterResponse
from dbt.adapters.pgpython.connections import PgPythonConnectionManager
from dbt.adapters.pgpython.python_job import LocalPythonJobHelper, PythonModelResult
from dbt.adapters.postgres import PostgresAdapter


class PgPythonAdapter(PostgresAdapter):
    """PostgresAdapter whose Python models run in-process on the node's own connection and transaction."""

    ConnectionManager = PgPythonConnectionManager
    connections: PgPythonConnectionManager

    @property
    def default_python_submission_method(self) -> str:
        """``local``: the only method; runs the model in this process."""
        return "local"

    @property
    def python_submission_helpers(self) -> dict[str, Any]:
        """Helpers by submission method; dbt builds them with (model, credentials) only, so bind this adapter."""
        return {"local": partial(LocalPythonJobHelper, adapter=self)}

    def generate_python_submission_response(self, submission_result: Any) -> AdapterResponse:
        """``COPY <rows>``, like the command tag PostgreSQL reports for the load."""
        if isinstance(submission_result, PythonModelResult):
            rows = submission_result.rows
            return AdapterResponse(_message=f"COPY {rows}", code="COPY", rows_affected=rows)
        return AdapterResponse(_message="OK")
