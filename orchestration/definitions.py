"""The code location's ``Definitions`` (``[tool.dagster]`` names it): loads, dbt models, schedules, landing sensor."""

from __future__ import annotations

from dagster import AssetSelection, Definitions, ScheduleDefinition, define_asset_job
from dagster_dbt import build_dbt_asset_selection

from orchestration.dbt_assets import build_dbt_assets
from orchestration.landing_sensor import landing_sensor
from orchestration.project import dbt_resource, prepared_manifest
from orchestration.raw_assets import RAW_GROUP, raw_asset_key, raw_assets

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
transactions_job = define_asset_job(
    "transactions_drop",
    selection=AssetSelection.assets(raw_asset_key("raw_transactions", "transactions"))
    .required_multi_asset_neighbors()
    .downstream(),
    description="the transactions load and every model that depends on it",
)

defs = Definitions(
    assets=[*loads, dbt_models],
    jobs=[daily_job, weekly_job, transactions_job],
    schedules=[
        ScheduleDefinition(job=daily_job, cron_schedule="0 5 * * *", execution_timezone="UTC"),
        ScheduleDefinition(job=weekly_job, cron_schedule="0 6 * * 0", execution_timezone="UTC"),
    ],
    sensors=[landing_sensor(transactions_job)],
    resources={"dbt": dbt_resource()},
)
