"""Earth's heliocentric osculating orbit at a given epoch (ecliptic and equinox J2000, au, radians).

JPL computes an asteroid's Earth MOID against Earth's own osculating orbit at the epoch of the asteroid's
elements. Without a numerical ephemeris, this module builds that orbit in three steps:

1. **Earth-Moon barycentre (EMB)** from the Keplerian elements and centennial rates of E. M. Standish,
   *Keplerian Elements for Approximate Positions of the Major Planets*, JPL Solar System Dynamics,
   https://ssd.jpl.nasa.gov/planets/approx_pos.html, **Table 1** (valid 1800 AD - 2050 AD; mean ecliptic and
   equinox of J2000), row "EM Bary"::

       a = 1.00000261 + 0.00000562 T au           e = 0.01671123 - 0.00004392 T
       I = -0.00001531 - 0.01294668 T deg         L = 100.46457166 + 35999.37244981 T deg
       long.peri = 102.93768193 + 0.32327364 T deg    long.node = 0

   with ``T`` Julian centuries of TDB from J2000.0 (JD 2451545.0); the quoted errors of the EMB position are
   20" in right ascension, 8" in declination and 6000 km in distance. The elements, advanced to the epoch, give
   the EMB's position and velocity by the two-body formulas (``GM = k^2 (1 + m_EMB)``, Gaussian ``k``).
2. **Moon's geocentric position and velocity** from the low-precision formulae of *The Astronomical Almanac*
   (Section D, "Low-precision formulae for geocentric coordinates of the Moon", J2000 form; about 0.3 deg in
   longitude, 0.2 deg in latitude, 0.003 deg in parallax, 1950-2050): six terms in longitude, four in
   latitude, four in horizontal parallax. Their analytic time derivatives give the velocity. The longitude is
   referred from the equinox of date to J2000 by subtracting the general precession in longitude
   (5028.796195" T, IAU 2006); the ~47"/century motion of the ecliptic itself is neglected (< 1 km here).
3. **Barycentre to Earth**: ``r_E = r_EMB - mu_M r_M`` and ``v_E = v_EMB - mu_M v_M`` with
   ``mu_M = M_Moon / (M_Earth + M_Moon) = 1 / (1 + 81.30056)`` (IAU 2009 / DE405 Earth/Moon mass ratio), then
   the osculating elements of that state with ``GM = k^2 (1 + m_Earth)``, ``1 / m_Earth = 332946.05``.

The lunar correction matters because the Moon swings Earth 4670 km around the EMB and by about 12.5 m/s in
velocity: the velocity term alone moves Earth's osculating semi-major axis by up to ~8e-4 au within a month, so
the fixed J2000 EMB mean elements miss JPL's MOID by up to 1.1e-3 au (Eros), while this construction agrees
with the MOIDs JPL publishes in the ten recorded NeoWs lookups within 1.6e-5 au (tests/numeric/test_moid_jpl.py).
"""

from __future__ import annotations

import numpy as np

from numeric.kepler import GM_SUN, elements_from_state, state_from_elements

J2000_JD = 2451545.0
"""Julian date (TDB) of J2000.0."""
DAYS_PER_CENTURY = 36525.0
VALID_JD = (2378496.5, 2470172.5)
"""1800-01-01 and 2050-01-01: the validity interval of Standish's Table 1."""

# Standish, Table 1, "EM Bary": (value at J2000, rate per Julian century); angles in degrees.
EMB_A = (1.00000261, 0.00000562)
EMB_E = (0.01671123, -0.00004392)
EMB_I = (-0.00001531, -0.01294668)
EMB_L = (100.46457166, 35999.37244981)
EMB_LONG_PERI = (102.93768193, 0.32327364)
EMB_LONG_NODE = (0.0, 0.0)

