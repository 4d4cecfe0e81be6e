"""``/neo/{id}`` lookups through the replay server: recorded ids found, the rest not found, budgets, revisions."""

from __future__ import annotations

import json
from datetime import timedelta

import dlt

from extract_load.neows.helpers import plan_lookups
from extract_load.neows.replay import Fault
from extract_load.neows.settings import RECORDED_DIR
from tests.extract_load.neows.conftest import RAW, T0, query, raw_checksums

FEED_2015 = {"start_date": "2015-09-07", "end_date": "2015-09-08", "window_days": 1, "lookback_days": 0}
LOOKUPS = ("lookups",)
RECORDED_IN_2015_FEED = {"2440012", "3726788", "3727036", "3727639", "3730577"}
RECORDED = {*RECORDED_IN_2015_FEED, "2000433", "2382406", "3542519", "54049909"}


def _feed_ids() -> set[str]:
    document = json.loads((RECORDED_DIR / "feed_2015-09-07_2015-09-08.json").read_text())
    return {neo["neo_reference_id"] for day in document["near_earth_objects"].values() for neo in day}


def _lookup_requests(replay) -> list[tuple[str, int | None]]:
    lookups = [r for r in replay.requests if r.path.startswith("/neo/") and r.path != "/neo/browse"]
    return [(r.path.removeprefix("/neo/"), r.status) for r in lookups]


def _statuses(target) -> dict[str, str]:
    return dict(query(target, f"select neo_reference_id, status from {RAW}.lookup_status"))


def test_a_feed_run_fetches_the_recorded_lookups_and_marks_the_rest_not_found(load_neows, warehouse_env, replay, clock):
    ids = _feed_ids()
    assert len(ids) == 25
    load_neows(**FEED_2015, lookup_budget=100)
    statuses = _statuses(warehouse_env)
    assert statuses == {i: "found" if i in RECORDED_IN_2015_FEED else "not_found" for i in ids}
    assert {r[0] for r in query(warehouse_env, f"select neo_reference_id from {RAW}.lookups")} == RECORDED_IN_2015_FEED
    # orbital elements and the approach lists are kept, typed as declared
    recorded = json.loads((RECORDED_DIR / "neo_3726788.json").read_text())["orbital_data"]
    assert query(
        warehouse_env,
        "select orbital_data__epoch_osculation, orbital_data__eccentricity, "
        "orbital_data__orbit_class__orbit_class_type, fetched_at "
        f"from {RAW}.lookups where neo_reference_id = '3726788'",
    ) == [(recorded["epoch_osculation"], recorded["eccentricity"], recorded["orbit_class"]["orbit_class_type"], T0)]
    counts = dict(
        query(warehouse_env, f"select neo_reference_id, count(*) from {RAW}.lookup_close_approaches group by 1")
    )
    for neo_id in RECORDED_IN_2015_FEED:
        recorded = json.loads((RECORDED_DIR / f"neo_{neo_id}.json").read_text())
        assert counts[neo_id] == len(recorded["close_approach_data"])
        assert query(
            warehouse_env,
            f"select orbital_data__minimum_orbit_intersection from {RAW}.lookups where neo_reference_id = %s",
            (neo_id,),
        ) == [(recorded["orbital_data"]["minimum_orbit_intersection"],)]
    assert len(_lookup_requests(replay)) == 25
    # a rerun asks for nothing (found: fresh; 404: not retried before lookup_not_found_retry_days)
    before = raw_checksums(warehouse_env)
    load_neows(**FEED_2015, lookup_budget=100)
    assert len(_lookup_requests(replay)) == 25
    assert raw_checksums(warehouse_env) == before
    # after max age the found ones are fetched again, identical values, identical checksums (same clock)
    clock.advance(days=31)
    load_neows(**FEED_2015, lookup_budget=100)
    assert sorted(_lookup_requests(replay)[25:]) == sorted((i, 200) for i in RECORDED_IN_2015_FEED)
    after = raw_checksums(warehouse_env)
    changed = {table for table in after if after[table] != before[table]}
    assert changed == {f"{RAW}.lookups", f"{RAW}.lookup_status"}  # fetched_at / checked_at only
    clock.advance(days=60)  # 91 days after the 404s: asked again
    load_neows(**FEED_2015, lookup_budget=100)
    assert sorted(i for i, status in _lookup_requests(replay)[30:] if status == 404) == sorted(
        ids - RECORDED_IN_2015_FEED
    )


