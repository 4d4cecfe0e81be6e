"""What `elt load` counts: every source's quarantine tables, duplicates collapsed, rows measured where they landed."""

from __future__ import annotations

import json

import dlt

from elt.connection import connect
from elt.pipeline_runs import count_rows
from elt.pipelines import extracted_rows, landed_rows
from extract_load.neows.replay import ReplayServer
from extract_load.neows.settings import RECORDED_DIR
from tests.elt.test_cli import run_elt

APOLLO = "2382406"


def _neows_env(warehouse, tmp_path, base_url: str) -> dict[str, str]:
    return {
        "WAREHOUSE_URL": warehouse.url(),
        "ELT_HOME": str(tmp_path / "home"),
        "SOURCES__NEOWS__BASE_URL": base_url,
        "SOURCES__NEOWS__START_DATE": "2015-09-07",
        "SOURCES__NEOWS__END_DATE": "2015-09-08",
        "SOURCES__NEOWS__WINDOW_DAYS": "1",
        "SOURCES__NEOWS__LOOKBACK_DAYS": "0",
        "SOURCES__NEOWS__BROWSE_MAX_PAGES": "0",
        "SOURCES__NEOWS__LOOKUP_IDS": json.dumps([APOLLO]),
        "SOURCES__NEOWS__LOOKUP_BUDGET": "1",
    }


def test_neows_quarantine_and_collapsed_duplicates_count_in_the_history_and_the_exit_code(warehouse, tmp_path):
    overrides = tmp_path / "recorded"
    overrides.mkdir()
    feed = json.loads((RECORDED_DIR / "feed_2015-09-07_2015-09-08.json").read_text())
    feed["near_earth_objects"]["2015-09-07"][0]["absolute_magnitude_h"] = "bright"
    (overrides / "feed_2015-09-07_2015-09-08.json").write_text(json.dumps(feed))
    lookup = json.loads((RECORDED_DIR / f"neo_{APOLLO}.json").read_text())
    approaches = lookup["close_approach_data"]
    later = {**approaches[0], "epoch_date_close_approach": approaches[0]["epoch_date_close_approach"] + 300_000}
    later["miss_distance"] = {**approaches[0]["miss_distance"], "astronomical": "0.123"}
    lookup["close_approach_data"] = [approaches[0], later, *approaches[1:]]  # the same key 5 minutes later
    (overrides / f"neo_{APOLLO}.json").write_text(json.dumps(lookup))

    with ReplayServer() as replay:
        replay.layer(overrides)
        result = run_elt("load", "neows", env=_neows_env(warehouse, tmp_path, replay.base_url))

    assert result.returncode == 3, result.stdout + result.stderr
    assert "load finished: neows: partial" in result.stdout
    assert "(1 duplicates collapsed)" in result.stdout
    feed_rows = 2 * (25 - 1)  # asteroids and approaches of the feed but the mistyped object's
    lookup_rows = 1 + len(approaches) + 1  # the object, its approaches (one of two same-key ones), its status
    with connect(warehouse) as conn:
        history = conn.execute(
            "select status, rows_extracted, rows_loaded, rows_rejected, rows_collapsed from raw_ops.pipeline_runs"
        ).fetchall()
        kept = conn.execute(
            "select epoch_date_close_approach, miss_distance__astronomical from raw_neows.lookup_close_approaches "
            "where close_approach_date = %s",
            (approaches[0]["close_approach_date"],),
        ).fetchall()
    assert history == [("partial", feed_rows + lookup_rows, feed_rows + lookup_rows, 2, 1)]
    assert kept == [(later["epoch_date_close_approach"], "0.123")]  # the later time of day wins


def test_rows_loaded_are_counted_where_they_landed(warehouse_env):
    @dlt.resource(name="readings", primary_key="id", write_disposition="merge")
    def readings():
        yield [{"id": 1, "value": "a"}, {"id": 1, "value": "b"}, {"id": 2, "value": "c"}]

    pipeline = dlt.pipeline(pipeline_name="counts", destination="postgres", dataset_name="raw_app")
    result = pipeline.run(readings())
    assert extracted_rows(result) == {"readings": 3}
    assert landed_rows(result) == {"readings": 2}  # the merge kept one row per key
    counts = count_rows(extracted_rows(result), landed_rows(result))
    assert (counts.extracted, counts.loaded, counts.rejected) == (3, 2, 0)


def test_every_rejected_table_is_quarantine():
    counts = count_rows({"asteroids": 5, "rejected_records": 2, "rejected_rows": 1})
    assert (counts.extracted, counts.loaded, counts.rejected, counts.status) == (5, 5, 3, "partial")
