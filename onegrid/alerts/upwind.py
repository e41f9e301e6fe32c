"""Upwind candidates: which registered pollution sources (污染源) could have made an episode.

Given where an exceedance episode is (a station or a cell), the wind at its
peak and the pollution-source register, `rank_sources` lists the sources
within a radius, best suspect first. It is a screening ranking, not a
dispersion model: it says where an officer should look first. Finding the
episode and the wind at its peak is `episodes`'s; the register is
`geo.registry`'s; showing the candidates is the dashboard's.

The score of a source estimates its share of what the episode measured:
what it emits, times how much of it the air brings to the episode. For a
source at distance d (km), lying `off` degrees away from the direction the
wind comes from, permitted to emit q t/year of the episode's pollutant, it is
the product of three weights:

- permit: 1 + q / 0.2 t. Emissions are linear in what a source puts out, and
  the permit is the register's only figure for that. The 0.2 t/year stands
  for what no permit counts (a building site's dust, a permit naming other
  pollutants), so a source without a permit still weighs 1, not 0.
- distance: 1 / (1 + (d / 1 km)^2). A plume dilutes roughly with the square of
  the distance it travels (its width and depth both grow with it), so a
  source twice as far must emit about four times as much to matter as much.
- direction: exp(-1/2 (off / 22.5 deg)^2) for off < 90 deg, 0 from 90 deg on.
  22.5 deg is one point of the 16-point wind rose (十六方位): about the spread
  of an hour's wind direction plus a plume's own width. A source at 90 deg
  or more lies crosswind or downwind of the episode: the wind cannot have
  carried its emissions there, so it scores 0 and ranks after every source
  upwind, by distance, whatever its permit.

In light wind the direction says little: below `CALM_MS` it is ignored
(distance and permit only), above `STEADY_MS` it counts fully, and in between
the direction weight is blended towards 1 in proportion, so it stays
monotone: at one distance and permit, a source further off the wind never
ranks higher. A source within `HERE_KM` of the episode is treated as on the
wind (its bearing is noise).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np

from onegrid.geo.registry import PollutionSource

EARTH_RADIUS_KM: Final = 6371.0088
DISTANCE_SCALE_KM: Final = 1.0
UNPERMITTED_T: Final = 0.2  # t/year: what a source emits that no permit counts
DIRECTION_SIGMA_DEG: Final = 22.5
CALM_MS: Final = 0.5  # wind vanes do not hold a direction below about this speed
STEADY_MS: Final = 1.5
HERE_KM: Final = 0.05

# Episode pollutant -> the permit columns that emit it. Ozone is not emitted but
# formed from VOCs and NOx, so its suspects are those permits.
_PERMITS_FOR: Final[dict[str, tuple[str, ...]]] = {
    "pm25": ("pm25",), "pm10": ("pm10",), "so2": ("so2",), "no2": ("no2",),
    "co": ("co",), "o3": ("vocs", "no2"),
}


@dataclass(frozen=True)
class Candidate:
    """A pollution source that could have made an episode, with why it ranks where it does."""

    source: PollutionSource
    distance_km: float
    bearing_deg: float  # from the episode to the source, clockwise from north, 0-360
    off_wind_deg: float  # 0 = exactly where the wind comes from, 180 = straight downwind
    score: float


def rank_sources(lat: float, lng: float, wind_from_deg: float | None,
                 wind_speed_ms: float | None,
                 sources: Mapping[str, PollutionSource] | Iterable[PollutionSource],
                 radius_km: float = 10.0, pollutant: str | None = None) -> list[Candidate]:
    """Return the sources within `radius_km` of (lat, lng), the likeliest upwind source first.

    Parameters
    ----------
    wind_from_deg : where the wind comes from (meteorological, degrees clockwise
        from north), at the episode's peak; None or NaN when unknown (then
        distance and permit only, as in calm).
    wind_speed_ms : wind speed in m/s; None or NaN counts as calm.
    pollutant : the episode's pollutant (primary pollutant at the peak: `pm25`,
        `pm10`, `so2`, `no2`, `o3`, `co`); None ranks without permits.

    Ties are broken by distance, then by source id, so the order is stable.
    """
    pool = list(sources.values() if isinstance(sources, Mapping) else sources)
    if not pool:
        return []
    slat = np.array([s.lat for s in pool])
    slng = np.array([s.lng for s in pool])
    distance, bearing = _distance_bearing(lat, lng, slat, slng)
    off = _off_wind(bearing, wind_from_deg)  # all 0 when the wind is unknown: weight 1
    off = np.where(distance < HERE_KM, 0.0, off)
    score = (_permit_weight(pool, pollutant) / (1 + (distance / DISTANCE_SCALE_KM) ** 2)
             * _direction_weight(off, wind_speed_ms))
    ids = np.array([s.source_id for s in pool])
    order = np.lexsort((ids, distance, -score))
    return [Candidate(pool[i], float(distance[i]), float(bearing[i]), float(off[i]),
                      float(score[i])) for i in order.tolist() if distance[i] <= radius_km]


def _distance_bearing(lat: float, lng: float, lats: np.ndarray,
                      lngs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return great-circle km and initial bearing (0-360) from one point to many."""
    p1, l1, p2, l2 = np.radians(lat), np.radians(lng), np.radians(lats), np.radians(lngs)
    dl = l2 - l1
    h = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    distance = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0, 1)))
    y = np.sin(dl) * np.cos(p2)
    x = np.cos(p1) * np.sin(p2) - np.sin(p1) * np.cos(p2) * np.cos(dl)
    return distance, np.degrees(np.arctan2(y, x)) % 360.0


def _off_wind(bearing: np.ndarray, wind_from_deg: float | None) -> np.ndarray:
    """Return how far (0-180 degrees) each bearing is from where the wind comes from."""
    if wind_from_deg is None or not np.isfinite(wind_from_deg):
        return np.zeros_like(bearing)
    # Through the wrap: 350 and 10 are 20 degrees apart, not 340.
    return np.abs((bearing - wind_from_deg + 180.0) % 360.0 - 180.0)


def _direction_weight(off: np.ndarray, wind_speed_ms: float | None) -> np.ndarray:
    """Return the direction weight, blended towards 1 as the wind falls towards calm."""
    aligned = np.where(off < 90.0, np.exp(-0.5 * (off / DIRECTION_SIGMA_DEG) ** 2), 0.0)
    if wind_speed_ms is None or not np.isfinite(wind_speed_ms):
        return np.ones_like(off)
    trust = float(np.clip((wind_speed_ms - CALM_MS) / (STEADY_MS - CALM_MS), 0.0, 1.0))
    return (1.0 - trust) + trust * aligned


def _permit_weight(pool: list[PollutionSource], pollutant: str | None) -> np.ndarray:
    """Return 1 + (permitted t/year of the pollutant) / UNPERMITTED_T per source."""
    if pollutant is None:
        return np.ones(len(pool))
    keys = _PERMITS_FOR.get(pollutant, (pollutant,))
    tonnes = np.array([sum(s.permits.get(k, 0.0) for k in keys) for s in pool])
    return 1.0 + tonnes / UNPERMITTED_T
