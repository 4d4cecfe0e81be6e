"""Detailed feeds (``detailed=true``): objects with their 2016-era ``orbital_data``, no lookups while fresh.

The recorded detailed feed (2016-11-19..20, ``recorded/SOURCES.md``) predates ``orbit_class`` and the
observation fields; none of its 9 asteroids has a recorded lookup, so a lookup would answer 404.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import dlt
import pytest

import extract_load.neows as neows
from elt.dbt_invocation import DbtSession
from extract_load.neows.settings import RECORDED_DIR
from tests.extract_load.neows.conftest import RAW, columns, query

DETAILED_FEED = {
    "start_date": "2016-11-19",
    "end_date": "2016-11-20",
    "window_days": 1,
    "lookback_days": 0,
    "detailed": True,
}
RECORDED_FEED = json.loads((RECORDED_DIR / "feed_2016-11-19_2016-11-20_detailed.json").read_text())
FEED_OBJECTS = {neo["neo_reference_id"]: neo for day in RECORDED_FEED["near_earth_objects"].values() for neo in day}
T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def clock(monkeypatch):
    """The lookups' clock, starting at T0; ``clock.advance(days=...)`` moves it."""

    class Clock:
        now = T0

        def advance(self, **delta) -> None:
            self.now += timedelta(**delta)

    instance = Clock()
    monkeypatch.setattr(neows, "utcnow", lambda: instance.now)
    return instance


def _lookup_requests(replay) -> list[str]:
    return [
        r.path.removeprefix("/neo/") for r in replay.requests if r.path.startswith("/neo/") and "browse" not in r.path
    ]


def test_the_detailed_feed_loads_its_orbits_and_spares_their_lookups_while_fresh(
    load_neows, warehouse_env, replay, clock
):
    load_neows(**DETAILED_FEED, lookup_budget=100)
    feed_requests = [r for r in replay.requests if r.path == "/feed"]
    assert [(r.params, r.status) for r in feed_requests] == [
        ((("detailed", "true"), ("end_date", "2016-11-20"), ("start_date", "2016-11-19")), 200)
    ]
    assert _lookup_requests(replay) == []  # every object brought its elements
    assert query(warehouse_env, f"select to_regclass('{RAW}.lookup_status')") == [(None,)]  # no lookup at all
    state = dlt.pipeline(pipeline_name="neows").state["sources"]["neows"]["resources"]["lookups"]
    assert state["checked"] == {neo_id: ["feed", T0.isoformat()] for neo_id in FEED_OBJECTS}

    rows = query(
        warehouse_env,
        f"select neo_reference_id, orbital_data__epoch_osculation, orbital_data__eccentricity, "
        f"orbital_data__orbit_determination_date, orbital_data__orbit_class__orbit_class_type, "
        f"orbital_data__first_observation_date, orbital_data__observations_used from {RAW}.asteroids",
    )
    assert {row[0]: row[1:] for row in rows} == {
        neo_id: (
            neo["orbital_data"]["epoch_osculation"],
            neo["orbital_data"]["eccentricity"],
            neo["orbital_data"]["orbit_determination_date"],  # text as delivered
            None,  # the 2016 schema has no orbit class and no observation fields
            None,
            None,
        )
        for neo_id, neo in FEED_OBJECTS.items()
    }

    clock.advance(days=29)  # still fresh: no lookup
    load_neows(**DETAILED_FEED, resources=("lookups",), lookup_budget=100)
    assert _lookup_requests(replay) == []
    clock.advance(days=1)  # 30 days after the window carried them: due
    load_neows(**DETAILED_FEED, resources=("lookups",), lookup_budget=100)
    assert sorted(_lookup_requests(replay)) == sorted(FEED_OBJECTS)


