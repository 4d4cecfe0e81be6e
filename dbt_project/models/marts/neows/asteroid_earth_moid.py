"""Earth MOID of every asteroid with orbital elements, computed from its osculating orbit and checked against JPL.

The minimum orbit intersection distance (MOID) is the smallest distance between the asteroid's orbit and
Earth's orbit, as curves: how close the asteroid *could* pass, whatever the timing. ``numeric.moid.earth_moid``
computes it with a Numba kernel (global grid search over both anomalies plus Newton refinement) against Earth's
own osculating orbit at the asteroid's epoch (``numeric.earth_orbit``: Standish's approximate elements of the
Earth-Moon barycentre, corrected to Earth with the main lunar terms) — what JPL does for the MOID it publishes.
An orbit the method does not handle (not a closed ellipse, missing elements, epoch outside 1800-2050) gets
null results and an ``invalid_reason`` instead of failing the build.
"""

import numpy as np
import pyarrow as pa

from numeric.earth_orbit import VALID_JD
from numeric.kepler import AU_KM
from numeric.moid import earth_moid

ELEMENTS = (
    "epoch_osculation_jd",
    "semi_major_axis_au",
    "eccentricity",
    "inclination_deg",
    "ascending_node_longitude_deg",
    "perihelion_argument_deg",
)
SCHEMA = pa.schema(
    [
        ("asteroid_id", pa.string()),
        ("orbit_id", pa.string()),
        ("orbit_source", pa.string()),
        ("orbit_class", pa.string()),
        ("epoch_osculation_jd", pa.float64()),
        ("moid_au", pa.float64()),
        ("moid_km", pa.float64()),
        ("asteroid_true_anomaly_deg", pa.float64()),
        ("earth_true_anomaly_deg", pa.float64()),
        ("jpl_moid_au", pa.float64()),
        ("moid_minus_jpl_au", pa.float64()),
        ("invalid_reason", pa.string()),
    ]
)


def column(table, name):
    """A numeric column as float64 with nulls as NaN."""
    return np.asarray(table.column(name).to_numpy(zero_copy_only=False), dtype=np.float64)


def invalid_reasons(epoch, a, e, inc, node, peri):
    """Why each orbit gets no MOID (None where it is computed)."""
    reasons = np.full(a.shape, None, dtype=object)
    checks = (
        (~np.isfinite(np.stack([epoch, a, e, inc, node, peri])).all(axis=0), "missing orbital elements"),
        (e >= 1.0, "parabolic or hyperbolic orbit (e >= 1): not a closed ellipse"),
        (e < 0.0, "negative eccentricity"),
        (a <= 0.0, "semi-major axis <= 0"),
        ((inc < 0.0) | (inc > 180.0), "inclination outside 0-180 degrees"),
        (
            (epoch < VALID_JD[0]) | (epoch > VALID_JD[1]),
            "epoch outside 1800-2050, the validity of the Earth orbit model",
        ),
    )
    for failed, reason in checks:
        reasons[np.asarray(failed, dtype=bool) & (reasons == None)] = reason  # noqa: E711 (elementwise)
    return reasons


def model(dbt, session):
    """Earth MOID per asteroid of stg_neows__orbits, with JPL's published value and the difference."""
    dbt.config(materialized="table")
    orbits = dbt.ref("stg_neows__orbits").sort_by("asteroid_id")
    if orbits.num_rows == 0:
        return SCHEMA.empty_table()
    epoch, a, e, inc, node, peri = (column(orbits, name) for name in ELEMENTS)
    reasons = invalid_reasons(epoch, a, e, inc, node, peri)
    ok = np.array([reason is None for reason in reasons], dtype=bool)
    n = orbits.num_rows
    moid_au, nu_asteroid, nu_earth = (np.full(n, np.nan) for _ in range(3))
    if ok.any():
        result = earth_moid(epoch[ok], a[ok], e[ok], inc[ok], node[ok], peri[ok], invalid="nan")
        moid_au[ok] = result.moid_au
        nu_asteroid[ok] = result.asteroid_true_anomaly_deg
        nu_earth[ok] = result.earth_true_anomaly_deg
    reasons[ok & ~np.isfinite(moid_au)] = "the MOID search did not converge"
    jpl = column(orbits, "minimum_orbit_intersection_au")

    def nullable(values):
        return pa.array(values, type=pa.float64(), mask=~np.isfinite(values))

    return pa.table(
        {
            "asteroid_id": orbits.column("asteroid_id"),
            "orbit_id": orbits.column("orbit_id"),
            "orbit_source": orbits.column("orbit_source"),
            "orbit_class": orbits.column("orbit_class"),
            "epoch_osculation_jd": nullable(epoch),
            "moid_au": nullable(moid_au),
            "moid_km": nullable(moid_au * AU_KM),
            "asteroid_true_anomaly_deg": nullable(nu_asteroid),
            "earth_true_anomaly_deg": nullable(nu_earth),
            "jpl_moid_au": nullable(jpl),
            "moid_minus_jpl_au": nullable(moid_au - jpl),
            "invalid_reason": pa.array(list(reasons), type=pa.string()),
        },
        schema=SCHEMA,
    )
