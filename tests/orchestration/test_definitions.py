"""The code location loads as Dagster loads it, and its asset graph is one lineage from the raw tables to the marts."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

from dagster import AssetKey

from tests.conftest import REPO_ROOT

BIN = Path(sys.executable).parent
RAW_TRANSACTIONS = AssetKey(["raw_transactions", "transactions"])
SQL_MART = AssetKey(["marts", "fct_transactions"])
PYTHON_MART = AssetKey(["marts", "customer_lifetime_value"])


def _ancestors(graph, key: AssetKey) -> set[AssetKey]:
    seen: set[AssetKey] = set()
    todo = [key]
    while todo:
        for parent in graph.get(todo.pop()).parent_keys:
            if parent not in seen:
                seen.add(parent)
                todo.append(parent)
    return seen


def _dbt_language(manifest: dict, model: str) -> str:
    return next(node["language"] for node in manifest["nodes"].values() if node["name"] == model)


def test_a_bare_dagster_definitions_validate_finds_and_loads_the_code_location(warehouse_env, dagster_home):
    result = subprocess.run(
        [BIN / "dagster", "definitions", "validate"],
        cwd=REPO_ROOT,
        env=os.environ,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Validation successful for code location warehouse_elt" in result.stderr + result.stdout


def test_the_asset_graph_connects_a_dlt_table_through_sql_and_python_models(code_location: ModuleType):
    graph = code_location.defs.resolve_asset_graph()
    loads = {spec.key for assets in code_location.loads for spec in assets.specs}
    assert RAW_TRANSACTIONS in loads
    assert AssetKey(["raw_app", "users"]) in loads and AssetKey(["raw_neows", "asteroids"]) in loads
    assert graph.get(RAW_TRANSACTIONS).parent_keys == set()
    assert graph.get(RAW_TRANSACTIONS).child_keys == {AssetKey(["staging", "stg_transactions__transactions"])}
    assert _dbt_language(code_location.manifest, "fct_transactions") == "sql"
    assert _dbt_language(code_location.manifest, "customer_lifetime_value") == "python"
    assert RAW_TRANSACTIONS in _ancestors(graph, SQL_MART)
    assert RAW_TRANSACTIONS in _ancestors(graph, PYTHON_MART)
    assert all(key.path[0] not in {"app", "transactions", "neows"} for key in graph.get_all_asset_keys())


def test_the_daily_schedule_loads_then_builds_the_daily_selector_and_the_weekly_one_everything(code_location):
    defs = code_location.defs
    schedules = {schedule.job_name: schedule for schedule in defs.schedules}
    assert {schedule.name for schedule in defs.schedules} == {"daily_schedule", "weekly_schedule"}
    assert schedules["daily"].cron_schedule == "0 5 * * *"
    assert schedules["weekly"].cron_schedule == "0 6 * * 0"
    daily = defs.resolve_job_def("daily").asset_layer.selected_asset_keys
    weekly = defs.resolve_job_def("weekly").asset_layer.selected_asset_keys
    assert RAW_TRANSACTIONS in daily and SQL_MART in daily
    assert PYTHON_MART not in daily and AssetKey(["marts", "fct_cohort_retention"]) not in daily
    assert weekly == defs.resolve_asset_graph().get_all_asset_keys()
