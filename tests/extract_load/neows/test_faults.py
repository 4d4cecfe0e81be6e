"""Faults end to end: retried faults load, persistent ones fail the run and leave the warehouse unchanged."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import dlt
import pytest
from dlt.pipeline.exceptions import PipelineStepFailed

from extract_load.neows.replay import Fault
from tests.extract_load.neows.conftest import RAW, query, raw_checksums

WINDOW = {"start_date": "2015-09-07", "end_date": "2015-09-08", "window_days": 1, "lookback_days": 2}
BROWSE = {"browse_page_size": 2, "browse_max_pages": 1, "browse_end_page": 1}
REVISED_H = 42.25

FAULTS = {
    "503": (Fault("status", status=503), "HTTP 503"),
    "500": (Fault("status", status=500), "HTTP 500"),
    "429-retry-after": (Fault("status", status=429, retry_after="1"), "HTTP 429"),
    "reset": (Fault("reset"), "connection failed"),
    "truncated-body": (Fault("truncate", keep_fraction=0.4), "response body cut short"),
    "truncated-json": (Fault("truncate", keep_fraction=0.4, honest_length=True), "truncated JSON"),
    "html": (Fault("html"), "HTML body"),
    "timeout": (Fault("delay", seconds=1.0), "timed out"),
}


def _revise_feed(recorded_copy) -> Path:
    """A revised 2015 feed: every magnitude changed, so any partial load would show in the checksums."""
    revised = recorded_copy("feed_2015-09-07_2015-09-08.json")
    document = json.loads(revised.read_text())
    for objects in document["near_earth_objects"].values():
        for neo in objects:
            neo["absolute_magnitude_h"] = REVISED_H
    revised.write_text(json.dumps(document))
    return revised.parent


def _state() -> dict:
    return dlt.pipeline(pipeline_name="neows").state["sources"]


@pytest.mark.parametrize("name", list(FAULTS))
def test_fault_is_retried_or_fails_the_whole_run_without_a_trace(
    name, load_neows, warehouse_env, replay, recorded_copy
):
    fault, cause = FAULTS[name]
    settings = {**WINDOW, **BROWSE, "read_timeout": 0.3}
    load_neows(**settings)
    before, state_before = raw_checksums(warehouse_env), _state()
    loads_before = query(warehouse_env, f"select count(*) from {RAW}._dlt_loads")

    # the feed window succeeds with revised values, then every attempt at the browse page fails
    replay.layer(_revise_feed(recorded_copy))
    replay.inject(Fault(**{**fault.__dict__, "path": "/neo/browse", "times": 3}))
    served = len(replay.requests)
    with pytest.raises(PipelineStepFailed) as failure:
        load_neows(**settings)
    message = str(failure.value)
    assert "step=extract" in message
    assert "neo/browse?page=0&size=2 failed after 3 attempt(s)" in message
    assert message.count(cause) == 3, message
    deadline = time.monotonic() + 3  # a delayed answer is logged once the server sends it
    while len([r for r in replay.requests[served:] if r.path == "/neo/browse"]) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    browse_attempts = [r for r in replay.requests[served:] if r.path == "/neo/browse"]
    assert [r.fault for r in browse_attempts] == [fault.kind] * 3
    assert any(r.path == "/feed" and r.status == 200 for r in replay.requests[served:])  # fetched, never loaded
    assert raw_checksums(warehouse_env) == before
    assert query(warehouse_env, f"select count(*) from {RAW}._dlt_loads") == loads_before
    assert _state() == state_before

    # one failure is absorbed by a retry: the run loads, revised values included
    replay.inject(Fault(**{**fault.__dict__, "path": "/neo/browse", "times": 1}))
    load_neows(**settings)
    assert query(warehouse_env, f"select distinct absolute_magnitude_h from {RAW}.asteroids") == [(REVISED_H,)]
    assert raw_checksums(warehouse_env)[f"{RAW}.browse_asteroids"] == before[f"{RAW}.browse_asteroids"]


def test_a_failure_after_several_windows_loads_none_of_them(load_neows, warehouse_env, replay, tmp_path):
    from tests.extract_load.neows.test_feed import derive_window

    for first, last in [("2025-03-10", "2025-03-11"), ("2025-03-12", "2025-03-13"), ("2025-03-14", "2025-03-15")]:
        derive_window(tmp_path, "feed_2025-03-10_2025-03-17.json", first, last)
    replay.layer(tmp_path)  # Mar 16-17 is not recorded: the fourth window answers 404
    with pytest.raises(
        PipelineStepFailed, match=r"start_date=2025-03-16&end_date=2025-03-17 failed after 1 attempt\(s\)"
    ):
        load_neows(start_date="2025-03-10", end_date="2025-03-17", window_days=1)
    assert [r.status for r in replay.requests] == [200, 200, 200, 404]
    assert raw_checksums(warehouse_env) == {}
    # fix the range and rerun: the windows that had been fetched are fetched and loaded now
    load_neows(start_date="2025-03-10", end_date="2025-03-15", window_days=1)
    assert query(warehouse_env, f"select count(distinct close_approach_date) from {RAW}.close_approaches") == [(6,)]


def test_the_api_key_is_nowhere_after_good_and_failed_runs(load_neows, warehouse_env, replay, caplog, tmp_path):
    key = "SECRET-KEY-5b1d0e9a"
    caplog.set_level(logging.DEBUG)
    settings = {**WINDOW, **BROWSE, "api_key": key, "api_key_transport": "query"}
    replay.inject(Fault("status", status=503))
    load_neows(**settings)
    replay.inject(Fault("reset", times=3))
    with pytest.raises(PipelineStepFailed) as failure:
        load_neows(**settings)
    assert all(r.api_key_sent for r in replay.requests)
    assert key not in str(failure.value)
    assert key not in caplog.text
    assert key not in json.dumps(_state())
    working_dir = Path(dlt.pipeline(pipeline_name="neows").working_dir)
    for path in working_dir.rglob("*"):
        if path.is_file():
            assert key.encode() not in path.read_bytes(), path
    dump = query(
        warehouse_env,
        "select string_agg(t::text, ' ') from ("
        f"select a::text as t from {RAW}.asteroids as a union all select c::text from {RAW}.close_approaches as c "
        f"union all select b::text from {RAW}.browse_asteroids as b "
        f"union all select s::text from {RAW}._dlt_pipeline_state as s"
        ") as rows",
    )[0][0]
    assert "api_key" not in dump and key not in dump
