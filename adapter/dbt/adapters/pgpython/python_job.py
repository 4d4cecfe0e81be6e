"""Run a compiled Python model in-process, on dbt's thread connection and inside its open transaction.

The compiled code is the model file followed by dbt's ``dbt`` object (``ref``, ``source``, ``config``,
``this``, ``is_incremental``) and the materialization's trailer naming the relation to write
(``dbt_pgpython_write_target``). The code is compiled under the model file's path, so a failure shows the
user's own traceback with file and line. Reads go through :func:`arrow_io.read_query`; the returned table is
checked against the YAML column ``data_type``s, the relation is created and filled with ``COPY``. Nothing is
committed here: the materialization renames and commits, or dbt rolls everything back.
"""

from __future__ import annotations

import linecache
import sys
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import pyarrow as pa
from dbt.adapters.base import PythonJobHelper
from dbt.adapters.events.logging import AdapterLogger
from dbt.adapters.pgpython import arrow_io
from dbt.adapters.pgpython.pg_types import (
    ColumnTypeError,
    PgType,
    binary_compatible,
    pg_type_for_arrow,
    prepare_for_write,
)
from dbt_common.exceptions import DbtRuntimeError

WRITE_TARGET_NAME = "dbt_pgpython_write_target"
logger = AdapterLogger("pgpython")


class PythonModelError(DbtRuntimeError):
    """A Python model raised, returned something unusable, or returned columns that do not fit their YAML."""

    CODE = 10100
    MESSAGE = "Python model error"


@dataclass(frozen=True)
class PythonModelResult:
    """What a Python model run wrote."""

    relation: str
    rows: int
    columns: tuple[str, ...]


class PgPythonSession:
    """The model's second argument: read-only SQL on dbt's connection (it sees the run's transaction)."""

    def __init__(self, connection: Any) -> None:
        self._connection = connection

    def sql(self, query: str) -> pa.Table:
        """Run a SELECT (e.g. ``f"select max(updated_at) from {dbt.this}"``) and return its rows as Arrow."""
        return arrow_io.read_query(self._connection, query)


class LocalPythonJobHelper(PythonJobHelper):
    """Submission method ``local``: dbt builds helpers from (model, credentials), the adapter binds itself."""

    def __init__(self, parsed_model: dict, credentials: Any, *, adapter: Any) -> None:
        self.parsed_model = parsed_model
        self.credentials = credentials
        self.adapter = adapter

    def submit(self, compiled_code: str) -> PythonModelResult:
        """Run the model on the adapter's thread connection and write its result (see module docstring)."""
        return run_python_model(self.adapter, self.parsed_model, compiled_code)


def run_python_model(adapter: Any, parsed_model: Mapping[str, Any], compiled_code: str) -> PythonModelResult:
    """Execute ``compiled_code``, call its ``model(dbt, session)`` and write the result; roll back on failure.

    Args:
        adapter: The pgpython adapter (its connection manager holds this thread's connection).
        parsed_model: The model node as a dict (name, path, config, columns).
        compiled_code: Model code + dbt's postfix + the write-target trailer.

    Returns:
        Relation, row count and columns written.

    Raises:
        PythonModelError: The model failed or returned an unusable result (the transaction is rolled back).
    """
    connections = adapter.connections
    connection = connections.get_thread_connection()
    if not connection.transaction_open:
        connections.begin()
    try:
        return _run(connections, connection.handle, parsed_model, compiled_code, _model_path(adapter, parsed_model))
    except BaseException:
        connections.rollback_if_open()
        raise


def _run(connections: Any, handle: Any, model: Mapping[str, Any], code: str, path: str) -> PythonModelResult:
    name = model.get("name", "?")
    namespace = _execute_module(code, path, name)
    target = namespace.get(WRITE_TARGET_NAME)
    model_function = namespace.get("model")
    if not isinstance(target, dict) or "dbtObj" not in namespace:
        raise PythonModelError(
            f"Python model {name}: the compiled code lacks dbt's postfix or the pgpython write target; "
            "is it run by a pgpython materialization (table or incremental)?"
        )
    if not callable(model_function):
        raise PythonModelError(f"Python model {name} ({path}) must define a function model(dbt, session)")

    def load(relation: str) -> pa.Table:
        start = time.perf_counter()
        table = arrow_io.read_query(handle, f"select * from {relation}")
        _log_io("read", relation, table, time.perf_counter() - start)
        return table

    dbt = namespace["dbtObj"](load)
    try:
        returned = model_function(dbt, PgPythonSession(handle))
    except Exception as exc:
        raise PythonModelError(_user_traceback(name, path, exc)) from None
    write_start = time.perf_counter()  # the write: conversion, type checks, CREATE TABLE and COPY
    table = to_arrow_table(returned, name)
    declared = _declared_types(connections, model, table)
    try:
        columns = [
            prepare_for_write(table.column(i), column_name, declared.get(column_name))
            for i, column_name in enumerate(table.column_names)
        ]
        ddl_types = [
            declared[n].sql if n in declared else pg_type_for_arrow(c.type, n)
            for n, c in zip(table.column_names, columns, strict=True)
        ]
    except ColumnTypeError as exc:
        raise PythonModelError(f"Python model {name}: {exc}") from None
    table = pa.table(columns, names=table.column_names)
    # binary COPY sends each type's own wire format: only where the column has the Arrow type's natural type
    binary = all(
        n not in declared or binary_compatible(declared[n], c.type)
        for n, c in zip(table.column_names, columns, strict=True)
    )
    relation = target["relation"]
    kind = "temporary " if target.get("temporary") else "unlogged " if target.get("unlogged") else ""
    definition = ", ".join(
        f"{arrow_io.quote_identifier(n)} {t}" for n, t in zip(table.column_names, ddl_types, strict=True)
    )
    suffix = " on commit drop" if target.get("temporary") else ""
    connections.add_query(f"create {kind}table {relation} ({definition}){suffix}", auto_begin=False)
    copy_sql = f"copy {relation} from stdin -- {table.num_rows} rows from Python model {name}"
    with connections.exception_handler(copy_sql):
        rows = arrow_io.write_table(handle, relation, table, binary=binary)
    _log_io("wrote", relation, table, time.perf_counter() - write_start)
    return PythonModelResult(relation, rows, tuple(table.column_names))


