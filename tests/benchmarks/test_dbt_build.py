"""The dbt_build benchmark on a few thousand rows: pipelines, full build, next day, daily run (timings unchecked)."""

from __future__ import annotations

import csv

import pytest
import sqlalchemy as sa

from benchmarks import dbt_build
from benchmarks.generate import USERS, write_csv
from benchmarks.harness import BenchmarkContext, resolve_references
from benchmarks.run import select
from extract_load.demo_data.app_schema import orders, users


def test_day_file_holds_new_rows_of_that_day_and_resent_old_ones(tmp_path):
    base = write_csv(tmp_path / "base.csv", 5000, seed=4)
    dbt_build.write_day(tmp_path / "day.csv", 2, new=50, resent=5, seed=4)
    with base.path.open() as handle:
        old = {row["transaction_id"]: row for row in csv.DictReader(handle)}
    with (tmp_path / "day.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    fresh, again = rows[:50], rows[50:]
    assert len(again) == 5
    assert {row["dt"] for row in fresh} == {"2026-01-02"}
    assert len({row["transaction_id"] for row in fresh}) == 50
    assert not {row["transaction_id"] for row in fresh} & set(old)
    for row in again:
        original = old[row["transaction_id"]]
        assert (row["user_id"], row["dt"]) == (original["user_id"], original["dt"])
        assert round(float(row["total_cost"]) - float(original["total_cost"]), 2) == 0.01
    assert (tmp_path / "day.csv").stat().st_mtime == dbt_build.T0 + 2 * dbt_build.DAY_SECONDS


def test_users_cover_the_data_set_but_the_orphans_and_change_every_day(tmp_path):
    url = f"sqlite:///{tmp_path / 'app.sqlite'}"
    written = dbt_build.write_users(url, seed=4)
    assert written == USERS - USERS // dbt_build.ORPHAN_EVERY
    changed = [dbt_build.update_users(url, seed=4, day=day) for day in (1, 2)]
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(users)).scalar_one()
        touched = conn.execute(
            sa.select(sa.func.count()).where(users.c.updated_at > dbt_build.BASE_UPDATED)
        ).scalar_one()
        order_count = conn.execute(sa.select(sa.func.count()).select_from(orders)).scalar_one()
    engine.dispose()
    assert count == written + 2 * dbt_build.RESOLVED_ORPHANS
    assert sum(changed) >= touched > 2 * dbt_build.RESOLVED_ORPHANS  # a user may change on both days
    assert order_count == written // 10


@pytest.mark.slow
def test_benchmark_builds_fully_then_runs_the_daily_selection(warehouse, tmp_path):
    measured = {m.metric: m for m in resolve_references(dbt_build.run(BenchmarkContext(warehouse, 3000, 5, tmp_path)))}
    full = measured[dbt_build.FULL_SECONDS]
    daily = measured["dbt_build.daily_run_seconds"]
    assert measured["dbt_build.rows"].value == 3000
    assert full.value > 0 and daily.value > 0
    assert daily.reference == full.value and daily.ratio == pytest.approx(daily.value / full.value)
    assert "dbt " + " ".join(dbt_build.DAILY_ARGS) in daily.note
    assert measured["dbt_build.full_build_peak_rss"].value > 50
    assert "30 new + 3 re-sent" in measured["dbt_build.next_day_load_seconds"].note
    assert measured["dbt_build.base_load_seconds"].note.startswith("2,910 rows")
    # the daily run merged the new day, the re-sent rows and changed users' rows, not the re-read earlier days
    assert 30 + 3 <= measured["dbt_build.daily_fct_transactions_rows"].value < 4 * 30


def test_the_benchmark_is_discovered():
    assert "dbt_build" in [benchmark.name for benchmark in select(None)]