SUN_OVER_EMB_MASS = 328900.56
SUN_OVER_EARTH_MASS = 332946.05
EARTH_OVER_MOON_MASS = 81.30056
MOON_FRACTION_OF_EMB = 1.0 / (1.0 + EARTH_OVER_MOON_MASS)
EARTH_EQUATORIAL_RADIUS_AU = 6378.14 / 149_597_870.7
"""Earth radius the Almanac's horizontal parallax refers to, in au."""
PRECESSION_DEG_PER_CENTURY = 5028.796195 / 3600.0

# Astronomical Almanac low-precision Moon (J2000 form): (amplitude deg, phase deg, rate deg/century).
_MOON_LONGITUDE_MEAN = (218.32, 481267.881)
_MOON_LONGITUDE_TERMS = (
    (6.29, 135.0, 477198.87),
    (-1.27, 259.3, -413335.36),
    (0.66, 235.7, 890534.22),
    (0.21, 269.9, 954397.74),
    (-0.19, 357.5, 35999.05),
    (-0.11, 186.5, 966404.03),
)
_MOON_LATITUDE_TERMS = (
    (5.13, 93.3, 483202.02),
    (0.28, 228.2, 960400.89),
    (-0.28, 318.3, 6003.15),
    (-0.17, 217.6, -407332.21),
)
_MOON_PARALLAX_MEAN = 0.9508
_MOON_PARALLAX_TERMS = (
    (0.0518, 135.0, 477198.87),
    (0.0095, 259.3, -413335.36),
    (0.0078, 235.7, 890534.22),
    (0.0028, 269.9, 954397.74),
)


def _centuries(epoch_jd: np.ndarray) -> np.ndarray:
    jd = np.asarray(epoch_jd, dtype=np.float64)
    if np.any(~np.isfinite(jd)) or np.any((jd < VALID_JD[0]) | (jd > VALID_JD[1])):
        raise ValueError(
            "earth_orbit: epoch outside 1800-2050 (JD 2378496.5-2470172.5), where Standish's Table 1 elements are valid"
        )
    return (jd - J2000_JD) / DAYS_PER_CENTURY


def emb_elements(epoch_jd: np.ndarray) -> dict[str, np.ndarray]:
    """Standish Table 1 elements of the Earth-Moon barycentre advanced to the epoch.

    Args:
        epoch_jd: Julian date(s) (TDB), 1800-2050.

    Returns:
        Arrays ``a`` (au), ``e``, ``inc``, ``node``, ``peri`` (argument of perihelion) and ``mean_anomaly``
        (radians).

    Raises:
        ValueError: For an epoch outside 1800-2050.
    """
    t = _centuries(epoch_jd)
    rad = np.pi / 180.0
    long_peri = EMB_LONG_PERI[0] + EMB_LONG_PERI[1] * t
    long_node = EMB_LONG_NODE[0] + EMB_LONG_NODE[1] * t
    mean_longitude = EMB_L[0] + EMB_L[1] * t
    return {
        "a": EMB_A[0] + EMB_A[1] * t,
        "e": EMB_E[0] + EMB_E[1] * t,
        "inc": (EMB_I[0] + EMB_I[1] * t) * rad,
        "node": long_node * rad,
        "peri": (long_peri - long_node) * rad,
        "mean_anomaly": np.remainder(mean_longitude - long_peri, 360.0) * rad,
    }


def _series(t: np.ndarray, terms: tuple[tuple[float, float, float], ...], *, cosine: bool) -> tuple[np.ndarray, ...]:
    """Sum of ``A sin(phase + rate T)`` (or cos) in degrees and its derivative in degrees per century."""
    rad = np.pi / 180.0
    value = np.zeros_like(t)
    rate = np.zeros_like(t)
    for amplitude, phase, speed in terms:
        angle = (phase + speed * t) * rad
        if cosine:
            value += amplitude * np.cos(angle)
            rate -= amplitude * speed * rad * np.sin(angle)
        else:
            value += amplitude * np.sin(angle)
            rate += amplitude * speed * rad * np.cos(angle)
    return value, rate


