"""Reads of the episodes list (超标过程): the `episodes` table as the engine keeps it, scoped
to the actor's region, filtered and sorted worst first, and the hours of one episode.

An episode is a run of a station's exceedance hours (AQI above 100, the engine's
`alerts.episodes`): `start_at` is the start of its first exceeding hour, `end_at`
the end of its last (NULL while it goes on), `hours` how long it has lasted.
Rows are scoped in SQL by their grid (`Scope.region_sql`) and given only to
the roles that may open the environment page. A store without the table yet
(an engine that runs no episode detection) reads as no episodes. Dates in
the filters are the city's local dates; times come back in UTC.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, Final
from zoneinfo import ZoneInfo

import numpy as np

from onegrid.alerts import aqi
from onegrid.alerts.actors import Actor
from onegrid.dashboard.queries import environment as reads
from onegrid.dashboard.queries.environment import HOUR, ROLES, StationPlace
from onegrid.geo.regions import Regions
from onegrid.geo.store import Store

LIMIT: Final = 200  # rows listed; the count says how many match
_COLUMNS: Final = ("episode_id", "key", "grid_id", "district_id", "pollutant", "start_at",
                   "peak_at", "peak_aqi", "peak_value", "end_at", "hours", "wind_dir_deg",
                   "wind_speed_ms", "near_edge")


@dataclass(frozen=True)
class Episode:
    """One exceedance episode of a station the actor sees (times UTC; `end_at` None while
    it goes on). `station` is where the register places it (None if unregistered)."""

    episode_id: str
    station_id: str
    station: StationPlace | None
    grid_id: str | None
    district_id: str | None
    pollutant: str | None
    start_at: datetime
    peak_at: datetime
    peak_aqi: float
    peak_value: float | None
    end_at: datetime | None
    hours: int
    wind_dir_deg: float | None
    wind_speed_ms: float | None
    near_edge: bool

    @property
    def ongoing(self) -> bool:
        """Return True while the episode goes on."""
        return self.end_at is None

    def name(self, lang: str | None) -> str:
        """Return the station's name in `lang` (its id when unregistered)."""
        return self.station.name(lang) if self.station else self.station_id

    def hour_ends(self, latest: datetime) -> tuple[datetime, ...]:
        """Return the ends of the episode's hours, oldest first, up to `latest` while it
        goes on (the hour ending at start_at + 1 h is its first)."""
        last = min(self.end_at or latest, latest)
        first = self.start_at + HOUR
        count = max(int((last - first) / HOUR) + 1, 1)
        return tuple(first + HOUR * i for i in range(count))


@dataclass(frozen=True)
class Filters:
    """What the list is filtered by (None: any): primary pollutant, district, ongoing only,
    and local dates the episode overlaps (inclusive)."""

    pollutant: str | None = None
    district: str | None = None
    ongoing: bool = False
    since: date | None = None
    until: date | None = None


def filters_of(pollutant: Any, district: Any, ongoing: Any, since: Any, until: Any,
               districts: Sequence[str]) -> Filters:
    """Return the filters as posted, each dropped when it is not one of its values."""
    def day(value: Any) -> date | None:
        try:
            return date.fromisoformat(str(value)[:10]) if value else None
        except ValueError:
            return None
    return Filters(pollutant if pollutant in aqi.POLLUTANTS else None,
                   district if district in districts else None,
                   bool(ongoing), day(since), day(until))


def has_table(store: Store) -> bool:
    """Return whether the store holds an `episodes` table (a store written before the
    engine kept episodes does not)."""
    return store.has_table("episodes")


def any_on_record(store: Store) -> bool:
    """Return whether the store holds any episode at all (whoever may see it), which tells
    "none yet" from "none matches these filters"."""
    return has_table(store) and bool(store.scalar("SELECT EXISTS (SELECT 1 FROM episodes)"))


