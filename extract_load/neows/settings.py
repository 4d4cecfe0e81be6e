"""Constants of the NeoWs source: endpoints, limits, table names and the column types of ``raw_neows``.

Every column the API has delivered in any era (2015-2025 feeds, 2016 legacy browse objects, lookups without
magnitude or diameter) is declared here with its type, so the table schema does not depend on which era
happens to be loaded first: without these hints dlt would infer ``bigint`` from an ``absolute_magnitude_h``
of ``23`` (2022 and 2023 feeds) and then add a variant column ``absolute_magnitude_h__v_double`` for ``20.48``.
Values are kept as delivered: the API's decimal strings (velocities, distances, orbital elements) stay text,
staging casts them.
"""

from __future__ import annotations

from pathlib import Path

from dlt.common.schema.typing import TColumnSchema

DEMO_KEY = "DEMO_KEY"
"""api.nasa.gov's shared key: about 30 requests an hour and 50 a day per IP address."""

LIVE_BASE_URL = "https://api.nasa.gov/neo/rest/v1"
REPLAY = "replay"
"""``base_url`` value that starts the in-repo replay server for the run (the default: works offline)."""

RECORDED_DIR = Path(__file__).resolve().parent / "recorded"
"""Real NeoWs responses (provenance in ``recorded/SOURCES.md``) served by the replay server."""

MAX_WINDOW_DAYS = 7
"""The feed rejects ``end_date - start_date > 7``; ``end_date`` is inclusive, so 7 days span 8 dates."""

ASTEROIDS = "asteroids"
CLOSE_APPROACHES = "close_approaches"
BROWSE_ASTEROIDS = "browse_asteroids"
BROWSE_CLOSE_APPROACHES = "browse_close_approaches"
REJECTED_RECORDS = "rejected_records"
LOOKUPS = "lookups"
LOOKUP_CLOSE_APPROACHES = "lookup_close_approaches"
LOOKUP_STATUS = "lookup_status"

LOOKUP_FOUND = "found"
LOOKUP_NOT_FOUND = "not_found"
LOOKUP_REJECTED = "rejected"
"""Lookup status of an id whose response is quarantined: a complete body that cannot be decoded or parsed,
or an object with a value of the wrong type (its approaches are quarantined with it)."""
LOOKUP_COVERED_BY_BROWSE = "browse"
"""Lookup-state status of an id whose browse object carried its orbital elements: no request was needed."""
LOOKUP_COVERED_BY_FEED = "feed"
"""Lookup-state status of an id whose feed object (``detailed=true``) carried its orbital elements."""

ORBITAL_ELEMENTS = (
    "orbital_data__epoch_osculation",
    "orbital_data__eccentricity",
    "orbital_data__semi_major_axis",
    "orbital_data__inclination",
    "orbital_data__ascending_node_longitude",
    "orbital_data__perihelion_argument",
)
"""The elements that define an osculating orbit (what the Earth MOID needs), as flattened row columns."""

CLOSE_APPROACH_KEY = ("neo_reference_id", "close_approach_date", "orbiting_body")

SCHEMA_CONTRACT = {"tables": "evolve", "columns": "evolve", "data_type": "freeze"}
"""New tables and columns are welcome in raw; a value that does not fit its declared type fails the run
instead of creating a variant column."""


def _columns(*specs: tuple[str, str]) -> dict[str, TColumnSchema]:
    return {name: {"name": name, "data_type": data_type, "nullable": True} for name, data_type in specs}


def _diameters() -> list[tuple[str, str]]:
    return [
        (f"estimated_diameter__{unit}__estimated_diameter_{bound}", "double")
        for unit in ("kilometers", "meters", "miles", "feet")
        for bound in ("min", "max")
    ]


_OBJECT_SPECS: list[tuple[str, str]] = [
    ("neo_reference_id", "text"),
    ("id", "text"),
    ("name", "text"),
    ("name_limited", "text"),
    ("designation", "text"),
    ("nasa_jpl_url", "text"),
    ("links__self", "text"),
    ("absolute_magnitude_h", "double"),
    *_diameters(),
    ("is_potentially_hazardous_asteroid", "bool"),
    ("is_sentry_object", "bool"),
    ("sentry_data", "text"),
    ("response_decoding", "text"),
]