def _log_io(verb: str, relation: str, table: pa.Table, seconds: float) -> None:
    """Debug log line with the I/O rate (``pgpython: read 1000 rows x 4 columns of ... in 0.010 s``)."""
    logger.debug(
        f"pgpython: {verb} {table.num_rows} rows x {table.num_columns} columns of {relation} in {seconds:.3f} s"
    )


def to_arrow_table(returned: object, model_name: str) -> pa.Table:
    """The model's return value as an Arrow table (pyarrow Table/RecordBatch, pandas, any Arrow stream).

    A pandas DataFrame keeps named index levels as columns and drops a default RangeIndex.

    Raises:
        PythonModelError: None or any other type, with what was returned.
    """
    if isinstance(returned, pa.Table):
        table = returned
    elif isinstance(returned, pa.RecordBatch):
        table = pa.Table.from_batches([returned])
    elif _is_pandas_frame(returned):
        table = pa.Table.from_pandas(returned, preserve_index=None)
        table = table.replace_schema_metadata(None)
    elif hasattr(returned, "__arrow_c_stream__"):  # polars, duckdb relations, ... (Arrow PyCapsule interface)
        table = pa.table(returned)
    else:
        got = "None (a missing return statement?)" if returned is None else f"a {type(returned).__module__}."
        got += "" if returned is None else type(returned).__qualname__
        raise PythonModelError(
            f"Python model {model_name} returned {got}: model(dbt, session) must return a pyarrow.Table "
            "or a pandas.DataFrame"
        )
    names = table.column_names
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates or not names or any(not n for n in names):
        problem = f"duplicate column names {duplicates}" if duplicates else "no columns or an empty column name"
        raise PythonModelError(f"Python model {model_name} returned a table with {problem}")
    return table


def _declared_types(connections: Any, model: Mapping[str, Any], table: pa.Table) -> dict[str, PgType]:
    """YAML ``data_type`` of each returned column that declares one, as PostgreSQL resolves it."""
    name = model.get("name", "?")
    returned = {n.lower(): n for n in table.column_names}
    declared: dict[str, PgType] = {}
    for yaml_name, column in (model.get("columns") or {}).items():
        data_type = (column or {}).get("data_type")
        if not data_type:
            continue
        column_name = yaml_name if yaml_name in table.column_names else returned.get(yaml_name.lower())
        if column_name is None:
            raise PythonModelError(
                f"Python model {name}: column {yaml_name!r} is declared in YAML (data_type {data_type!r}) but the "
                f"returned table has no such column; it has {table.column_names}"
            )
        try:
            _, cursor = connections.add_query(f"select null::{data_type} as declared limit 0", auto_begin=False)
        except DbtRuntimeError as exc:
            raise PythonModelError(
                f"Python model {name}: column {yaml_name!r} declares data_type {data_type!r}, which PostgreSQL "
                f"does not accept: {exc}"
            ) from None
        declared[column_name] = PgType.from_description(cursor.description[0], data_type)
    return declared


def _execute_module(code: str, path: str, name: str) -> dict[str, Any]:
    """Compile the model under its file path (tracebacks show its lines) and run its module-level code."""
    lines = code.splitlines(keepends=True)
    linecache.cache[path] = (len(code), None, lines, path)  # so tracebacks quote the compiled code's lines
    namespace: dict[str, Any] = {"__name__": f"dbt_pgpython_model_{name}", "__file__": path}
    try:
        exec(compile(code, path, "exec"), namespace)
    except Exception as exc:
        raise PythonModelError(_user_traceback(name, path, exc)) from None
    return namespace


def _user_traceback(name: str, path: str, exc: BaseException) -> str:
    """The exception with its traceback from the model file's first frame on (the adapter's frames cut)."""
    tb: TracebackType | None = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename != path:
        tb = tb.tb_next
    if tb is None:  # a SyntaxError has no frame in the model: its own report names file and line
        tb = exc.__traceback__ if not isinstance(exc, SyntaxError) else None
    formatted = "".join(traceback.format_exception(type(exc), exc, tb)).rstrip()
    return f"Python model {name} raised {type(exc).__name__}: {exc}\n{formatted}"


def _model_path(adapter: Any, model: Mapping[str, Any]) -> str:
    """Absolute path of the model file when it is found under the project, else its project-relative path."""
    relative = model.get("original_file_path") or f"{model.get('name', 'model')}.py"
    root = getattr(getattr(adapter, "config", None), "project_root", None)
    if root:
        candidate = Path(root) / relative
        if candidate.exists():
            return str(candidate)
    return str(relative)


def _is_pandas_frame(value: object) -> bool:
    pandas = sys.modules.get("pandas")
    return pandas is not None and isinstance(value, pandas.DataFrame)
