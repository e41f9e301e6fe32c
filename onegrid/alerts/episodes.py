"""Exceedance episodes (超标过程) of monitoring stations, from their hourly AQI.

An exceedance hour is one whose hourly AQI (HJ 633 real-time) is above 100:
some pollutant's IAQI exceeds. An episode is a run of such hours at one
station. Where the issue is silent we decided, and the tests pin down:

- One clean hour (valid, AQI <= 100) inside does not end an episode; the
  second clean hour after its last exceeding hour does (`END_AFTER_CLEAN`).
  So a gap of one clean hour joins two runs; two clean hours split them.
- An invalid hour (no valid 1-hour mean of any pollutant, GB 3095: under 45
  minutes sampled) neither starts, extends nor ends an episode, and is not
  clean. But `MAX_GAP_HOURS` hours after the last exceeding hour without
  another one end it whatever they were: a station silent for a quarter of
  a day says nothing about the same episode going on.
- Start: the start of the first exceeding hour. End: the end of the last
  exceeding hour (None while ongoing, i.e. until the end rule fires).
  Duration: whole hours from start to end (to the last exceeding hour's end
  while ongoing), clean and invalid hours inside included.
- Peak: the exceeding hour of the largest AQI, the earliest of equal ones
  (the level was first reached then); `peak_at` is that hour's end, as
  hours are named. Its primary pollutants are all those tied at the AQI, in
  HJ 633 order (`aqi.POLLUTANTS`); `pollutant` is the first of them and
  `peak_value` its 1-hour mean.

`Tracker` folds hours into episodes for many stations at once (arrays over
stations, one step per hour), from where a previous run left off; `detect`
is the same fold over one station's series. What a station's hours are is
`station_hours`'; where the episodes are kept and who hears of them is the
engine's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

import numpy as np

from onegrid.alerts import aqi
from onegrid.alerts.station_hours import (
    HOUR,
    StationHours,
    epoch_hour,
    hour_to_datetime,
    hourly_aqi,
)

EXCEEDS: Final = 100  # an hour exceeds when its AQI is above this (some IAQI > 100)
END_AFTER_CLEAN: Final = 2  # clean hours after the last exceeding hour that end an episode
MAX_GAP_HOURS: Final = 6  # hours after the last exceeding one that end it, whatever they were


@dataclass(frozen=True)
class Episode:
    """An exceedance episode at one station; times in UTC, values µg/m³ (CO mg/m³)."""

    episode_id: str
    station_id: str
    start_at: datetime
    peak_at: datetime
    peak_aqi: float
    primary: tuple[str, ...]
    peak_value: float
    end_at: datetime | None
    last_exceed_at: datetime  # the end of the last exceeding hour so far
    clean_hours: int = 0  # clean hours since the last exceeding one (what the end rule counts)
    peak_values: Mapping[str, float] = field(default_factory=dict)  # pollutant -> 1 h mean
    wind_dir_deg: float | None = None  # at the peak hour: where the wind came from
    wind_speed_ms: float | None = None

    @property
    def pollutant(self) -> str:
        """Return the primary pollutant at the peak (the first of tied ones)."""
        return self.primary[0] if self.primary else ""

    @property
    def ongoing(self) -> bool:
        """Return whether the episode has not ended yet."""
        return self.end_at is None

    @property
    def hours(self) -> int:
        """Return the duration in whole hours (to the last exceeding hour while ongoing)."""
        return round(((self.end_at or self.last_exceed_at) - self.start_at) / HOUR)


def episode_id(station_id: str, start_at: datetime) -> str:
    """Return the id of the station's episode starting at `start_at`: the same in every
    replay, so a re-decided episode overwrites itself."""
    return f"{station_id}:{start_at:%Y%m%dT%H%MZ}"


class Tracker:
    """Episodes of several stations, advanced one hour at a time.

    State is kept in arrays over stations (in `station_ids` order): whether an
    episode is open, its start and last exceeding hour (epoch hours), clean
    hours since, and its peak so far.
    """

    def __init__(self, station_ids: Sequence[str], open_episodes: Sequence[Episode] = ()):
        self.ids = tuple(station_ids)
        n = len(self.ids)
        self.open = np.zeros(n, bool)
        self.start = np.zeros(n, np.int64)  # epoch hour the first exceeding hour began
        self.last = np.zeros(n, np.int64)  # epoch hour the last exceeding hour ended
        self.clean = np.zeros(n, np.int64)
        self.peak_aqi = np.full(n, np.nan)
        self.peak_end = np.zeros(n, np.int64)
        self.peak_primary = np.empty(n, dtype=object)
        self.peak_values = np.full((n, len(aqi.POLLUTANTS)), np.nan)
        self.peak_wind = np.full((n, 2), np.nan)
        self.ended: list[Episode] = []
        row = {s: i for i, s in enumerate(self.ids)}
        for ep in open_episodes:
            self._resume(row[ep.station_id], ep)

    def _resume(self, i: int, ep: Episode) -> None:
        self.open[i] = True
        self.start[i], self.last[i] = epoch_hour(ep.start_at), epoch_hour(ep.last_exceed_at)
        self.clean[i], self.peak_aqi[i] = ep.clean_hours, ep.peak_aqi
        self.peak_end[i], self.peak_primary[i] = epoch_hour(ep.peak_at), tuple(ep.primary)
        self.peak_values[i] = [ep.peak_values.get(p, np.nan) for p in aqi.POLLUTANTS]
        self.peak_wind[i] = [np.nan if ep.wind_dir_deg is None else ep.wind_dir_deg,
                             np.nan if ep.wind_speed_ms is None else ep.wind_speed_ms]

    def step(self, end: int, index: np.ndarray, primary: np.ndarray, values: np.ndarray,
             wind: np.ndarray) -> None:
        """Advance every station by the hour ending at epoch hour `end`: its AQI (NaN:
        invalid), primary pollutants (tuples), 1-hour means (stations x pollutants) and
        wind (stations x [direction, speed])."""
        valid = ~np.isnan(index)
        exceed = valid & (index > EXCEEDS)
        new = exceed & ~self.open
        self.open |= new
        self.start[new] = end - 1
        higher = exceed & (new | (index > np.nan_to_num(self.peak_aqi, nan=-1.0)))
        self.peak_aqi[higher], self.peak_end[higher] = index[higher], end
        self.peak_primary[higher] = primary[higher]
        self.peak_values[higher], self.peak_wind[higher] = values[higher], wind[higher]
        self.last[exceed], self.clean[exceed] = end, 0
        self.clean[self.open & valid & ~exceed] += 1
        over = (self.clean >= END_AFTER_CLEAN) | (end - self.last >= MAX_GAP_HOURS)
        ending = self.open & ~exceed & over
        self.ended.extend(self._episode(i, ended=True) for i in np.flatnonzero(ending))
        self.open[ending] = False
        self.clean[ending] = 0

    def run(self, hours: StationHours, first: int = 0) -> None:
        """Advance through `hours` from its column `first` on (the columns before it only
        feed SO2's 24-hour mean)."""
        index, primary = hourly_aqi(hours)
        values = hours.value_matrix()
        wind = np.stack([hours.wind_dir_deg, hours.wind_speed_ms], axis=-1)
        for col in range(first, len(hours.ends)):
            self.step(int(hours.ends[col]), index[:, col], primary[:, col], values[:, col],
                      wind[:, col])

    def episodes(self) -> list[Episode]:
        """Return the episodes ended so far and those still open, by start then station."""
        found = [*self.ended, *(self._episode(i, ended=False) for i in np.flatnonzero(self.open))]
        return sorted(found, key=lambda e: (e.start_at, e.station_id))

    def _episode(self, i: int, ended: bool) -> Episode:
        start, last = hour_to_datetime(self.start[i]), hour_to_datetime(self.last[i])
        primary = tuple(self.peak_primary[i] or ())
        vals = {p: float(v) for p, v in zip(aqi.POLLUTANTS, self.peak_values[i], strict=True)
                if not np.isnan(v)}
        direction, speed = (None if np.isnan(v) else float(v) for v in self.peak_wind[i])
        return Episode(
            episode_id=episode_id(self.ids[i], start), station_id=self.ids[i], start_at=start,
            peak_at=hour_to_datetime(self.peak_end[i]), peak_aqi=float(self.peak_aqi[i]),
            primary=primary, peak_value=vals.get(primary[0], float("nan")) if primary
            else float("nan"), end_at=last if ended else None, last_exceed_at=last,
            clean_hours=int(self.clean[i]), peak_values=vals, wind_dir_deg=direction,
            wind_speed_ms=speed)


def detect(station_id: str, hour_ends: Sequence[datetime], values: Mapping[str, Sequence],
           wind_dir_deg: Sequence | None = None,
           wind_speed_ms: Sequence | None = None) -> list[Episode]:
    """Return the episodes of one station's consecutive hours, oldest first.

    `hour_ends` are the hours' ends (UTC, one hour apart); `values[pollutant]`
    their valid 1-hour means (NaN or None where invalid; absent pollutants are
    unmeasured). An episode still going at the last hour has no end.
    """
    ends = np.array([epoch_hour(t) for t in hour_ends], dtype=np.int64)
    if len(ends) > 1 and not np.all(np.diff(ends) == 1):
        raise ValueError("hour_ends must be consecutive whole hours, oldest first")
    n = len(ends)

    def row(series) -> np.ndarray:
        if series is None:
            return np.full((1, n), np.nan)
        return np.array([[np.nan if v is None else v for v in series]], dtype=float)

    hours = StationHours((station_id,), ends, {p: row(values.get(p)) for p in aqi.POLLUTANTS},
                         row(wind_dir_deg), row(wind_speed_ms))
    tracker = Tracker((station_id,))
    tracker.run(hours)
    return tracker.episodes()
