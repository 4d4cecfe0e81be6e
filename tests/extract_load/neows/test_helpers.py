"""Feed window planning, coverage state and response-to-row mapping (pure functions)."""

from __future__ import annotations

import json
from datetime import date

import pytest

from extract_load.neows.helpers import (
    FeedResponseError,
    Rows,
    browse_rows,
    collapse_duplicate_approaches,
    coverage_from_state,
    coverage_to_state,
    feed_rows,
    flatten,
    merge_intervals,
    parse_day,
    plan_windows,
    read_id_file,
    type_violation,
)
from extract_load.neows.settings import ASTEROID_COLUMNS, RECORDED_DIR


def d(text: str) -> date:
    return date.fromisoformat(text)


def windows(*pairs: str) -> list[tuple[date, date]]:
    return [(d(first), d(last)) for first, last in (pair.split("..") for pair in pairs)]


def test_first_run_walks_a_fixed_grid_of_at_most_seven_day_windows_clipped_to_the_end():
    plan = plan_windows(d("2024-01-01"), d("2024-01-20"), 7, 3)
    assert plan == windows("2024-01-01..2024-01-08", "2024-01-09..2024-01-16", "2024-01-17..2024-01-20")
    assert plan_windows(d("2024-01-01"), d("2024-01-01"), 7, 3) == windows("2024-01-01..2024-01-01")
    assert plan_windows(d("2024-01-01"), d("2024-01-04"), 1, 0) == windows(
        "2024-01-01..2024-01-02", "2024-01-03..2024-01-04"
    )


def test_next_run_fetches_new_dates_and_re_reads_the_grid_windows_of_the_lookback():
    covered = windows("2024-01-01..2024-01-16")
    # lookback 3 days = Jan 14-16: the second grid window again, then the new dates
    assert plan_windows(d("2024-01-01"), d("2024-01-30"), 7, 3, covered) == windows(
        "2024-01-09..2024-01-16", "2024-01-17..2024-01-24", "2024-01-25..2024-01-30"
    )
    assert plan_windows(d("2024-01-01"), d("2024-01-30"), 7, 0, covered) == windows(
        "2024-01-17..2024-01-24", "2024-01-25..2024-01-30"
    )
    # nothing new and no lookback: nothing to do
    assert plan_windows(d("2024-01-01"), d("2024-01-16"), 7, 0, covered) == []
    # a rerun with lookback re-reads exactly the window it read before
    assert plan_windows(d("2024-01-01"), d("2024-01-16"), 7, 1, covered) == windows("2024-01-09..2024-01-16")


def test_refetch_plans_every_window_of_the_range_loaded_or_not():
    covered = windows("2024-01-01..2024-01-16")
    assert plan_windows(d("2024-01-05"), d("2024-01-12"), 7, 0, covered, refetch=True) == windows(
        "2024-01-05..2024-01-12"
    )


def test_an_earlier_start_date_backfills_only_the_gap():
    covered = windows("2024-03-01..2024-03-08")
    assert plan_windows(d("2024-02-20"), d("2024-03-08"), 7, 0, covered) == windows(
        "2024-02-20..2024-02-27", "2024-02-28..2024-03-06"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((d("2024-01-02"), d("2024-01-01"), 7, 0), "before start_date"),
        ((d("2024-01-01"), d("2024-01-02"), 8, 0), "window_days"),
        ((d("2024-01-01"), d("2024-01-02"), 7, -1), "lookback_days"),
    ],
)
def test_invalid_plans_are_refused(args, message):
    with pytest.raises(ValueError, match=message):
        plan_windows(*args)


def test_coverage_round_trips_through_the_state_and_merges_adjacent_ranges():
    coverage = merge_intervals(windows("2024-01-09..2024-01-16", "2024-01-01..2024-01-08", "2024-02-01..2024-02-02"))
    assert coverage == windows("2024-01-01..2024-01-16", "2024-02-01..2024-02-02")
    state = coverage_to_state(coverage)
    assert state == [["2024-01-01", "2024-01-16"], ["2024-02-01", "2024-02-02"]]
    assert coverage_from_state(json.loads(json.dumps(state))) == coverage
    assert coverage_from_state(None) == []


def test_parse_day():
    assert parse_day("2024-02-29") == d("2024-02-29")
    assert parse_day("today", today=d("2030-01-01")) == d("2030-01-01")
    with pytest.raises(ValueError, match="not a date"):
        parse_day("yesterday")


def test_flatten_uses_double_underscores_and_keeps_lists():
    assert flatten({"a": {"b": {"c": 1}}, "l": [1, {"x": 2}], "s": "v"}) == {"a__b__c": 1, "l": [1, {"x": 2}], "s": "v"}


def _feed(name: str) -> dict:
    return json.loads((RECORDED_DIR / name).read_text())


def test_feed_rows_split_objects_and_approaches():
    rows = feed_rows(_feed("feed_2015-09-07_2015-09-08.json"), windows("2015-09-07..2015-09-08")[0], "feed?x")
    assert len(rows.objects) == len(rows.approaches) == 25
    assert rows.rejected == []
    assert "close_approach_data" not in rows.objects[0]
    assert {"neo_reference_id", "close_approach_date", "orbiting_body", "miss_distance__lunar"} <= set(
        rows.approaches[0]
    )


