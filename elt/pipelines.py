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
from extract_load.common.metrics import DIRECT_ROWS_METRIC

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


def extracted_rows(result: object) -> dict[str, int]:
    """Rows per table (dlt's own tables excluded) that a dlt run extracted or its resources wrote directly."""
    trace = getattr(getattr(result, "pipeline", None), "last_trace", None)
    extract = getattr(trace, "last_extract_info", None) if trace else None
    counts: dict[str, int] = {}
    for package in extract.metrics.values() if extract else ():
        for step in package:
            for table, metrics in step["table_metrics"].items():
                if not table.startswith("_dlt"):
                    counts[table] = counts.get(table, 0) + metrics.items_count
            for metrics in step.get("resource_metrics", {}).values():
                for table, rows in metrics.custom_metrics.get(DIRECT_ROWS_METRIC, {}).items():
                    counts[table] = counts.get(table, 0) + rows
    return counts


def describe_load(counts: dict[str, int]) -> str:
    """Rows per table, one line each."""
    if not counts:
        return "   nothing new"
    return "\n".join(f"   {table:<28} {rows:>10,} rows" for table, rows in sorted(counts.items()))


def _import_script(script: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"elt_pipeline_{script.stem}", script)
    if spec is None or spec.loader is None:
        raise EltError(f"cannot import {script}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
