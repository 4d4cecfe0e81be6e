"""Browse pages into raw_neows: every recorded page and era, orbital elements, resumable bounded sweeps."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from dlt.pipeline.exceptions import PipelineStepFailed

from extract_load.neows.settings import BROWSE_ASTEROID_COLUMNS, CLOSE_APPROACH_COLUMNS, RECORDED_DIR
from tests.extract_load.neows.conftest import RAW, columns, query, raw_checksums

BROWSE = ("browse",)


def _page(name: str) -> dict:
    return json.loads((RECORDED_DIR / name).read_text())


def write_page(folder: Path, page: int, size: int, objects: list[dict], total_pages: int) -> None:
    document = {
        "links": {"self": f"http://api.nasa.gov/neo/rest/v1/neo/browse?page={page}&size={size}"},
        "page": {"size": size, "total_elements": total_pages * size, "total_pages": total_pages, "number": page},
        "near_earth_objects": objects,
    }
    (folder / f"browse_page_{page}_size_{size}.json").write_text(json.dumps(document))


def test_every_recorded_browse_page_and_era_loads_with_orbital_elements(load_neows, warehouse_env, replay):
    load_neows(resources=BROWSE, browse_page_size=2, browse_start_page=0, browse_max_pages=1)
    load_neows(resources=BROWSE, browse_page_size=5, browse_start_page=1, browse_max_pages=1)
    load_neows(resources=BROWSE, browse_page_size=20, browse_start_page=0, browse_max_pages=1)
    assert [(r.path, r.params, r.status) for r in replay.requests] == [
        ("/neo/browse", (("page", "0"), ("size", "2")), 200),
        ("/neo/browse", (("page", "1"), ("size", "5")), 200),
        ("/neo/browse", (("page", "0"), ("size", "20")), 200),
    ]
    pages = [
        _page(name) for name in ("browse_page_0_size_2.json", "browse_page_1_size_5.json", "browse_page_0_size_20.json")
    ]
    ids = {neo["neo_reference_id"] for page in pages for neo in page["near_earth_objects"]}
    assert query(warehouse_env, f"select count(*) from {RAW}.browse_asteroids") == [(len(ids),)] == [(25,)]
    approaches = sum(
        len(neo["close_approach_data"]) for page in pages[1:] for neo in page["near_earth_objects"]
    )  # page 0 size 20 replaced the approach lists of the two objects page 0 size 2 had loaded
    assert query(warehouse_env, f"select count(*) from {RAW}.browse_close_approaches") == [(approaches,)]
    dlt_columns = {"_dlt_load_id": "character varying", "_dlt_id": "character varying"}
    pg_type = {"text": "character varying", "double": "double precision", "bigint": "bigint", "bool": "boolean"}
    assert columns(warehouse_env, "browse_asteroids") == {
        **{name: pg_type[spec["data_type"]] for name, spec in BROWSE_ASTEROID_COLUMNS.items()},
        **dlt_columns,
    }
    assert columns(warehouse_env, "browse_close_approaches") == {
        **{name: pg_type[spec["data_type"]] for name, spec in CLOSE_APPROACH_COLUMNS.items()},
        **dlt_columns,
    }
    # the 2016 legacy object: no id, orbital elements as delivered
    assert query(
        warehouse_env,
        "select id, orbital_data__orbit_id, orbital_data__minimum_orbit_intersection, "
        f"orbital_data__orbit_class__orbit_class_type from {RAW}.browse_asteroids where neo_reference_id = '2210012'",
    ) == [(None, "63", ".206074", None)]
    # the 2016 API's bogus epoch is kept as delivered; Jupiter is "Juptr"
    assert query(
        warehouse_env,
        f"select epoch_date_close_approach from {RAW}.browse_close_approaches "
        "where neo_reference_id = '2305090' and close_approach_date = '2165-05-08'",
    ) == [(61646,)]
    assert query(
        warehouse_env, f"select count(*) > 0 from {RAW}.browse_close_approaches where orbiting_body = 'Juptr'"
    ) == [(True,)]
    assert query(
        warehouse_env,
        "select orbital_data__orbit_class__orbit_class_type, orbital_data__data_arc_in_days "
        f"from {RAW}.browse_asteroids where neo_reference_id = '2000433'",
    ) == [
        (
            pages[2]["near_earth_objects"][0]["orbital_data"]["orbit_class"]["orbit_class_type"],
            pages[2]["near_earth_objects"][0]["orbital_data"]["data_arc_in_days"],
        )
    ]


def test_a_sweep_is_bounded_per_run_resumes_where_it_stopped_and_starts_over_when_done(
    load_neows, warehouse_env, replay, tmp_path
):
    objects = _page("browse_page_0_size_20.json")["near_earth_objects"]
    for page in range(4):
        write_page(tmp_path, page, 5, objects[page * 5 : page * 5 + 5], total_pages=4)
    replay.layer(tmp_path)
    settings = {"resources": BROWSE, "browse_page_size": 5, "browse_max_pages": 2}
    load_neows(**settings)
    assert query(warehouse_env, f"select count(*) from {RAW}.browse_asteroids") == [(10,)]
    load_neows(**settings)
    swept = raw_checksums(warehouse_env)
    load_neows(**settings)
    assert [dict(r.params)["page"] for r in replay.requests] == ["0", "1", "2", "3", "0", "1"]
    assert raw_checksums(warehouse_env) == swept
    # four pages of 5 hold exactly the rows of one page of 20
    load_neows(resources=BROWSE, browse_page_size=20, browse_max_pages=1, refresh="drop_data")
    assert raw_checksums(warehouse_env) == swept


def test_browse_end_page_bounds_the_sweep(load_neows, replay):
    for _ in range(2):
        load_neows(resources=BROWSE, browse_page_size=20, browse_max_pages=5, browse_end_page=1)
    assert [dict(r.params)["page"] for r in replay.requests] == ["0", "0"]


def test_the_object_without_magnitude_or_diameter_loads(load_neows, warehouse_env, replay, tmp_path):
    lookup = json.loads((RECORDED_DIR / "neo_54049909.json").read_text())
    assert "absolute_magnitude_h" not in lookup and "estimated_diameter" not in lookup
    write_page(tmp_path, 0, 1, [lookup], total_pages=1)
    replay.layer(tmp_path)
    load_neows(resources=BROWSE, browse_page_size=1, browse_max_pages=1)
    assert query(
        warehouse_env,
        "select name, absolute_magnitude_h, estimated_diameter__meters__estimated_diameter_max, "
        f"orbital_data__orbit_class__orbit_class_type from {RAW}.browse_asteroids",
    ) == [(lookup["name"], None, None, lookup["orbital_data"]["orbit_class"]["orbit_class_type"])]


def test_a_page_that_answers_another_page_number_is_an_error(load_neows, warehouse_env, replay, tmp_path):
    (tmp_path / "browse_page_0_size_5.json").write_text((RECORDED_DIR / "browse_page_1_size_5.json").read_text())
    replay.layer(tmp_path)
    with pytest.raises(PipelineStepFailed, match="answered page 1 for page 0"):
        load_neows(resources=BROWSE, browse_page_size=5, browse_max_pages=1)
    assert raw_checksums(warehouse_env) == {}
