"""Between the stations: inverse-distance-weighted (IDW) estimates at places without one.

A monitoring station measures the air at one point; a cell between stations
has no measurement, only an estimate from its neighbours. This module owns that
arithmetic and nothing else: points in, numbers out (pure numpy, no store, no
grid). Which cells to estimate, and keeping estimates apart from measurements,
is the caller's.

The method, and why:

- weights 1 / d**power (power 2) on great-circle distance in km. True
  distances, not H3 ring counts: rings quantise distance to a cell's spacing,
  so "halfway between two stations" would only be halfway when the rings say so.
- only stations within `max_km` count (default 4 km: HJ 664-2013 §3.1 gives an
  urban assessment station (城市点) a representative radius of 500 m to 4 km),
  and a place needs at least `min_sources` of them (default 2): one station
  alone is that station's value carried off, not an estimate between stations.
- a place at a station (within `AT_STATION_KM`) takes that station's value.
- each value is weighted on its own: a station without a valid value at one
  step (NaN) drops out of that step only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

EARTH_RADIUS_KM: Final = 6371.0088  # mean Earth radius (IUGG)
POWER: Final = 2.0
MAX_KM: Final = 4.0
MIN_SOURCES: Final = 2
AT_STATION_KM: Final = 0.001  # 1 m: a place this close is the station's own


@dataclass(frozen=True)
class Estimate:
    """Estimates at the targets: `values` one row per target (the values' further axes
    after it), NaN where there is none; `sources` how many stations each one used."""

    values: np.ndarray
    sources: np.ndarray


def distances_km(lat1: np.ndarray, lng1: np.ndarray, lat2: np.ndarray, lng2: np.ndarray
                 ) -> np.ndarray:
    """Return the great-circle distance in km from each point 1 (rows) to each point 2
    (columns), by the haversine formula (WGS-84 degrees)."""
    p1 = np.radians(np.asarray(lat1, dtype=float))[:, None]
    p2 = np.radians(np.asarray(lat2, dtype=float))[None, :]
    dlng = np.radians(np.asarray(lng2, dtype=float))[None, :] - \
        np.radians(np.asarray(lng1, dtype=float))[:, None]
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlng / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def idw(target_lat: np.ndarray, target_lng: np.ndarray, lat: np.ndarray, lng: np.ndarray,
        values: np.ndarray, *, power: float = POWER, max_km: float = MAX_KM,
        min_sources: int = MIN_SOURCES) -> Estimate:
    """Return the IDW estimates at the targets from stations at (`lat`, `lng`).

    `values` has one row per station and any further axes (e.g. hours); NaN
    marks a station without a valid value there.
    """
    if max_km <= 0 or power <= 0 or min_sources < 1:
        raise ValueError(f"IDW needs max_km > 0, power > 0 and min_sources >= 1; got "
                         f"{max_km}, {power}, {min_sources}")
    values = np.asarray(values, dtype=float)
    n, rest = len(np.asarray(target_lat)), values.shape[1:]
    flat = values.reshape(values.shape[0], int(np.prod(rest, dtype=int)))
    d = distances_km(target_lat, target_lng, lat, lng)
    at = (d <= AT_STATION_KM).astype(float)
    near = (d <= max_km) & (at == 0)
    weights = np.where(near, 1.0 / np.maximum(d, AT_STATION_KM) ** power, 0.0)
    valid = (~np.isnan(flat)).astype(float)
    filled = np.where(valid > 0, flat, 0.0)
    at_n, used = at @ valid, near.astype(float) @ valid
    with np.errstate(invalid="ignore", divide="ignore"):
        own, between = (at @ filled) / at_n, (weights @ filled) / (weights @ valid)
    enough = used >= min_sources
    out = np.where(at_n > 0, own, np.where(enough, between, np.nan))
    count = np.where(at_n > 0, at_n, np.where(enough, used, 0)).astype(int)
    return Estimate(out.reshape((n, *rest)), count.reshape((n, *rest)))