def test_reruns_give_identical_checksums(load_neows, warehouse_env, replay, clock):
    load_neows(**FEED_2015, lookup_budget=100)
    first = raw_checksums(warehouse_env)
    load_neows(**FEED_2015, lookup_budget=100, refresh="drop_sources")
    assert raw_checksums(warehouse_env) == first


def test_the_budget_stops_the_run_cleanly_and_the_next_run_resumes(load_neows, warehouse_env, replay, clock):
    ids = sorted(_feed_ids(), key=int)
    load_neows(**FEED_2015, lookup_budget=10)
    assert [i for i, _ in _lookup_requests(replay)] == ids[:10]
    assert set(_statuses(warehouse_env)) == set(ids[:10])
    # the feed's lookback is 0 and its window is loaded: the ids come from the lookups' state
    load_neows(**FEED_2015, lookup_budget=10)
    load_neows(**FEED_2015, lookup_budget=10)
    assert [i for i, _ in _lookup_requests(replay)] == ids
    assert set(_statuses(warehouse_env)) == set(ids)
    assert dlt.pipeline(pipeline_name="neows").state["sources"]["neows"]["resources"]["lookups"]["pending"] == []


def test_the_rate_limit_header_stops_the_run_and_the_next_period_resumes(load_neows, warehouse_env, replay, clock):
    replay.reset_rate_limit(8)  # the feed request and 7 lookups
    load_neows(**FEED_2015, lookup_budget=100)
    assert len(_lookup_requests(replay)) == 7
    assert len(_statuses(warehouse_env)) == 7
    replay.reset_rate_limit(2000)
    load_neows(**FEED_2015, lookup_budget=100)
    assert len(_statuses(warehouse_env)) == 25
    assert len(_lookup_requests(replay)) == 25


def test_429s_are_retried_and_persistent_429s_stop_the_lookups_cleanly(load_neows, warehouse_env, replay, clock):
    replay.inject(Fault("status", status=429, retry_after="0", path="/neo/", times=2))
    load_neows(**FEED_2015, lookup_budget=100, max_attempts=3)
    assert len(_statuses(warehouse_env)) == 25
    assert [r.status for r in replay.requests if r.fault] == [429, 429]

    clock.advance(days=31)  # the 5 found ones are due again; every attempt is refused
    before = raw_checksums(warehouse_env)
    replay.inject(Fault("status", status=429, path="/neo/", times=3))
    load_neows(**FEED_2015, lookup_budget=100, max_attempts=3)  # no exception: the run loads and stops
    assert raw_checksums(warehouse_env)[f"{RAW}.lookups"] == before[f"{RAW}.lookups"]
    load_neows(**FEED_2015, lookup_budget=100, max_attempts=3)
    assert raw_checksums(warehouse_env)[f"{RAW}.lookups"] != before[f"{RAW}.lookups"]  # fetched_at moved


def test_a_revised_lookup_leaves_only_the_revised_values(load_neows, warehouse_env, replay, recorded_copy, clock):
    settings = {**FEED_2015, "lookup_ids": ["3542519"], "lookup_budget": 100, "resources": LOOKUPS}
    load_neows(**settings)
    old = json.loads((RECORDED_DIR / "neo_3542519.json").read_text())
    assert query(warehouse_env, f"select orbital_data__orbit_id from {RAW}.lookups") == [("26",)]
    clock.advance(days=30)
    revised = recorded_copy("neo_3542519_rec2024-07-15.json", "neo_3542519.json")
    replay.layer(revised.parent)
    load_neows(**settings)
    new = json.loads(revised.read_text())
    assert query(
        warehouse_env,
        "select orbital_data__orbit_id, orbital_data__epoch_osculation, orbital_data__minimum_orbit_intersection, "
        f"absolute_magnitude_h from {RAW}.lookups",
    ) == [("30", "2460400.5", new["orbital_data"]["minimum_orbit_intersection"], new["absolute_magnitude_h"])]
    assert old["absolute_magnitude_h"] != new["absolute_magnitude_h"]
    approaches = query(
        warehouse_env,
        f"select close_approach_date, orbiting_body, miss_distance__astronomical from {RAW}.lookup_close_approaches",
    )
    assert sorted(approaches) == sorted(
        (a["close_approach_date"], a["orbiting_body"], a["miss_distance"]["astronomical"])
        for a in new["close_approach_data"]
    )


