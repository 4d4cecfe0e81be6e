"""Assets for every dbt model, seed and snapshot of the project, with dbt's sources mapped onto the raw assets."""

from collections.abc import Iterator, Mapping
from typing import Any

from dagster import AssetExecutionContext, AssetsDefinition, AssetSpec
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from orchestration.project import DBT_PROJECT
from orchestration.raw_assets import raw_asset_key

# a subset run builds only the tests whose every parent it builds: an ``equal_row_count`` test comparing a
# selected model with one left out would read a relation the run never built
INDIRECT_SELECTION = "cautious"


class RawSourceTranslator(DagsterDbtTranslator):
    """dagster-dbt's defaults, except that a dbt source is the raw table a pipeline loads (one lineage)."""

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None) -> AssetSpec:
        """The asset of a dbt node; a source's key is its raw table's (``[schema, identifier]``)."""
        spec = super().get_asset_spec(manifest, unique_id, project)
        source = manifest["sources"].get(unique_id)
        if source is None:
            return spec
        return spec.replace_attributes(key=raw_asset_key(source["schema"], source["identifier"]))


def build_dbt_assets(manifest: Mapping[str, Any]) -> AssetsDefinition:
    """The dbt assets of ``manifest``: a run materializes its selection with ``dbt build``."""

    @dbt_assets(manifest=manifest, project=DBT_PROJECT, dagster_dbt_translator=RawSourceTranslator())
    def dbt_models(context: AssetExecutionContext, dbt: DbtCliResource) -> Iterator[Any]:
        yield from dbt.cli(["build", "--indirect-selection", INDIRECT_SELECTION], context=context).stream()

    return dbt_models
