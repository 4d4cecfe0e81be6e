"""dim_potentially_hazardous_asteroids: its rows are the definition recomputed from the MOID model and dim_asteroids.

The session warehouse (tests/dbt/conftest.py) holds the demo's NeoWs data built by dbt: 20 browse orbits (three
of them flagged hazardous by NASA) and the 8 watch-list lookups (two of them flagged).
"""

from __future__ import annotations

import math
from datetime import date

import pytest

from elt.connection import connect

MOID_MAX_AU = 0.05
ABSOLUTE_MAGNITUDE_MAX = 22.0
LUNAR_DISTANCE_KM = 384_400
MART = "marts.dim_potentially_hazardous_asteroids"


def _dicts(target, sql: str, role: str | None = None) -> list[dict]:
    with connect(target, **({"role": role} if role else {})) as conn:
        cursor = conn.execute(sql)
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _meets_definition(moid_au: float | None, h: float | None) -> bool:
    return moid_au is not None and h is not None and moid_au <= MOID_MAX_AU and h <= ABSOLUTE_MAGNITUDE_MAX


def test_the_mart_holds_exactly_the_asteroids_meeting_the_definition(demo_env):
    moids = {row["asteroid_id"]: row for row in _dicts(demo_env.target, "select * from marts.asteroid_earth_moid")}
    asteroids = {row["asteroid_id"]: row for row in _dicts(demo_env.target, "select * from marts.dim_asteroids")}
    mart = {row["asteroid_id"]: row for row in _dicts(demo_env.target, f"select * from {MART}")}
    expected = {
        asteroid_id
        for asteroid_id, moid in moids.items()
        if _meets_definition(moid["moid_au"], asteroids[asteroid_id]["absolute_magnitude_h"])
    }
    # the demo's hazardous ones: three browse objects and two lookups (3542519 at H 21.87, just under 22)
    assert set(mart) == expected == {"2001566", "2001620", "2001862", "2382406", "3542519"}
    # asteroids close enough but too small or of unknown size are not listed
    assert moids["3726788"]["moid_au"] < MOID_MAX_AU and asteroids["3726788"]["absolute_magnitude_h"] > 22
    assert moids["54049909"]["moid_au"] < MOID_MAX_AU and asteroids["54049909"]["absolute_magnitude_h"] is None
    # NASA flags exactly these: no disagreement in either direction on the demo data
    flagged = {asteroid_id for asteroid_id in moids if asteroids[asteroid_id]["is_potentially_hazardous"]}
    assert flagged == expected


def test_each_row_carries_the_values_of_its_inputs(demo_env):
    moids = {row["asteroid_id"]: row for row in _dicts(demo_env.target, "select * from marts.asteroid_earth_moid")}
    asteroids = {row["asteroid_id"]: row for row in _dicts(demo_env.target, "select * from marts.dim_asteroids")}
    approaches = _dicts(
        demo_env.target,
        "select asteroid_id, close_approach_date, miss_distance_au from marts.fct_close_approaches "
        "where orbiting_body = 'Earth'",
    )
    rows = _dicts(demo_env.target, f"select * from {MART}")
    assert rows
    today = date.today()
    for row in rows:
        moid, asteroid = moids[row["asteroid_id"]], asteroids[row["asteroid_id"]]
        h = asteroid["absolute_magnitude_h"]
        assert row["moid_au"] == moid["moid_au"] <= MOID_MAX_AU
        assert row["moid_km"] == moid["moid_km"]
        assert row["moid_lunar"] == pytest.approx(moid["moid_km"] / LUNAR_DISTANCE_KM)
        assert (row["jpl_moid_au"], row["moid_minus_jpl_au"]) == (moid["jpl_moid_au"], moid["moid_minus_jpl_au"])
        assert (row["orbit_id"], row["orbit_source"], row["orbit_class"]) == (
            moid["orbit_id"],
            moid["orbit_source"],
            moid["orbit_class"],
        )
        assert row["absolute_magnitude_h"] == h <= ABSOLUTE_MAGNITUDE_MAX
        for column in ("asteroid_name", "size_class", "estimated_diameter_min_m", "estimated_diameter_max_m"):
            assert row[column] == asteroid[column], column
        assert row["size_class"] in {"large", "very_large"}
        nominal = 1_329_000 / math.sqrt(0.14) * 10 ** (-h / 5)
        assert row["nominal_diameter_m"] == pytest.approx(nominal)
        assert row["estimated_diameter_min_m"] < row["nominal_diameter_m"] < row["estimated_diameter_max_m"]
        assert (
            row["is_nasa_potentially_hazardous"] == row["agrees_with_nasa_flag"] == asteroid["is_potentially_hazardous"]
        )
        assert row["meets_definition_with_jpl_moid"] == _meets_definition(moid["jpl_moid_au"], h)
        assert (row["closest_earth_approach_au"], row["closest_earth_approach_date"]) == (
            asteroid["closest_earth_approach_au"],
            asteroid["closest_earth_approach_date"],
        )
        upcoming = sorted(
            (a["close_approach_date"], a["miss_distance_au"])
            for a in approaches
            if a["asteroid_id"] == row["asteroid_id"] and a["close_approach_date"] >= today
        )
        expected_next = upcoming[0] if upcoming else (None, None)
        assert (row["next_earth_approach_date"], row["next_earth_approach_au"]) == expected_next
    # the browse and lookup approach lists reach into the future: every demo PHA has a next approach
    assert all(row["next_earth_approach_date"] is not None for row in rows)


def test_the_reporter_reads_the_mart(demo_env):
    rows = _dicts(demo_env.target, f"select asteroid_id from {MART}", role="reporter")
    assert len(rows) == 5