def test_the_lookup_without_magnitude_or_diameter_loads(load_neows, warehouse_env, replay, clock):
    load_neows(**FEED_2015, lookup_ids=["54049909"], lookup_budget=100, resources=LOOKUPS)
    assert query(
        warehouse_env,
        "select absolute_magnitude_h, estimated_diameter__meters__estimated_diameter_max, "
        f"orbital_data__orbit_class__orbit_class_type from {RAW}.lookups",
    ) == [(None, None, "AMO")]


BROWSE_TWO = {"resources": ("browse", "lookups"), "browse_page_size": 2, "browse_max_pages": 1, "browse_end_page": 1}


def test_browse_objects_with_orbital_elements_are_not_looked_up_while_fresh(
    load_neows, warehouse_env, replay, recorded_copy, clock
):
    # page 0 of size 2: Eros with its orbital elements, Albert (2000719) edited to have none
    page_file = recorded_copy("browse_page_0_size_2.json")
    page = json.loads(page_file.read_text())
    assert [neo["neo_reference_id"] for neo in page["near_earth_objects"]] == ["2000433", "2000719"]
    del page["near_earth_objects"][1]["orbital_data"]
    page_file.write_text(json.dumps(page))
    replay.layer(page_file.parent)

    load_neows(**FEED_2015, **BROWSE_TWO, lookup_budget=100)
    assert _lookup_requests(replay) == [("2000719", 404)]  # Eros' elements came with the page
    assert _statuses(warehouse_env) == {"2000719": "not_found"}
    assert query(
        warehouse_env,
        f"select orbital_data__epoch_osculation from {RAW}.browse_asteroids where neo_reference_id = %s",
        ("2000433",),
    ) == [(page["near_earth_objects"][0]["orbital_data"]["epoch_osculation"],)]
    state = dlt.pipeline(pipeline_name="neows").state["sources"]["neows"]["resources"]["lookups"]
    assert state["checked"]["2000433"] == ["browse", T0.isoformat()]

    clock.advance(days=20)  # the sweep delivers Eros again: its elements are 0 days old
    load_neows(**FEED_2015, **BROWSE_TWO, lookup_budget=100)
    clock.advance(days=15)  # 35 days after the first page, 15 after the second: still fresh
    load_neows(**FEED_2015, resources=LOOKUPS, lookup_budget=100)
    assert _lookup_requests(replay) == [("2000719", 404)]

    clock.advance(days=15)  # 30 days after the last page that carried Eros: its elements are due
    load_neows(**FEED_2015, resources=LOOKUPS, lookup_budget=100)
    assert _lookup_requests(replay) == [("2000719", 404), ("2000433", 200)]
    assert _statuses(warehouse_env) == {"2000719": "not_found", "2000433": "found"}
    assert query(warehouse_env, f"select neo_reference_id, fetched_at from {RAW}.lookups") == [
        ("2000433", T0 + timedelta(days=50))
    ]


def test_the_watch_list_is_looked_up_before_the_feed(load_neows, warehouse_env, replay, clock):
    watch = ["54049909", "3542519"]
    load_neows(**FEED_2015, lookup_ids=watch, lookup_budget=3)
    first_feed_id = min(_feed_ids(), key=int)
    assert first_feed_id == "2440012" and int(first_feed_id) < min(map(int, watch))  # first by id, not watched
    assert _lookup_requests(replay) == [("3542519", 200), ("54049909", 200), ("2440012", 200)]


