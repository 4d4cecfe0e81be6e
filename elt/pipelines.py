"""Discover and run the dlt entry scripts ``extract_load/<source>_pipeline.py``.

Each script exposes ``run()`` (load its source, return dlt's LoadInfo), and may expose ``pipeline()``
(its dlt pipeline, for ``elt reset``) and ``backfill(start, end, files)`` (for ``elt backfill``).
``elt load`` runs them in name order, in-process, with the warehouse environment already exported.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from elt.errors import EltError
from extract_load.common.metrics import COLLAPSED_ROWS_METRIC, DIRECT_ROWS_METRIC

PIPELINE_SUFFIX = "_pipeline.py"


def discover_pipelines(extract_load_dir: Path) -> dict[str, Path]:
    """Map source name to its entry script, e.g. ``{"neows": .../neows_pipeline.py}``."""
    return {
        script.name.removesuffix(PIPELINE_SUFFIX): script
        for script in sorted(extract_load_dir.glob(f"*{PIPELINE_SUFFIX}"))
    }


def select_pipelines(available: dict[str, Path], wanted: list[str]) -> dict[str, Path]:
    """The requested subset (all when ``wanted`` is empty); unknown names are an error."""
    if not wanted:
        return available
    unknown = sorted(set(wanted) - set(available))
    if unknown:
        known = ", ".join(available) or "none"
        raise EltError(f"unknown source(s) {', '.join(unknown)}: the pipelines here are {known}")
    return {name: available[name] for name in wanted}


def load_entry_point(script: Path, name: str = "run") -> Callable[..., object]:
    """Import ``script`` and return its function ``name`` (``run``, ``backfill`` or ``pipeline``)."""
    module = _import_script(script)
    entry = getattr(module, name, None)
    if not callable(entry):
        raise EltError(f"{script.name} defines no {name}() function, which this command needs")
    return entry


def _extract_steps(result: object) -> list[dict]:
    trace = getattr(getattr(result, "pipeline", None), "last_trace", None)
    extract = getattr(trace, "last_extract_info", None) if trace else None
    return [step for package in (extract.metrics.values() if extract else ()) for step in package]


def _custom_metric(result: object, metric: str) -> dict[str, int]:
    """``{table: rows}`` summed over every resource's custom metric ``metric`` in the run's extract."""
    counts: dict[str, int] = {}
    for step in _extract_steps(result):
        for metrics in step.get("resource_metrics", {}).values():
            for table, rows in metrics.custom_metrics.get(metric, {}).items():
                counts[table] = counts.get(table, 0) + rows
    return counts


def extracted_rows(result: object) -> dict[str, int]:
    """Rows per table (dlt's own tables excluded) that a dlt run extracted or its resources wrote directly."""
    counts = _custom_metric(result, DIRECT_ROWS_METRIC)
    for step in _extract_steps(result):
        for table, metrics in step["table_metrics"].items():
            if not table.startswith("_dlt"):
                counts[table] = counts.get(table, 0) + metrics.items_count
    return counts


def collapsed_rows(result: object) -> dict[str, int]:
    """Rows per table the run's resources dropped as duplicates of another row of the same response."""
    return _custom_metric(result, COLLAPSED_ROWS_METRIC)


def landed_rows(result: object) -> dict[str, int]:
    """Rows per table that landed in the warehouse: counted there by the run's load ids, plus direct writes.

    A table's merge keeps one row per primary key, so rows the load itself collapsed do not count; rows a
    resource wrote directly (not through a load package) count as its metric says.
    """
    counts = _custom_metric(result, DIRECT_ROWS_METRIC)
    pipeline = getattr(result, "pipeline", None)
    load_ids = list(getattr(result, "loads_ids", None) or [])
    if pipeline is None or not load_ids:
        return counts
    schema = pipeline.default_schema
    tables = [
        table
        for table in extracted_rows(result)
        if table not in counts and "_dlt_load_id" in schema.tables.get(table, {}).get("columns", {})
    ]
    with pipeline.sql_client() as client:
        for table in tables:
            query = f"select count(*) from {client.make_qualified_table_name(table)} where _dlt_load_id = any(%s)"
            counts[table] = int(client.execute_sql(query, load_ids)[0][0])
    return counts


def describe_load(counts: dict[str, int], collapsed: dict[str, int] | None = None) -> str:
    """Rows per table, one line each, with the duplicates collapsed before loading (when there were any)."""
    if not counts:
        return "   nothing new"
    lines = []
    for table, rows in sorted(counts.items()):
        dropped = (collapsed or {}).get(table)
        lines.append(f"   {table:<28} {rows:>10,} rows" + (f" ({dropped:,} duplicates collapsed)" if dropped else ""))
    return "\n".join(lines)


def _import_script(script: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"elt_pipeline_{script.stem}", script)
    if spec is None or spec.loader is None:
        raise EltError(f"cannot import {script}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
