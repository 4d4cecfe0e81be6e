"""Feed into raw_neows through the replay server and real PostgreSQL: eras, reruns, overlaps, revisions."""

from __future__ import annotations

import importlib.util
import json
from datetime import date
from pathlib import Path

import dlt
import pytest

from elt.pipelines import load_entry_point
from extract_load.neows.replay import recorded_index
from extract_load.neows.settings import ASTEROID_COLUMNS, CLOSE_APPROACH_COLUMNS, RECORDED_DIR
from tests.conftest import REPO_ROOT
from tests.extract_load.neows.conftest import RAW, columns, query, raw_checksums

FEEDS = sorted(
    (dict(params)["start_date"], dict(params)["end_date"], "detailed" in dict(params))
    for (path, params) in recorded_index([RECORDED_DIR])
    if path == "/feed"
)


def _window_settings(first: str, last: str, lookback_days: int = 0) -> dict:
    span = (dlt.common.pendulum.parse(last) - dlt.common.pendulum.parse(first)).days
    return {"start_date": first, "end_date": last, "window_days": span, "lookback_days": lookback_days}


def _objects(name: str) -> list[dict]:
    document = json.loads((RECORDED_DIR / name).read_text())
    return [neo for day in document["near_earth_objects"].values() for neo in day]


def derive_window(folder: Path, source: str, first: str, last: str) -> None:
    """A feed response for a sub-window of a recorded one: its dates only, element_count recomputed."""
    document = json.loads((RECORDED_DIR / source).read_text())
    document["near_earth_objects"] = {
        day: objects for day, objects in document["near_earth_objects"].items() if first <= day <= last
    }
    document["element_count"] = sum(len(objects) for objects in document["near_earth_objects"].values())
    (folder / f"feed_{first}_{last}.json").write_text(json.dumps(document))


def test_every_recorded_feed_era_loads_into_one_stable_schema(load_neows, warehouse_env, replay):
    assert len(FEEDS) == 10  # one of them detailed (2016: orbital_data without orbit class)
    for first, last, detailed in FEEDS:
        load_neows(**_window_settings(first, last), detailed=detailed)
    names = [f"feed_{first}_{last}{'_detailed' if detailed else ''}.json" for first, last, detailed in FEEDS]
    objects = [neo for name in names for neo in _objects(name)]
    assert query(warehouse_env, f"select count(*) from {RAW}.asteroids") == [
        (len({o["neo_reference_id"] for o in objects}),)
    ]
    assert query(warehouse_env, f"select count(*) from {RAW}.close_approaches") == [(len(objects),)]
    # every column is the declared one, with its declared type: no variant (__v_) column from any era
    dlt_columns = {"_dlt_load_id": "character varying", "_dlt_id": "character varying"}
    pg_type = {"text": "character varying", "double": "double precision", "bigint": "bigint", "bool": "boolean"}
    assert columns(warehouse_env, "asteroids") == {
        **{name: pg_type[spec["data_type"]] for name, spec in ASTEROID_COLUMNS.items()},
        **dlt_columns,
    }
    assert columns(warehouse_env, "close_approaches") == {
        **{name: pg_type[spec["data_type"]] for name, spec in CLOSE_APPROACH_COLUMNS.items()},
        **dlt_columns,
    }
    # values as delivered: an integer magnitude (2022 era) in the double column, the 2015 era's strings
    assert query(
        warehouse_env, f"select absolute_magnitude_h from {RAW}.asteroids where neo_reference_id = '3825011'"
    ) == [(23.0,)]
    assert query(
        warehouse_env,
        "select miss_distance__kilometers, epoch_date_close_approach, close_approach_date_full "
        f"from {RAW}.close_approaches where neo_reference_id = '2465633' and close_approach_date = '2015-09-08'",
    ) == [("45290300.260256691", 1441744080000, "2015-Sep-08 20:28")]
    assert [request.path for request in replay.requests] == ["/feed"] * 10
    assert query(warehouse_env, f"select count(*) from {RAW}.asteroids where links__self like '%%api_key%%'") == [(0,)]


def test_rerun_re_reads_the_lookback_and_changes_nothing(load_neows, warehouse_env, replay):
    load_neows(start_date="2025-03-10", end_date="2025-03-17", lookback_days=2)
    first = raw_checksums(warehouse_env)
    load_neows(start_date="2025-03-10", end_date="2025-03-17", lookback_days=2)
    assert raw_checksums(warehouse_env) == first
    assert len(replay.requests) == 2  # the lookback re-read the (only) grid window
    assert query(warehouse_env, f"select count(*) from {RAW}._dlt_loads where status = 0") == [(2,)]
    load_neows(start_date="2025-03-10", end_date="2025-03-17", lookback_days=0)
    assert len(replay.requests) == 2  # nothing new, no lookback: no request, nothing loaded
    assert raw_checksums(warehouse_env) == first


