"""Fixtures of the NeoWs tests: a replay server per test and a runner with test-sized waits."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dlt
import pytest

import extract_load.neows as neows
from elt.connection import connect
from elt.warehouse_target import WarehouseTarget
from extract_load.neows import neows_source
from extract_load.neows.replay import ReplayServer
from extract_load.neows.settings import RECORDED_DIR
from tests.warehouse_checksums import table_checksums

RAW = "raw_neows"
T0 = datetime(2026, 1, 1, tzinfo=UTC)

# small waits: the retry logic is the same, the suite stays fast
FAST_HTTP = {
    "max_attempts": 3,
    "backoff_base": 0.01,
    "backoff_cap": 0.05,
    "jitter_seed": 7,
    "max_retry_after": 2.0,
    "connect_timeout": 2.0,
    "read_timeout": 2.0,
}

# the feed window and browse page each test loads unless it says otherwise
ONE_WINDOW = {"start_date": "2025-03-10", "end_date": "2025-03-17", "window_days": 7, "lookback_days": 7}
NO_BROWSE = {"browse_max_pages": 0, "browse_end_page": None, "browse_start_page": 0}
# test_lookups.py sets a budget; the demo's watch list (.dlt/config.toml) is for the demo, tests name their own
NO_LOOKUPS = {"lookup_budget": 0, "lookup_ids": []}


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The lookups' clock, starting at T0; ``clock.advance(days=...)`` moves it."""

    class Clock:
        now = T0

        def advance(self, **delta: float) -> None:
            self.now += timedelta(**delta)

    instance = Clock()
    monkeypatch.setattr(neows, "utcnow", lambda: instance.now)
    return instance


@pytest.fixture
def replay() -> Iterator[ReplayServer]:
    """A replay server of the in-repo recordings, for one test."""
    with ReplayServer() as server:
        yield server


@pytest.fixture
def load_neows(warehouse_env: WarehouseTarget, replay: ReplayServer) -> Callable[..., Any]:
    """Run the NeoWs source against ``replay`` into the test's warehouse; keyword args override settings."""

    def run(refresh: str | None = None, resources: tuple[str, ...] = (), **settings: Any) -> Any:
        pipeline = dlt.pipeline(pipeline_name="neows", destination="postgres", dataset_name=RAW)
        options = {**FAST_HTTP, **ONE_WINDOW, **NO_BROWSE, **NO_LOOKUPS, **settings}
        source = neows_source(base_url=replay.base_url, **options)
        if resources:
            source = source.with_resources(*resources)
        return pipeline.run(source, refresh=refresh)

    return run


@pytest.fixture
def recorded_copy(tmp_path: Path) -> Callable[[str], Path]:
    """Copy one recorded file into a test-local folder (to edit, then ``replay.layer`` it)."""
    folder = tmp_path / "recorded-overrides"
    folder.mkdir()

    def copy(name: str, as_name: str | None = None) -> Path:
        return Path(shutil.copy(RECORDED_DIR / name, folder / (as_name or name)))

    return copy


def raw_checksums(target: WarehouseTarget) -> dict[str, str]:
    return table_checksums(target, [RAW])


def query(target: WarehouseTarget, sql: str, params: tuple = ()) -> list[tuple]:
    with connect(target) as conn:
        return conn.execute(sql, params).fetchall()


def columns(target: WarehouseTarget, table: str) -> dict[str, str]:
    rows = query(
        target,
        "select column_name, data_type from information_schema.columns "
        "where table_schema = %s and table_name = %s order by ordinal_position",
        (RAW, table),
    )
    return dict(rows)