def test_feed_rows_refuse_a_response_for_another_window_or_with_a_wrong_element_count():
    document = _feed("feed_2015-09-07_2015-09-08.json")
    with pytest.raises(FeedResponseError, match="outside the requested window"):
        feed_rows(document, windows("2015-09-08..2015-09-09")[0], "feed?x")
    document["element_count"] = 24
    with pytest.raises(FeedResponseError, match="element_count is 24 but 25"):
        feed_rows(document, windows("2015-09-07..2015-09-08")[0], "feed?x")
    with pytest.raises(FeedResponseError, match="near_earth_objects"):
        feed_rows({"links": {}}, windows("2015-09-07..2015-09-08")[0], "feed?x")


def test_unkeyable_records_are_quarantined_with_position_and_reason():
    document = _feed("browse_page_1_size_5.json")
    del document["near_earth_objects"][1]["neo_reference_id"]
    del document["near_earth_objects"][3]["close_approach_data"][0]["orbiting_body"]
    rows, page = browse_rows(document, "neo/browse?page=1&size=5")
    assert page["number"] == 1
    assert len(rows.objects) == 4
    assert [(r["position"], r["reason"]) for r in rows.rejected] == [
        ("near_earth_objects[1]", "object without neo_reference_id"),
        ("near_earth_objects[3].close_approach_data[0]", "close approach without date or orbiting_body"),
    ]
    assert rows.rejected[0]["payload"]["name"] == document["near_earth_objects"][1]["name"]


def test_values_that_do_not_fit_their_declared_type_are_quarantined_before_dlt_sees_them():
    document = _feed("feed_2015-09-07_2015-09-08.json")
    objects = document["near_earth_objects"]["2015-09-07"]
    objects[0]["absolute_magnitude_h"] = "bright"
    objects[1]["is_sentry_object"] = "no"
    objects[2]["close_approach_data"][0]["epoch_date_close_approach"] = 1.5
    objects[3]["absolute_magnitude_h"] = 21  # an int in a double column is fine (2022 era)
    rows = feed_rows(document, windows("2015-09-07..2015-09-08")[0], "feed?x")
    ids = [neo["neo_reference_id"] for neo in objects[:2]]
    assert [r["reason"] for r in rows.rejected] == [
        "absolute_magnitude_h: expected double, got str 'bright'",
        f"approach of quarantined object {ids[0]} (absolute_magnitude_h: expected double, got str 'bright')",
        "is_sentry_object: expected bool, got str 'no'",
        f"approach of quarantined object {ids[1]} (is_sentry_object: expected bool, got str 'no')",
        "epoch_date_close_approach: expected bigint, got float 1.5",
    ]
    assert rows.rejected[4]["position"] == "near_earth_objects.2015-09-07[2].close_approach_data[0]"
    assert (len(rows.objects), len(rows.approaches)) == (23, 22)  # quarantined objects take their approaches
    assert type_violation({"absolute_magnitude_h": True}, ASTEROID_COLUMNS) == (
        "absolute_magnitude_h: expected double, got bool True"
    )


def _approach(day: str, epoch: int | None, full: str, body: str = "Earth", neo_id: str = "1") -> dict:
    return {
        "neo_reference_id": neo_id,
        "close_approach_date": day,
        "orbiting_body": body,
        "epoch_date_close_approach": epoch,
        "close_approach_date_full": full,
    }


def test_same_key_approaches_of_a_response_collapse_to_the_latest_time_of_day_in_any_order():
    early = _approach("2020-01-01", 1_577_880_000_000, "2020-Jan-01 12:00")
    late = _approach("2020-01-01", 1_577_880_300_000, "2020-Jan-01 12:05")
    moon = _approach("2020-01-01", 1_577_880_000_000, "2020-Jan-01 12:00", body="Moon")
    other = _approach("2020-01-01", 1_577_880_000_000, "2020-Jan-01 12:00", neo_id="2")
    for order in ([early, late, moon, other], [late, moon, other, early]):
        rows = collapse_duplicate_approaches(Rows(approaches=list(order)))
        assert rows.collapsed == 1
        assert sorted(rows.approaches, key=repr) == sorted([late, moon, other], key=repr)
    # without a time: the later full date, then the one listed last
    no_epoch = [_approach("2020-01-01", None, "2020-Jan-01 12:05"), _approach("2020-01-01", None, "2020-Jan-01 12:00")]
    assert collapse_duplicate_approaches(Rows(approaches=no_epoch)).approaches == [no_epoch[0]]
    twins = [{**early, "miss_distance__astronomical": "0.1"}, {**early, "miss_distance__astronomical": "0.2"}]
    assert collapse_duplicate_approaches(Rows(approaches=twins)).approaches == [twins[1]]


def test_a_watch_list_file_holds_one_id_per_line_with_comments_and_blank_lines(tmp_path):
    path = tmp_path / "watch.txt"
    path.write_text("# watch list\n3542519\n\n  54049909  # Amor\n2000433\n")
    assert read_id_file(path) == ["3542519", "54049909", "2000433"]
    path.write_text("3542519\n1 2\n")
    with pytest.raises(ValueError, match=r"watch.txt' line 2: one id per line, got '1 2'"):
        read_id_file(path)
    with pytest.raises(ValueError, match=r"missing.txt'.*cannot be read"):
        read_id_file(tmp_path / "missing.txt")
