"""The engine's episode step: exceedance episodes kept current at each hour of the event clock.

Runs inside the batch's write transaction, beside `decide_alerts`. Once the
event clock is `settle_s` past an hour's end (the lateness bound: a reading
after that is late and changes no decision taken), that hour is decided: one
query reads every station's 1-hour means of the new hours and the 23 before
(SO2's 24-hour mean), `alerts.episodes.Tracker` folds them into the open
episodes, and the rows are upserted into `episodes` together with the hour
decided up to (`meta.episodes_until`). Everything is in event time, so a
replay or a restart decides the same, and an hour is never decided twice.

An episode at a station within `edge_km` of the city's outline is shared
with the neighbouring jurisdiction on `onegrid.shared`, through the outbox
with the batch that decided it: once when first found, and again, with its
end, when it ends. The message is a v1 `onegrid.environment` event (the peak
hour's 1-hour means at the station) with the optional episode fields, so
the neighbour's OneGrid ingests it on its own input topic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

import duckdb
import msgspec
import numpy as np
import pyarrow as pa

from onegrid.alerts.episodes import Episode, Tracker
from onegrid.alerts.station_hours import HOUR, epoch_hour, hour_floor, rows_to_hours
from onegrid.geo import air_hours, episode_store
from onegrid.geo import store as gstore
from onegrid.geo.outline import distance_to_edge_km
from onegrid.geo.regions import Regions
from onegrid.streams.contract import SHARED, topic_name

LOOKBACK_HOURS: Final = 23  # hours read before the first decided one: SO2's 24-hour mean
_PLACE: Final = ("cell", "grid_id", "district_id", "lat", "lng")


@dataclass(frozen=True)
class EpisodeSettings:
    """How the engine decides and shares episodes."""

    city_id: str  # `shared_by` on onegrid.shared
    edge_km: float = 3.0  # a station this close to the city's outline shares its episodes
    settle_s: int = gstore.ALLOWED_LATENESS_S  # past an hour's end before it is decided


@dataclass(frozen=True)
class EpisodeOutcome:
    """What one decision did: the hour decided up to, the episodes written, messages queued."""

    until: datetime | None
    episodes: list[Episode] = field(default_factory=list)
    shared: int = 0


def decide_episodes(cur: duckdb.DuckDBPyConnection, settings: EpisodeSettings,
                    regions: Regions, until: datetime | None, prefix: str,
                    expected: set[tuple[str, int]] | None = None,
                    at: datetime | None = None) -> EpisodeOutcome:
    """Decide the hours the event clock has completed since `until`, inside the caller's
    transaction; return the new `until` (kept by the caller only if it commits).

    `expected` are the input partitions the clock waits for; `at` forces the clock.
    """
    at = at or gstore.event_clock(cur, expected)
    if at is None:
        return EpisodeOutcome(until)
    last = hour_floor(at - timedelta(seconds=settings.settle_s))
    if until is None:
        until = _start(cur, last)
        episode_store.record_episodes_until(cur, until)
    if last <= until:
        return EpisodeOutcome(until)
    first_end, last_end = epoch_hour(until) + 1, epoch_hour(last)
    rows = air_hours.station_hours(cur, until - LOOKBACK_HOURS * HOUR, last).to_pydict()
    stored = {r["key"]: r for r in episode_store.open_episodes(cur)}
    stations = sorted(set(rows["source_id"]) | set(stored))
    tracker = Tracker(stations, [row_to_episode(r) for r in stored.values()])
    tracker.run(rows_to_hours(rows, stations, first_end - LOOKBACK_HOURS, last_end),
                first=LOOKBACK_HOURS)
    found = tracker.episodes()
    table, messages = _decided(found, _places(rows, stored), stored, settings, regions, last,
                               prefix)
    episode_store.upsert_episodes(cur, table)
    gstore.enqueue(cur, messages)
    episode_store.record_episodes_until(cur, last)
    return EpisodeOutcome(last, found, messages.num_rows)


def _start(cur: duckdb.DuckDBPyConnection, last: datetime) -> datetime:
    """Return where a store that never decided episodes starts: the start of the hour of
    its first station reading (nothing before it to decide), else the clock's hour."""
    first = air_hours.first_reading(cur)
    return last if first is None else min(hour_floor(first), last)


def _places(rows: dict, stored: dict[str, dict]) -> dict[str, dict]:
    """Return station id -> its latest place (cell, grid, district, lat/lng): from the
    hours read, else from its stored episode."""
    places = {k: {c: r[c] for c in _PLACE} for k, r in stored.items()}
    latest: dict[str, int] = {}
    for i, station in enumerate(rows["source_id"]):
        if rows["last_ms"][i] >= latest.get(station, -1):
            latest[station] = rows["last_ms"][i]
            places[station] = {c: rows[c][i] for c in _PLACE}
    return places


