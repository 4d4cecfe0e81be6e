"""asteroid_earth_moid (Python model, numeric.moid): agrees with JPL's published MOID; bad orbits get a reason.

The session warehouse (tests/dbt/conftest.py) loads the demo's NeoWs feed, browse page and lookups through the
replay server and builds dbt. The demo's watch list (``lookup_ids`` in .dlt/config.toml) names the recorded
lookups outside its feed window and browse page, so the first run finds them; Eros, on the browse page with its
orbital elements, is not looked up.
"""

from __future__ import annotations

import importlib.util
import json
from datetime import date

import dlt
import numpy as np
import pyarrow as pa
import pytest

from elt.connection import connect
from extract_load.neows.settings import RECORDED_DIR
from tests.conftest import REPO_ROOT

JPL_TOLERANCE_AU = 1e-4
MODEL_PATH = REPO_ROOT / "dbt_project" / "models" / "marts" / "neows" / "asteroid_earth_moid.py"


def _rows(target, sql: str, params: tuple = ()) -> list[tuple]:
    with connect(target) as conn:
        return conn.execute(sql, params).fetchall()


def test_every_recorded_lookup_in_the_warehouse_agrees_with_jpl(demo_env):
    lookups = {row[0] for row in _rows(demo_env.target, "select neo_reference_id from raw_neows.lookups")}
    assert lookups == set(dlt.config["sources.neows.lookup_ids"])  # the watch list, all recorded
    results = {
        row[0]: row[1:]
        for row in _rows(
            demo_env.target,
            "select asteroid_id, moid_au, jpl_moid_au, moid_minus_jpl_au, moid_km, invalid_reason, orbit_source "
            "from marts.asteroid_earth_moid",
        )
    }
    for neo_id in lookups:
        moid_au, jpl_au, difference, moid_km, reason, _ = results[neo_id]
        recorded = json.loads((RECORDED_DIR / f"neo_{neo_id}.json").read_text())
        assert reason is None
        assert jpl_au == pytest.approx(float(recorded["orbital_data"]["minimum_orbit_intersection"]))
        assert abs(difference) < JPL_TOLERANCE_AU, (neo_id, moid_au, jpl_au)
        assert moid_km == pytest.approx(moid_au * 149_597_870.7)
    # the browse objects carry JPL's MOID too: every orbit in the warehouse agrees
    differences = [abs(row[2]) for row in results.values() if row[2] is not None]
    assert len(differences) == len(results) == 20 + len(lookups)
    assert max(differences) < JPL_TOLERANCE_AU
    print(f"largest |MOID - JPL| over {len(differences)} orbits: {max(differences):.3g} au")


def test_browse_elements_reach_the_model_without_a_lookup(demo_env):
    """Eros is on the demo's browse page with its elements: no lookup, its orbit is the browse solution."""
    statuses = _rows(demo_env.target, "select status from raw_neows.lookup_status where neo_reference_id = '2000433'")
    assert statuses == []  # never asked for
    rows = _rows(
        demo_env.target,
        "select orbits.orbit_source, orbits.epoch_osculation_jd, orbits.epoch_osculation_date, dim.orbit_source, "
        "dim.eccentricity, dim.has_orbital_elements, moid.orbit_source, moid.jpl_moid_au "
        "from staging.stg_neows__orbits as orbits "
        "inner join marts.dim_asteroids as dim on orbits.asteroid_id = dim.asteroid_id "
        "inner join marts.asteroid_earth_moid as moid on orbits.asteroid_id = moid.asteroid_id "
        "where orbits.asteroid_id = '2000433'",
    )
    browse = next(
        neo["orbital_data"]
        for neo in json.loads((RECORDED_DIR / "browse_page_0_size_20.json").read_text())["near_earth_objects"]
        if neo["neo_reference_id"] == "2000433"
    )
    [(source, epoch_jd, epoch_date, dim_source, eccentricity, has_elements, moid_source, jpl_moid_au)] = rows
    assert (source, dim_source, moid_source, has_elements) == ("browse", "browse", "browse", True)
    assert epoch_jd == float(browse["epoch_osculation"])
    assert (epoch_date - date(2000, 1, 1)).days == int(np.floor(epoch_jd + 0.5)) - 2451545
    assert eccentricity == pytest.approx(float(browse["eccentricity"]))
    assert jpl_moid_au == pytest.approx(float(browse["minimum_orbit_intersection"]))