_ORBITAL_SPECS: list[tuple[str, str]] = [
    *(
        (f"orbital_data__{name}", "text")
        for name in (
            "orbit_id",
            "orbit_determination_date",
            "first_observation_date",
            "last_observation_date",
        )
    ),
    ("orbital_data__data_arc_in_days", "bigint"),
    ("orbital_data__observations_used", "bigint"),
    *(
        (f"orbital_data__{name}", "text")
        for name in (
            "orbit_uncertainty",
            "minimum_orbit_intersection",
            "jupiter_tisserand_invariant",
            "epoch_osculation",
            "eccentricity",
            "semi_major_axis",
            "inclination",
            "ascending_node_longitude",
            "orbital_period",
            "perihelion_distance",
            "perihelion_argument",
            "aphelion_distance",
            "perihelion_time",
            "mean_anomaly",
            "mean_motion",
            "equinox",
            "orbit_class__orbit_class_type",
            "orbit_class__orbit_class_description",
            "orbit_class__orbit_class_range",
        )
    ),
]

_APPROACH_SPECS: list[tuple[str, str]] = [
    ("neo_reference_id", "text"),
    ("close_approach_date", "text"),
    ("orbiting_body", "text"),
    ("close_approach_date_full", "text"),
    ("epoch_date_close_approach", "bigint"),
    ("relative_velocity__kilometers_per_second", "text"),
    ("relative_velocity__kilometers_per_hour", "text"),
    ("relative_velocity__miles_per_hour", "text"),
    ("miss_distance__astronomical", "text"),
    ("miss_distance__lunar", "text"),
    ("miss_distance__kilometers", "text"),
    ("miss_distance__miles", "text"),
]

ASTEROID_COLUMNS = _columns(*_OBJECT_SPECS, *_ORBITAL_SPECS)
"""Feed objects: the orbital elements are null unless the feed was requested with ``detailed=true``, whose
objects carry ``orbital_data`` like browse objects (declared here so ``orbit_determination_date`` is text, as
delivered, in the feed, browse and lookup tables alike, not a timestamp dlt would infer)."""

BROWSE_ASTEROID_COLUMNS = _columns(*_OBJECT_SPECS, *_ORBITAL_SPECS)
"""Browse objects (the same shape as ``/neo/{id}`` lookups): feed columns plus the orbital elements."""

CLOSE_APPROACH_COLUMNS = _columns(*_APPROACH_SPECS)

LOOKUP_COLUMNS = _columns(*_OBJECT_SPECS, *_ORBITAL_SPECS, ("fetched_at", "timestamp"))
"""``/neo/{id}`` lookups: the browse shape plus when the lookup was fetched (UTC)."""

LOOKUP_STATUS_COLUMNS = _columns(
    ("neo_reference_id", "text"),
    ("status", "text"),
    ("http_status", "bigint"),
    ("reason", "text"),
    ("checked_at", "timestamp"),
)
"""The outcome of the latest lookup of every id asked for: ``found`` (200), ``not_found`` (404) or
``rejected`` (quarantined, with the reason)."""

REJECTED_COLUMNS = _columns(
    ("request", "text"),
    ("position", "text"),
    ("reason", "text"),
    ("payload", "json"),
)
"""Quarantine: records that cannot be keyed, with the (api-key-free) request, their JSON position and why."""

for _table in (
    ASTEROID_COLUMNS,
    BROWSE_ASTEROID_COLUMNS,
    CLOSE_APPROACH_COLUMNS,
    LOOKUP_COLUMNS,
    LOOKUP_STATUS_COLUMNS,
):
    _table["neo_reference_id"]["nullable"] = False
for _name in CLOSE_APPROACH_KEY[1:]:
    CLOSE_APPROACH_COLUMNS[_name]["nullable"] = False