def moon_geocentric_state(epoch_jd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Approximate geocentric position (au) and velocity (au/day) of the Moon, ecliptic and equinox J2000.

    Low-precision formulae of *The Astronomical Almanac* (see the module docstring), differentiated
    analytically; longitude precessed from the equinox of date to J2000.

    Args:
        epoch_jd: Julian date(s) (TDB), 1800-2050.

    Returns:
        ``(r, v)``, each of shape ``epoch_shape + (3,)``.
    """
    t = _centuries(epoch_jd)
    rad = np.pi / 180.0
    lon_periodic, lon_periodic_rate = _series(t, _MOON_LONGITUDE_TERMS, cosine=False)
    lon = (_MOON_LONGITUDE_MEAN[0] + _MOON_LONGITUDE_MEAN[1] * t + lon_periodic - PRECESSION_DEG_PER_CENTURY * t) * rad
    lon_rate = (_MOON_LONGITUDE_MEAN[1] + lon_periodic_rate - PRECESSION_DEG_PER_CENTURY) * rad
    lat, lat_rate = _series(t, _MOON_LATITUDE_TERMS, cosine=False)
    lat, lat_rate = lat * rad, lat_rate * rad
    par, par_rate = _series(t, _MOON_PARALLAX_TERMS, cosine=True)
    par, par_rate = (par + _MOON_PARALLAX_MEAN) * rad, par_rate * rad
    dist = EARTH_EQUATORIAL_RADIUS_AU / np.sin(par)
    dist_rate = -EARTH_EQUATORIAL_RADIUS_AU * np.cos(par) * par_rate / np.sin(par) ** 2
    cl, sl, cb, sb = np.cos(lon), np.sin(lon), np.cos(lat), np.sin(lat)
    r = np.stack([dist * cb * cl, dist * cb * sl, dist * sb], axis=-1)
    # d/dT of (D cos b cos l, D cos b sin l, D sin b), per century, then per day
    v = np.stack(
        [
            dist_rate * cb * cl - dist * sb * lat_rate * cl - dist * cb * sl * lon_rate,
            dist_rate * cb * sl - dist * sb * lat_rate * sl + dist * cb * cl * lon_rate,
            dist_rate * sb + dist * cb * lat_rate,
        ],
        axis=-1,
    )
    return r, v / DAYS_PER_CENTURY


def earth_state(epoch_jd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Heliocentric position (au) and velocity (au/day) of Earth's centre: EMB state minus the lunar offset.

    Args:
        epoch_jd: Julian date(s) (TDB), 1800-2050.

    Returns:
        ``(r, v)``, each of shape ``epoch_shape + (3,)``.
    """
    emb = emb_elements(epoch_jd)
    r_emb, v_emb = state_from_elements(**emb, mu=GM_SUN * (1.0 + 1.0 / SUN_OVER_EMB_MASS))
    r_moon, v_moon = moon_geocentric_state(epoch_jd)
    return r_emb - MOON_FRACTION_OF_EMB * r_moon, v_emb - MOON_FRACTION_OF_EMB * v_moon


def earth_osculating_elements(epoch_jd: np.ndarray) -> dict[str, np.ndarray]:
    """Earth's heliocentric osculating elements at the epoch(s) (ecliptic and equinox J2000).

    Args:
        epoch_jd: Julian date(s) (TDB), 1800-2050, e.g. the ``epoch_osculation`` of an asteroid's elements.

    Returns:
        Arrays ``a`` (au), ``e``, ``inc``, ``node``, ``peri``, ``mean_anomaly`` (radians), shaped like the epochs.

    Raises:
        ValueError: For an epoch outside 1800-2050.
    """
    r, v = earth_state(epoch_jd)
    return elements_from_state(r, v, mu=GM_SUN * (1.0 + 1.0 / SUN_OVER_EARTH_MASS))
