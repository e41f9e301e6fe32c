"""Reads of the environment page: the monitoring stations an actor may see, and their
1-hour means.

Stations come from the city's register, placed on the grid as the engine
places their events (register lat/lng -> res-10 cell -> grid), and only those
whose grid the actor's scope sees are returned. Readings are the stations'
`environment` events, scoped again by region in SQL. One query gives each
station's 1-hour mean of every pollutant and how many minutes of that hour
were sampled (quarter hours holding a reading, times 15), so each hour's GB
3095 validity is known; longer windows are `air_windows`'. An hour is named
by its end (the 08:00 value is the mean of 07:00-08:00), in UTC.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Final

import numpy as np

from onegrid.alerts import aqi
from onegrid.alerts.actors import Actor, Role
from onegrid.dashboard.access import Scope
from onegrid.geo.cells import cells_to_parent, latlng_to_cells
from onegrid.geo.regions import Regions, cells_to_regions
from onegrid.geo.registry import Station
from onegrid.geo.store import Store

HOUR: Final = timedelta(hours=1)
# Roles that may open the environment page; the page's reads give nothing to others.
ROLES: Final = frozenset({Role.COMMAND, Role.ENV_OFFICER, Role.SUPERVISOR})
MAP_RES: Final = 8  # the station cells' resolution on the map: a cell 30-60 px across


@dataclass(frozen=True)
class StationPlace:
    """A monitoring station where the grid puts it: its res-10 cell, its res-8 cell (the
    map's) and its grid (None outside the city)."""

    station_id: str
    name_zh: str
    name_en: str
    lat: float
    lng: float
    cell: int
    cell_r8: int
    grid_id: str | None
    district_id: str | None

    def name(self, lang: str | None) -> str:
        """Return the station's name in `lang`."""
        return self.name_en if lang == "en" else self.name_zh


@dataclass(frozen=True)
class Hourly:
    """1-hour means of the stations: `values[pollutant]` has one row per station (in
    `stations` order) and one column per hour end in `hours` (UTC, oldest first); NaN
    where the hour has no reading or was sampled under 45 minutes."""

    stations: tuple[StationPlace, ...]
    hours: tuple[datetime, ...]
    values: dict[str, np.ndarray]


def stations_in_scope(stations: dict[str, Station], regions: Regions,
                      scope: Scope) -> tuple[StationPlace, ...]:
    """Return the registered stations whose grid the scope sees, by station id."""
    placed = _place(tuple(stations.values()), regions)
    return tuple(s for s in placed if scope.sees_grid(s.grid_id))


@lru_cache(maxsize=8)
def _place(stations: tuple[Station, ...], regions: Regions) -> tuple[StationPlace, ...]:
    """Return every station placed on the grid (once per register and city)."""
    if not stations:
        return ()
    lat = np.array([s.lat for s in stations], dtype=float)
    lng = np.array([s.lng for s in stations], dtype=float)
    cells = latlng_to_cells(lat, lng)
    parents = cells_to_parent(cells, MAP_RES)
    places = cells_to_regions(regions, cells)
    out = [StationPlace(s.station_id, s.name_zh, s.name_en, s.lat, s.lng, int(cells[i]),
                        int(parents[i]), places["grid_id"][i], places["district_id"][i])
           for i, s in enumerate(stations)]
    return tuple(sorted(out, key=lambda s: s.station_id))


def visible_stations(ctx, actor: Actor) -> tuple[StationPlace, ...]:
    """Return the stations `actor` may see on the environment page (none for a role
    that may not open it, whatever it posts)."""
    if actor.role not in ROLES:
        return ()
    return stations_in_scope(ctx.registry.stations, ctx.regions, ctx.scope(actor))


def anchor_of(ctx, anchor: str | None) -> datetime:
    """Return the last step's hour end: `anchor` (ISO, from the page) when it is a whole
    hour not after the clock's, else the end of the clock's last whole hour."""
    latest = hour_floor(ctx.clock())
    try:
        found = datetime.fromisoformat(anchor) if anchor else latest
    except (TypeError, ValueError):
        return latest
    if found.tzinfo is None or found > latest or hour_floor(found) != found:
        return latest
    return found.astimezone(UTC)


def hour_floor(at: datetime) -> datetime:
    """Return the start of the UTC hour holding `at` (the end of the last whole hour)."""
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def hour_ends(end: datetime, hours: int) -> tuple[datetime, ...]:
    """Return the `hours` hour ends up to `end`, oldest first."""
    return tuple(end - HOUR * (hours - 1 - i) for i in range(hours))


def hourly_means(store: Store, scope: Scope, stations: Sequence[StationPlace], end: datetime,
                 hours: int) -> Hourly:
    """Return the stations' 1-hour means for the `hours` hours ending at `end` (an hour
    boundary), invalid hours (under 45 minutes sampled) as NaN."""
    ends = hour_ends(end, hours)
    values = {p: np.full((len(stations), hours), np.nan) for p in aqi.POLLUTANTS}
    if not stations:
        return Hourly(tuple(stations), ends, values)
    region, region_params = scope.region_sql("grid_id")
    # Quarter hours first (epoch arithmetic: UTC whatever the session's zone), then hours:
    # a reading stands for its quarter, and 3 quarters with readings make the 45 minutes.
    sums = ", ".join(f"sum({p}) AS s_{p}, count({p}) AS n_{p}" for p in aqi.POLLUTANTS)
    means = ", ".join(f"sum(s_{p}) / nullif(sum(n_{p}), 0) AS {p}, "
                      f"count(*) FILTER (WHERE n_{p} > 0) * 15 AS {p}_min"
                      for p in aqi.POLLUTANTS)
    table = store.query(
        f"WITH quarters AS (SELECT source_id, floor(epoch(ts) / 900)::BIGINT AS quarter, {sums} "
        "FROM events WHERE topic = 'environment' AND ts >= ? AND ts < ? "
        f"AND source_id IN (SELECT unnest(?::VARCHAR[])) AND {region} GROUP BY ALL) "
        f"SELECT source_id, quarter // 4 + 1 AS hour_end, {means} FROM quarters GROUP BY ALL",
        [end - HOUR * hours, end, [s.station_id for s in stations], *region_params])
    if table.num_rows == 0:
        return Hourly(tuple(stations), ends, values)
    row_of = {s.station_id: i for i, s in enumerate(stations)}
    rows = np.array([row_of[s] for s in table.column("source_id").to_pylist()])
    cols = table.column("hour_end").to_numpy() - round(ends[0].timestamp()) // 3600
    for p in aqi.POLLUTANTS:
        mean = table.column(p).to_numpy(zero_copy_only=False).astype(float)
        sampled = table.column(f"{p}_min").to_numpy().astype(float)
        values[p][rows, cols] = np.where(aqi.hour_is_valid(sampled), mean, np.nan)
    return Hourly(tuple(stations), ends, values)
