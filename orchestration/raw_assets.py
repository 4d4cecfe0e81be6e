"""Assets for the raw tables the dlt pipelines of ``extract_load/`` load: one multi-asset per pipeline.

Each multi-asset runs the pipeline's own entry script (``extract_load/<source>_pipeline.py``, as ``elt load``
does) under the pipeline lock, recording the run in ``raw_ops.pipeline_runs``; a held lock fails the step
with the lock's message. Its assets are the tables dbt declares as sources in the pipeline's dataset.
"""

import importlib
from collections import defaultdict
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    AssetSpec,
    Failure,
    MaterializeResult,
    multi_asset,
)

from elt.errors import EltError
from elt.pipelines import discover_pipelines
from elt.recorded_load import run_recorded
from elt.warehouse import Warehouse
from orchestration.project import PATHS

RAW_GROUP = "raw"


def raw_asset_key(dataset: str, table: str) -> AssetKey:
    """The key of a raw table: ``[dataset, table]``, e.g. ``raw_app/users`` (dbt sources map onto it)."""
    return AssetKey([dataset, table])


def source_tables(manifest: Mapping[str, Any]) -> dict[str, list[str]]:
    """The tables dbt's sources read, per schema (a pipeline's dataset)."""
    tables: dict[str, list[str]] = defaultdict(list)
    for source in manifest["sources"].values():
        tables[source["schema"]].append(source["identifier"])
    return {schema: sorted(names) for schema, names in tables.items()}


def pipeline_assets(name: str, script: Path, dataset: str, tables: list[str]) -> AssetsDefinition:
    """The multi-asset that loads ``tables`` of ``dataset`` by running pipeline ``name``'s ``script``."""

    @multi_asset(
        name=f"load_{name}",
        specs=[
            AssetSpec(raw_asset_key(dataset, table), group_name=RAW_GROUP, kinds={"dlt", "postgres"})
            for table in tables
        ],
        description=f"elt load {name}: {script.name}, under the pipeline lock, recorded in raw_ops.pipeline_runs",
    )
    def load(context: AssetExecutionContext) -> Iterator[MaterializeResult]:
        try:
            outcome = run_recorded(Warehouse.resolve(PATHS).target, name, script)
        except EltError as exc:  # a held lock: the step fails with its message, not a stack trace
            raise Failure(description=str(exc)) from exc
        context.log.info(f"{name}: {outcome.counts}")
        for table in tables:
            yield MaterializeResult(
                asset_key=raw_asset_key(dataset, table), metadata={"rows_extracted": outcome.per_table.get(table, 0)}
            )

    return load


def raw_assets(manifest: Mapping[str, Any]) -> list[AssetsDefinition]:
    """One multi-asset per pipeline of ``extract_load/`` whose dataset dbt reads."""
    tables = source_tables(manifest)
    assets = []
    for name, script in discover_pipelines(PATHS.extract_load_dir).items():
        dataset = importlib.import_module(f"extract_load.{name}_pipeline").DATASET_NAME
        if dataset in tables:
            assets.append(pipeline_assets(name, script, dataset, tables[dataset]))
    return assets