def test_the_feed_is_not_detailed_unless_asked(load_neows, warehouse_env, replay, clock):
    load_neows(**{**DETAILED_FEED, "detailed": False, "start_date": "2015-09-07", "end_date": "2015-09-08"})
    assert [r.params for r in replay.requests if r.path == "/feed"] == [
        (("end_date", "2015-09-08"), ("start_date", "2015-09-07"))
    ]
    # the declared orbital columns exist (empty), so staging reads a plain feed's table like a detailed one's
    assert columns(warehouse_env, "asteroids")["orbital_data__epoch_osculation"] == "character varying"
    assert query(warehouse_env, f"select count(*), count(orbital_data__epoch_osculation) from {RAW}.asteroids") == [
        (25, 0)
    ]


def test_orbit_determination_date_has_one_type_in_feed_browse_and_lookups(load_neows, warehouse_env, clock):
    load_neows(
        **DETAILED_FEED,
        resources=("feed", "browse", "lookups"),
        browse_page_size=2,
        browse_max_pages=1,
        browse_end_page=1,
        lookup_ids=["3542519"],
        lookup_budget=1,
    )
    types = {table: columns(warehouse_env, table) for table in ("asteroids", "browse_asteroids", "lookups")}
    assert {table: found["orbital_data__orbit_determination_date"] for table, found in types.items()} == {
        "asteroids": "character varying",
        "browse_asteroids": "character varying",
        "lookups": "character varying",
    }
    assert query(warehouse_env, f"select count(*) from {RAW}.lookups") == [(1,)]


def test_detailed_feed_orbits_reach_the_earth_moid_without_a_lookup(
    load_neows, warehouse_env, replay, repo_paths, clock
):
    load_neows(**DETAILED_FEED, lookup_budget=100)
    assert _lookup_requests(replay) == []
    # the NeoWs marts up to the hazardous list, with their data tests (unit tests run in tests/dbt)
    result = DbtSession(repo_paths).invoke(
        "build",
        "--select",
        "+dim_potentially_hazardous_asteroids",
        "--exclude-resource-type",
        "unit_test",
        "--indirect-selection",
        "cautious",
    )
    assert result.success
    orbits = query(
        warehouse_env,
        "select asteroid_id, orbit_source, orbit_class, epoch_osculation_jd, eccentricity, orbit_determined_at "
        "from staging.stg_neows__orbits",
    )
    assert {row[0]: row[1:] for row in orbits} == {
        neo_id: (
            "feed",
            None,
            float(neo["orbital_data"]["epoch_osculation"]),
            pytest.approx(float(neo["orbital_data"]["eccentricity"])),
            datetime.fromisoformat(neo["orbital_data"]["orbit_determination_date"]).replace(tzinfo=UTC),
        )
        for neo_id, neo in FEED_OBJECTS.items()
    }
    moids = query(
        warehouse_env,
        "select asteroid_id, orbit_source, moid_au, jpl_moid_au, moid_minus_jpl_au, invalid_reason "
        "from marts.asteroid_earth_moid",
    )
    assert {row[0] for row in moids} == set(FEED_OBJECTS)
    for neo_id, source, moid_au, jpl_moid_au, difference, reason in moids:
        assert (source, reason) == ("feed", None)
        assert jpl_moid_au == pytest.approx(float(FEED_OBJECTS[neo_id]["orbital_data"]["minimum_orbit_intersection"]))
        assert moid_au >= 0 and abs(difference) < 1e-4, (neo_id, moid_au, jpl_moid_au)
    print(
        f"largest |MOID - JPL| over the {len(moids)} detailed feed orbits: {max(abs(row[4]) for row in moids):.3g} au"
    )
    dim = query(warehouse_env, "select asteroid_id, orbit_source, has_orbital_elements from marts.dim_asteroids")
    assert sorted(dim) == sorted((neo_id, "feed", True) for neo_id in FEED_OBJECTS)
    hazardous = query(warehouse_env, "select asteroid_id, orbit_source from marts.dim_potentially_hazardous_asteroids")
    expected = {
        neo_id
        for neo_id, _, moid_au, *_ in moids
        if moid_au <= 0.05 and FEED_OBJECTS[neo_id]["absolute_magnitude_h"] <= 22.0
    }
    assert "2068950" in expected  # 68950 (2002 QF15): H 16.4, MOID 0.0058 au
    assert sorted(hazardous) == sorted((neo_id, "feed") for neo_id in expected)