def test_plan_lookups_orders_new_ids_first_then_the_oldest_due():
    checked = {
        "5": ["found", (T0 - timedelta(days=40)).isoformat()],
        "4": ["found", (T0 - timedelta(days=50)).isoformat()],
        "3": ["found", (T0 - timedelta(days=1)).isoformat()],
        "2": ["not_found", (T0 - timedelta(days=40)).isoformat()],
        "1": ["not_found", (T0 - timedelta(days=100)).isoformat()],
    }
    assert plan_lookups({"20", "10", "3"}, checked, T0, 30, 90) == ["10", "20", "1", "4", "5"]


def test_plan_lookups_puts_the_watch_list_first_and_ages_browse_elements_like_lookups():
    checked = {
        "7": ["browse", (T0 - timedelta(days=31)).isoformat()],
        "8": ["browse", (T0 - timedelta(days=29)).isoformat()],
        "9": ["found", (T0 - timedelta(days=30)).isoformat()],
    }
    assert plan_lookups({"1", "30", "20"}, checked, T0, 30, 90, watch=["30", "8"]) == ["30", "1", "20", "7", "9"]


def test_a_lookup_with_a_mistyped_field_is_rejected_with_its_approaches_and_asked_again_later(
    load_neows, warehouse_env, replay, recorded_copy, clock
):
    settings = {**FEED_2015, "lookup_ids": ["3542519", "54049909"], "lookup_budget": 100, "resources": LOOKUPS}
    broken = recorded_copy("neo_3542519.json")
    document = json.loads(broken.read_text())
    document["absolute_magnitude_h"] = "bright"
    broken.write_text(json.dumps(document))
    replay.layer(broken.parent)
    load_neows(**settings)
    assert dict(query(warehouse_env, f"select neo_reference_id, reason from {RAW}.lookup_status")) == {
        "3542519": "absolute_magnitude_h: expected double, got str 'bright'",
        "54049909": None,
    }
    assert _statuses(warehouse_env) == {"3542519": "rejected", "54049909": "found"}
    assert query(warehouse_env, f"select distinct neo_reference_id from {RAW}.lookup_close_approaches") == [
        ("54049909",)
    ]
    rejected = query(warehouse_env, f"select position from {RAW}.rejected_records order by position")
    assert len(rejected) == 1 + len(document["close_approach_data"])  # the object and every approach of it
    load_neows(**settings)
    assert _lookup_requests(replay) == [("3542519", 200), ("54049909", 200)]  # not asked again at once

    clock.advance(days=31)  # asked again like a found one: the corrected response loads
    broken.write_text((RECORDED_DIR / "neo_3542519.json").read_text())
    load_neows(**settings)
    assert _statuses(warehouse_env) == {"3542519": "found", "54049909": "found"}
    assert query(
        warehouse_env, f"select count(*) from {RAW}.lookup_close_approaches where neo_reference_id = %s", ("3542519",)
    ) == [(len(document["close_approach_data"]),)]


def test_the_watch_list_comes_from_a_file_of_any_size(load_neows, warehouse_env, replay, clock, tmp_path, monkeypatch):
    # 23,600 ids: about 200 kB, more than one environment variable may hold (128 kB on Linux: E2BIG)
    synthetic = [str(90_000_000 + index) for index in range(23_598)]
    watch = tmp_path / "watch.txt"
    watch.write_text(
        "# every id of the archive\n" + "\n".join([*synthetic[:10_000], "", "54049909", "3542519", *synthetic[10_000:]])
    )
    assert len(watch.read_bytes()) > 131_072
    monkeypatch.setenv("SOURCES__NEOWS__LOOKUP_IDS_FILE", str(watch))
    load_neows(**FEED_2015, resources=LOOKUPS, lookup_budget=2)
    assert _lookup_requests(replay) == [("3542519", 200), ("54049909", 200)]  # watched ids in id order
    state = dlt.pipeline(pipeline_name="neows").state["sources"]["neows"]["resources"]["lookups"]
    assert len(state["pending"]) == len(synthetic)