def test_overlapping_windows_give_the_same_rows_as_one_window(load_neows, warehouse_env, replay, tmp_path):
    overlaps = tmp_path / "overlaps"
    overlaps.mkdir()
    derive_window(overlaps, "feed_2025-03-10_2025-03-17.json", "2025-03-10", "2025-03-13")
    derive_window(overlaps, "feed_2025-03-10_2025-03-17.json", "2025-03-12", "2025-03-17")
    replay.layer(overlaps)
    load_neows(start_date="2025-03-10", end_date="2025-03-13", window_days=3, lookback_days=0)
    # a second configuration whose grid overlaps the first: Mar 12-13 are loaded twice
    load_neows(start_date="2025-03-12", end_date="2025-03-17", window_days=5, lookback_days=2)
    assert replay.requests[-1].params == (("end_date", "2025-03-17"), ("start_date", "2025-03-12"))
    overlapped = raw_checksums(warehouse_env)
    # the same dates in one window, from scratch (tables truncated, state reset)
    load_neows(start_date="2025-03-10", end_date="2025-03-17", refresh="drop_data")
    assert replay.requests[-1].params == (("end_date", "2025-03-17"), ("start_date", "2025-03-10"))
    assert raw_checksums(warehouse_env) == overlapped


def test_a_revised_response_replaces_old_values_without_duplicates_or_lost_approaches(
    load_neows, warehouse_env, replay, recorded_copy
):
    load_neows(**_window_settings("2015-09-07", "2015-09-08"))
    load_neows(start_date="2025-03-10", end_date="2025-03-17", lookback_days=8)
    before = query(warehouse_env, f"select count(*) from {RAW}.close_approaches")[0][0]

    revised = recorded_copy("feed_2025-03-10_2025-03-17.json")
    document = json.loads(revised.read_text())
    days = document["near_earth_objects"]
    changed = days["2025-03-11"][0]
    changed["absolute_magnitude_h"] = 99.5
    changed["close_approach_data"][0]["miss_distance"]["kilometers"] = "1.5"
    moved = days["2025-03-14"].pop(0)  # a refined orbit moves this approach a day later
    moved["close_approach_data"][0]["close_approach_date"] = "2025-03-15"
    days["2025-03-15"].append(moved)
    revised.write_text(json.dumps(document))
    replay.layer(revised.parent)
    load_neows(start_date="2025-03-10", end_date="2025-03-17", lookback_days=8)

    changed_id, moved_id = changed["neo_reference_id"], moved["neo_reference_id"]
    assert query(
        warehouse_env, f"select absolute_magnitude_h from {RAW}.asteroids where neo_reference_id = %s", (changed_id,)
    ) == [(99.5,)]
    assert query(
        warehouse_env,
        f"select miss_distance__kilometers from {RAW}.close_approaches "
        "where neo_reference_id = %s and close_approach_date = '2025-03-11'",
        (changed_id,),
    ) == [("1.5",)]
    assert query(
        warehouse_env,
        f"select close_approach_date from {RAW}.close_approaches where neo_reference_id = %s",
        (moved_id,),
    ) == [("2025-03-15",)]
    assert query(warehouse_env, f"select count(*) from {RAW}.close_approaches") == [(before,)]
    dupes = (
        "select count(*) from (select neo_reference_id, close_approach_date, orbiting_body "
        f"from {RAW}.close_approaches group by 1, 2, 3 having count(*) > 1) as d"
    )
    assert query(warehouse_env, dupes) == [(0,)]
    assert query(warehouse_env, f"select count(*) - count(distinct neo_reference_id) from {RAW}.asteroids") == [(0,)]
    # 3713989 passes in both recorded windows: the 2025 merge kept its 2015 approach
    assert query(
        warehouse_env,
        f"select close_approach_date from {RAW}.close_approaches where neo_reference_id = '3713989' order by 1",
    ) == [("2015-09-07",), ("2025-03-13",)]


def test_objects_seen_in_several_windows_keep_every_approach_and_the_latest_attributes(load_neows, warehouse_env):
    shared = "2467460"  # passes in the 2022-05 and the 2023-05 recordings
    later = next(o for o in _objects("feed_2023-05-09_2023-05-16.json") if o["neo_reference_id"] == shared)
    load_neows(**_window_settings("2022-05-09", "2022-05-16"))
    load_neows(**_window_settings("2023-05-09", "2023-05-16"))
    assert query(
        warehouse_env,
        f"select close_approach_date from {RAW}.close_approaches where neo_reference_id = %s order by 1",
        (shared,),
    ) == [("2022-05-09",), ("2023-05-11",)]
    assert query(warehouse_env, f"select nasa_jpl_url from {RAW}.asteroids where neo_reference_id = %s", (shared,)) == [
        (later["nasa_jpl_url"],)
    ]


