"""The code location's ``Definitions``: raw loads, dbt models and the schedules (``[tool.dagster]`` names it)."""

from __future__ import annotations

from dagster import AssetSelection, Definitions, ScheduleDefinition, define_asset_job
from dagster_dbt import build_dbt_asset_selection

from orchestration.dbt_assets import build_dbt_assets
from orchestration.project import dbt_resource, prepared_manifest
from orchestration.raw_assets import RAW_GROUP, raw_assets

DAILY_SELECTOR = "daily"

manifest = prepared_manifest()
loads = raw_assets(manifest)
dbt_models = build_dbt_assets(manifest)

daily_job = define_asset_job(
    "daily",
    selection=AssetSelection.groups(RAW_GROUP) | build_dbt_asset_selection([dbt_models], dbt_selector=DAILY_SELECTOR),
    description="every load, then dbt build --selector daily",
)
weekly_job = define_asset_job(
    "weekly", selection=AssetSelection.all(), description="every load, then the full dbt build"
)

defs = Definitions(
    assets=[*loads, dbt_models],
    jobs=[daily_job, weekly_job],
    schedules=[
        ScheduleDefinition(job=daily_job, cron_schedule="0 5 * * *", execution_timezone="UTC"),
        ScheduleDefinition(job=weekly_job, cron_schedule="0 6 * * 0", execution_timezone="UTC"),
    ],
    resources={"dbt": dbt_resource()},
)
