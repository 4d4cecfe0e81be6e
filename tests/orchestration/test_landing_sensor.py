"""The landing sensor launches the transactions load once per new or changed file, never for an unchanged one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from dagster import AssetKey, build_sensor_context

from orchestration.landing_sensor import SENSOR_NAME


@pytest.fixture
def landing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "landing"
    folder.mkdir()
    monkeypatch.setenv("SOURCES__TRANSACTIONS__BUCKET_URL", str(folder))
    return folder


def _tick(sensor, cursor: str | None):
    data = sensor.evaluate_tick(build_sensor_context(cursor=cursor))
    return data.run_requests or [], data.cursor


def test_one_run_per_new_or_changed_file_and_none_for_unchanged_ones(code_location, landing):
    defs = code_location.defs
    sensor = defs.resolve_sensor_def(SENSOR_NAME)
    job = defs.resolve_job_def(sensor.job_name)
    assert AssetKey(["raw_transactions", "transactions"]) in job.asset_layer.selected_asset_keys
    assert AssetKey(["marts", "fct_transactions"]) in job.asset_layer.selected_asset_keys
    assert AssetKey(["raw_app", "users"]) not in job.asset_layer.selected_asset_keys

    runs, cursor = _tick(sensor, None)
    assert runs == []
    drop = landing / "2026-12-01" / "transactions.csv"
    drop.parent.mkdir()
    drop.write_text("transaction_id,user_id,total_cost,dt\ntx-1,1,9.99,2026-12-01\n")
    (first,), cursor = _tick(sensor, cursor)
    assert first.tags["landing/files"] == "2026-12-01/transactions.csv"
    assert _tick(sensor, cursor)[0] == []

    drop.write_text("transaction_id,user_id,total_cost,dt\ntx-1,1,19.99,2026-12-01\n")
    os.utime(drop, (drop.stat().st_atime, drop.stat().st_mtime + 60))
    (changed,), cursor = _tick(sensor, cursor)
    assert changed.tags["landing/files"] == "2026-12-01/transactions.csv"
    assert changed.run_key != first.run_key
    runs, _ = _tick(sensor, cursor)
    assert runs == []