def test_unkeyable_or_mistyped_records_are_quarantined_and_the_rest_loads(
    load_neows, warehouse_env, replay, recorded_copy
):
    broken = recorded_copy("feed_2015-09-07_2015-09-08.json")
    document = json.loads(broken.read_text())
    del document["near_earth_objects"]["2015-09-08"][2]["neo_reference_id"]
    document["near_earth_objects"]["2015-09-08"][3]["absolute_magnitude_h"] = "bright"
    broken.write_text(json.dumps(document))
    replay.layer(broken.parent)
    load_neows(**_window_settings("2015-09-07", "2015-09-08"))
    assert query(warehouse_env, f"select count(*) from {RAW}.asteroids") == [(23,)]
    # the mistyped object's approach is quarantined with it (the unkeyable one's stays in its payload)
    assert query(warehouse_env, f"select count(*) from {RAW}.close_approaches") == [(23,)]
    objects = document["near_earth_objects"]["2015-09-08"]
    mistyped = "absolute_magnitude_h: expected double, got str 'bright'"
    assert query(
        warehouse_env,
        f"select request, position, reason, coalesce(payload->>'name', payload->>'close_approach_date') "
        f"from {RAW}.rejected_records order by 2",
    ) == [
        ("feed?start_date=2015-09-07&end_date=2015-09-08", position, reason, name)
        for position, reason, name in [
            ("near_earth_objects.2015-09-08[2]", "object without neo_reference_id", objects[2]["name"]),
            ("near_earth_objects.2015-09-08[3]", mistyped, objects[3]["name"]),
            (
                "near_earth_objects.2015-09-08[3].close_approach_data[0]",
                f"approach of quarantined object {objects[3]['neo_reference_id']} ({mistyped})",
                "2015-09-08",
            ),
        ]
    ]
    assert "absolute_magnitude_h" in columns(warehouse_env, "asteroids")
    assert not [name for name in columns(warehouse_env, "asteroids") if "__v_" in name]


def test_rate_limit_floor_stops_cleanly_and_the_next_run_resumes(warehouse_env, tmp_path, load_neows, replay):
    days = tmp_path / "days"
    days.mkdir()
    for first, last in [
        ("2025-03-10", "2025-03-11"),
        ("2025-03-12", "2025-03-13"),
        ("2025-03-14", "2025-03-15"),
        ("2025-03-16", "2025-03-17"),
    ]:
        derive_window(days, "feed_2025-03-10_2025-03-17.json", first, last)
    replay.layer(days)
    replay.reset_rate_limit(2)
    settings = {"start_date": "2025-03-10", "end_date": "2025-03-17", "window_days": 1, "lookback_days": 0}
    load_neows(**settings)
    assert query(
        warehouse_env, f"select min(close_approach_date), max(close_approach_date) from {RAW}.close_approaches"
    ) == [("2025-03-10", "2025-03-13")]
    replay.reset_rate_limit(2000)
    load_neows(**settings)
    assert [dict(r.params)["start_date"] for r in replay.requests] == [
        "2025-03-10",
        "2025-03-12",
        "2025-03-14",
        "2025-03-16",
    ]
    assert query(warehouse_env, f"select count(*) from {RAW}.close_approaches") == [(113,)]


def test_the_pipeline_script_loads_offline_with_the_committed_configuration(warehouse_env):
    info = load_entry_point(REPO_ROOT / "extract_load" / "neows_pipeline.py")()
    assert not info.has_failed_jobs
    counts = {
        table: query(warehouse_env, f"select count(*) from {RAW}.{table}")[0][0]
        for table in ("asteroids", "close_approaches", "browse_asteroids")
    }
    assert counts == {"asteroids": 113, "close_approaches": 113, "browse_asteroids": 20}


def test_refetch_re_reads_loaded_windows_and_picks_up_revisions(load_neows, warehouse_env, replay, recorded_copy):
    load_neows(**_window_settings("2015-09-07", "2015-09-08"))
    revised = recorded_copy("feed_2015-09-07_2015-09-08.json")
    document = json.loads(revised.read_text())
    neo = document["near_earth_objects"]["2015-09-07"][0]
    neo["absolute_magnitude_h"] = 30.5
    revised.write_text(json.dumps(document))
    replay.layer(revised.parent)
    load_neows(**_window_settings("2015-09-07", "2015-09-08"))  # no lookback: nothing is fetched
    assert len(replay.requests) == 1
    load_neows(**_window_settings("2015-09-07", "2015-09-08"), refetch=True)
    assert len(replay.requests) == 2
    assert query(
        warehouse_env,
        f"select absolute_magnitude_h from {RAW}.asteroids where neo_reference_id = %s",
        (neo["neo_reference_id"],),
    ) == [(30.5,)]


def test_the_pipeline_script_backfills_dates_offline(warehouse_env):
    spec = importlib.util.spec_from_file_location(
        "neows_pipeline_under_test", REPO_ROOT / "extract_load" / "neows_pipeline.py"
    )
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    script.run()
    loaded = raw_checksums(warehouse_env)
    info = script.backfill(date(2025, 3, 10), date(2025, 3, 17))
    assert not info.has_failed_jobs
    assert raw_checksums(warehouse_env) == loaded
    assert query(warehouse_env, f"select count(*) from {RAW}._dlt_loads where status = 0") == [(2,)]
    assert script.pipeline().dataset_name == RAW
    with pytest.raises(ValueError, match="no files"):
        script.backfill(files=["*.json"])