def list_episodes(ctx, actor: Actor, filters: Filters, limit: int = LIMIT
                  ) -> tuple[list[Episode], int]:
    """Return (the episodes the actor sees matching `filters`, worst peak first, then
    newest; how many match in all)."""
    if actor.role not in ROLES or not has_table(ctx.store):
        return [], 0
    where, params = _conditions(ctx, actor, filters)
    table = ctx.store.query(
        f"SELECT {', '.join(_COLUMNS)}, count(*) OVER () AS total FROM episodes "
        f"WHERE {where} ORDER BY peak_aqi DESC, start_at DESC, episode_id LIMIT ?",
        [*params, int(limit)])
    rows = table.to_pylist()
    return _episodes(ctx, actor, rows), (rows[0]["total"] if rows else 0)


def find_episode(ctx, actor: Actor, episode_id: Any) -> Episode | None:
    """Return the episode with this id if the actor sees it, else None."""
    if actor.role not in ROLES or not isinstance(episode_id, str) \
            or not has_table(ctx.store):
        return None
    where, params = _conditions(ctx, actor, Filters())
    rows = ctx.store.query(f"SELECT {', '.join(_COLUMNS)} FROM episodes WHERE {where} "
                           "AND episode_id = ?", [*params, episode_id]).to_pylist()
    found = _episodes(ctx, actor, rows)
    return found[0] if found else None


def districts_in_scope(ctx, actor: Actor) -> tuple[str, ...]:
    """Return the ids of the districts the actor's region covers, sorted."""
    scope = ctx.scope(actor)
    return _districts(ctx.regions, None if scope.city_wide else scope.region_id)


@lru_cache(maxsize=64)
def _districts(regions: Regions, region_id: str | None) -> tuple[str, ...]:
    ids = regions.cell_ids["district_id"]
    if region_id is None:
        return tuple(sorted(regions.districts.index))
    mask = np.zeros(len(ids), dtype=bool)
    for column in ("grid_id", "community_id", "street_id", "district_id"):
        mask |= regions.cell_ids[column] == region_id
    return tuple(sorted({d for d in ids[mask] if d}))


def _conditions(ctx, actor: Actor, f: Filters) -> tuple[str, list[Any]]:
    """Return the WHERE clause: the actor's region, then the filters."""
    region, params = ctx.scope(actor).region_sql("grid_id")
    where = [f"scope = 'station' AND {region}"]
    if f.pollutant:
        where.append("pollutant = ?")
        params.append(f.pollutant)
    if f.district:
        where.append("district_id = ?")
        params.append(f.district)
    if f.ongoing:
        where.append("end_at IS NULL")
    zone = ZoneInfo(ctx.registry.timezone)
    if f.since:  # still going on at the start of that local day, or later
        where.append("coalesce(end_at, 'infinity'::TIMESTAMPTZ) > ?")
        params.append(datetime.combine(f.since, time(), zone).astimezone(UTC))
    if f.until:  # begun before the end of that local day
        where.append("start_at < ?")
        params.append(datetime.combine(f.until + timedelta(days=1), time(), zone)
                      .astimezone(UTC))
    return " AND ".join(where), params


def _episodes(ctx, actor: Actor, rows: list[dict[str, Any]]) -> list[Episode]:
    """Return the rows as episodes, each with its station where the register places it."""
    places = {s.station_id: s for s in reads.visible_stations(ctx, actor)}
    return [Episode(r["episode_id"], r["key"], places.get(r["key"]), r["grid_id"],
                    r["district_id"], r["pollutant"], _utc(r["start_at"]), _utc(r["peak_at"]),
                    float(r["peak_aqi"]), r["peak_value"], _utc(r["end_at"]),
                    int(r["hours"] or 0), r["wind_dir_deg"], r["wind_speed_ms"],
                    bool(r["near_edge"])) for r in rows]


def _utc(at: datetime | None) -> datetime | None:
    return at.astimezone(UTC) if at is not None else None