def _decided(found: Sequence[Episode], places: dict[str, dict], stored: dict[str, dict],
             settings: EpisodeSettings, regions: Regions, at: datetime,
             prefix: str) -> tuple[pa.Table, pa.Table]:
    """Return the episodes' rows and the onegrid.shared messages they call for."""
    where = [places.get(e.station_id, {}) for e in found]
    km = distance_to_edge_km(regions, [p.get("lat") for p in where],
                             [p.get("lng") for p in where]) if found else np.array([])
    rows, sends = [], []
    for ep, place, dist in zip(found, where, km, strict=True):
        before = stored.get(ep.station_id)
        before = before if before is not None and before["episode_id"] == ep.episode_id else None
        near = bool(dist <= settings.edge_km)
        shared_at = before["shared_at"] if before else None
        if near and (shared_at is None or not ep.ongoing):
            sends.append(to_shared_event(ep, place, settings.city_id))
        if near and shared_at is None:
            shared_at = at
        rows.append(episode_to_row(ep, place, float(dist), near, shared_at, at))
    messages = pa.table({
        "topic": [topic_name(SHARED, prefix)] * len(sends),
        "key": [s["station_id"].encode() for s in sends],
        "value": [msgspec.json.encode(s) for s in sends], "headers": ["{}"] * len(sends),
    })
    return pa.Table.from_pylist(rows, schema=episode_store.EPISODE_SCHEMA), messages


def episode_to_row(ep: Episode, place: dict, edge_km: float, near_edge: bool,
                   shared_at: datetime | None, at: datetime) -> dict:
    """Return the `episodes` row of an episode at a station's place."""
    return {
        "episode_id": ep.episode_id, "scope": "station", "key": ep.station_id,
        **{c: place.get(c) for c in ("cell", "grid_id", "district_id", "lat", "lng")},
        "pollutant": ep.pollutant, "start_at": ep.start_at, "peak_at": ep.peak_at,
        "peak_aqi": ep.peak_aqi, "peak_value": _finite(ep.peak_value), "end_at": ep.end_at,
        "hours": ep.hours, "wind_dir_deg": ep.wind_dir_deg, "wind_speed_ms": ep.wind_speed_ms,
        "near_edge": near_edge, "shared_at": shared_at, "updated_at": at,
        "primary_pollutants": list(ep.primary), "edge_distance_km": _finite(edge_km),
        "last_exceed_at": ep.last_exceed_at, "clean_hours": ep.clean_hours,
        **{p: ep.peak_values.get(p) for p in air_hours.POLLUTANTS},
    }


def row_to_episode(row: dict) -> Episode:
    """Return the open episode a stored row holds (what the next hour continues)."""
    primary = tuple(row["primary_pollutants"] or ())
    values = {p: row[p] for p in air_hours.POLLUTANTS if row.get(p) is not None}
    return Episode(row["episode_id"], row["key"], row["start_at"], row["peak_at"],
                   row["peak_aqi"], primary, _nan(row["peak_value"]), row["end_at"],
                   row["last_exceed_at"], row["clean_hours"] or 0, values,
                   row["wind_dir_deg"], row["wind_speed_ms"])


def to_shared_event(ep: Episode, place: dict, city_id: str) -> dict:
    """Return the v1 environment event that shares an episode: the peak hour's 1-hour means
    at the station, with the episode fields (its id differs once the episode has ended,
    so the neighbour stores the update instead of dropping it as a repeat)."""
    event = {
        "id": f"{city_id}:{ep.episode_id}:{'end' if ep.end_at else 'start'}",
        "ts": ep.peak_at.isoformat(), "lat": place.get("lat"), "lng": place.get("lng"),
        "station_id": ep.station_id,
        **{p: round(v, 3) for p, v in ep.peak_values.items()},
        "episode_id": ep.episode_id, "episode_start": ep.start_at.isoformat(),
        "aqi": ep.peak_aqi, "primary_pollutant": ep.pollutant,
        "primary_pollutants": list(ep.primary), "shared_by": city_id,
    }
    if ep.end_at is not None:
        event["episode_end"] = ep.end_at.isoformat()
    if ep.wind_dir_deg is not None:
        event["wind_dir_deg"] = round(ep.wind_dir_deg % 360.0, 1)
    if ep.wind_speed_ms is not None:
        event["wind_speed_ms"] = round(ep.wind_speed_ms, 2)
    return event


def _finite(value: float | None) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def _nan(value: float | None) -> float:
    return float("nan") if value is None else float(value)

