"""Materializing the code location's assets in-process against a test warehouse: the loads run as ``elt load`` does."""

from __future__ import annotations

from types import ModuleType

import pytest
from dagster import AssetKey, AssetsDefinition, AssetSelection, materialize

from elt.connection import connect
from elt.pipeline_runs import PipelineRun
from elt.warehouse_target import WarehouseTarget
from extract_load.demo_data.generator import DemoConfig, DemoData, StepSummary
from orchestration.project import dbt_resource

SMALL_DEMO = DemoConfig(days=5, users=20)
RAW_TRANSACTIONS = AssetKey(["raw_transactions", "transactions"])
STAGED_TRANSACTIONS = AssetKey(["staging", "stg_transactions__transactions"])
RAW_USERS = AssetKey(["raw_app", "users"])
# stg_transactions__transactions' relationships test reads stg_app__users
STAGED_USERS = AssetKey(["staging", "stg_app__users"])


@pytest.fixture
def transaction_drops(warehouse_env: WarehouseTarget, tmp_path, monkeypatch: pytest.MonkeyPatch) -> StepSummary:
    """Demo transaction files in a landing folder the transactions pipeline is pointed at."""
    demo = DemoData(f"sqlite:///{tmp_path / 'app.sqlite'}", tmp_path / "landing", tmp_path / "state.json", SMALL_DEMO)
    summary = demo.generate_base()
    monkeypatch.setenv("SOURCES__TRANSACTIONS__BUCKET_URL", str(demo.landing))
    monkeypatch.setenv("APP_DB_URL", demo.app_url)
    return summary


def _load_of(code_location: ModuleType, key: AssetKey) -> AssetsDefinition:
    return next(assets for assets in code_location.loads if key in assets.keys)


def _one(target: WarehouseTarget, query: str) -> tuple:
    with connect(target) as conn:
        return conn.execute(query).fetchone()


@pytest.mark.slow
def test_two_loads_and_their_staging_models_materialize_and_the_runs_are_recorded(
    code_location, transaction_drops, warehouse_env
):
    loads = [_load_of(code_location, RAW_TRANSACTIONS), _load_of(code_location, RAW_USERS)]
    result = materialize(
        [*loads, code_location.dbt_models],
        selection=AssetSelection.assets(*loads[0].keys, *loads[1].keys, STAGED_TRANSACTIONS, STAGED_USERS),
        resources={"dbt": dbt_resource()},
    )
    assert result.success
    materialized = {event.asset_key for event in result.get_asset_materialization_events()}
    assert {RAW_TRANSACTIONS, STAGED_TRANSACTIONS, RAW_USERS, STAGED_USERS} <= materialized
    (raw,) = _one(warehouse_env, "select count(*) from raw_transactions.transactions")
    assert raw > 0
    (staged,) = _one(warehouse_env, "select count(*) from staging.stg_transactions__transactions")
    assert staged == raw
    runs = _one(
        warehouse_env,
        "select count(*), min(status), min(rows_loaded) from raw_ops.pipeline_runs where pipeline = 'transactions'",
    )
    # rows_loaded also counts the pipeline's bookkeeping table of loaded files
    assert runs[:2] == (1, "partial" if transaction_drops.bad_rows else "success")
    assert runs[2] >= raw
    (users_runs,) = _one(warehouse_env, "select count(*) from raw_ops.pipeline_runs where pipeline = 'app_db'")
    assert users_runs == 1


def test_a_held_pipeline_lock_fails_the_load_step_with_its_message(code_location, transaction_drops, warehouse_env):
    load = _load_of(code_location, RAW_TRANSACTIONS)
    with PipelineRun(warehouse_env, "transactions"):
        result = materialize([load], raise_on_error=False)
    assert not result.success
    (failure,) = [event for event in result.all_events if event.is_step_failure]
    assert failure.step_failure_data.user_failure_data.description.startswith(
        "pipeline transactions is already running since "
    )
    assert "pipeline transactions is already running" in failure.step_failure_data.error.message
    (loaded,) = _one(warehouse_env, "select to_regclass('raw_transactions.transactions') is not null")
    assert not loaded
