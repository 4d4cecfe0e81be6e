"""dbt adapter plugin ``pgpython``: dbt-postgres plus Python models run in-process with Arrow/COPY I/O.

Profiles say ``type: pgpython``; every postgres macro, config and behaviour is inherited (the plugin declares
``postgres`` as its dependency and subclasses its credentials, connection manager and adapter).
"""

from dbt.adapters.base import AdapterPlugin
from dbt.adapters.pgpython.connections import PgPythonConnectionManager, PgPythonCredentials
from dbt.adapters.pgpython.impl import PgPythonAdapter
from dbt.include import pgpython

Plugin = AdapterPlugin(
    adapter=PgPythonAdapter,  # type: ignore[arg-type]
    credentials=PgPythonCredentials,
    include_path=pgpython.PACKAGE_PATH,
    dependencies=["postgres"],
)

__all__ = ["PgPythonAdapter", "PgPythonConnectionManager", "PgPythonCredentials", "Plugin"]