def _model_module():
    spec = importlib.util.spec_from_file_location("asteroid_earth_moid", MODEL_PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _FakeDbt:
    def __init__(self, orbits: pa.Table) -> None:
        self._orbits = orbits

    def config(self, **_: object) -> None:
        pass

    def ref(self, name: str) -> pa.Table:
        assert name == "stg_neows__orbits"
        return self._orbits


def test_invalid_orbits_get_nulls_and_a_reason_instead_of_failing():
    good = ["1", "2", "3", "4", "5", "6"]
    orbits = pa.table(
        {
            "asteroid_id": good,
            "orbit_id": ["a"] * 6,
            "orbit_source": ["browse"] * 6,
            "orbit_class": ["APO"] * 6,
            "epoch_osculation_jd": [2460000.5, 2460000.5, 2460000.5, 2300000.5, 2460000.5, 2460000.5],
            "semi_major_axis_au": [1.5, 1.5, None, 1.5, 1.2, 1.1],
            "eccentricity": [0.3, 1.2, 0.3, 0.3, 0.995, 0.2],
            "inclination_deg": [10.0, 10.0, 10.0, 10.0, 5.0, 150.0],
            "ascending_node_longitude_deg": [80.0] * 6,
            "perihelion_argument_deg": [30.0] * 6,
            "minimum_orbit_intersection_au": [None, 0.1, 0.1, 0.1, None, None],
        }
    )
    result = _model_module().model(_FakeDbt(orbits), None).to_pylist()
    by_id = {row["asteroid_id"]: row for row in result}
    reasons = {key: row["invalid_reason"] for key, row in by_id.items()}
    assert reasons["1"] is None and reasons["5"] is None and reasons["6"] is None  # near-parabolic, retrograde
    assert reasons["2"].startswith("parabolic or hyperbolic orbit")
    assert reasons["3"] == "missing orbital elements"
    assert reasons["4"].startswith("epoch outside 1800-2050")
    for key in ("2", "3", "4"):
        assert by_id[key]["moid_au"] is None and by_id[key]["moid_km"] is None
        assert by_id[key]["asteroid_true_anomaly_deg"] is None
    assert by_id["1"]["moid_au"] >= 0 and by_id["1"]["moid_minus_jpl_au"] is None
    assert 0 <= by_id["6"]["earth_true_anomaly_deg"] < 360


def test_the_model_agrees_with_jpl_on_all_ten_recorded_lookups():
    """The warehouse holds the demo's one recorded lookup; the model's code on all ten, revision included."""
    names = sorted(path.name for path in RECORDED_DIR.glob("neo_*.json") if not path.name.endswith(".headers.json"))
    assert len(names) == 10
    documents = [json.loads((RECORDED_DIR / name).read_text()) for name in names]
    fields = {
        "epoch_osculation_jd": "epoch_osculation",
        "semi_major_axis_au": "semi_major_axis",
        "eccentricity": "eccentricity",
        "inclination_deg": "inclination",
        "ascending_node_longitude_deg": "ascending_node_longitude",
        "perihelion_argument_deg": "perihelion_argument",
        "minimum_orbit_intersection_au": "minimum_orbit_intersection",
    }
    orbits = pa.table(
        {
            "asteroid_id": [f"{doc['neo_reference_id']}-{i}" for i, doc in enumerate(documents)],
            "orbit_id": [doc["orbital_data"]["orbit_id"] for doc in documents],
            "orbit_source": ["lookup"] * len(documents),
            "orbit_class": [doc["orbital_data"]["orbit_class"]["orbit_class_type"] for doc in documents],
            **{column: [float(doc["orbital_data"][field]) for doc in documents] for column, field in fields.items()},
        }
    )
    result = _model_module().model(_FakeDbt(orbits), None).to_pylist()
    differences = [abs(row["moid_minus_jpl_au"]) for row in result]
    assert all(row["invalid_reason"] is None for row in result)
    print(f"largest |MOID - JPL| over the ten recorded lookups: {max(differences):.3g} au")
    assert max(differences) < JPL_TOLERANCE_AU
