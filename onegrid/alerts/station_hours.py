"""Monitoring stations hour by hour: 1-hour means with GB 3095 validity, and the hourly AQI.

A station's hour is named by its end (the 08:00 value is the mean of
07:00-08:00, UTC), as the environment page and HJ 633's real-time report name
it. A 1-hour mean counts only with 45 minutes sampled (`aqi.hour_is_valid`);
an invalid one is NaN, and an hour whose every pollutant is NaN has no AQI
(NaN). The hourly AQI is HJ 633's real-time one (`aqi.hourly_aqi`), SO2 above
800 µg/m³ read by its running 24-hour mean. Reading the rows from the store is
`geo.air_hours`'; what an exceedance episode is belongs to `episodes`. Pure:
rows and arrays in, arrays out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final

import numpy as np

from onegrid.alerts import aqi

HOUR: Final = timedelta(hours=1)
HOUR_S: Final = 3600


def epoch_hour(at: datetime) -> int:
    """Return the whole hours since 1970-01-01 UTC at `at` (an hour boundary)."""
    return int(at.timestamp()) // HOUR_S


def hour_to_datetime(hour: int) -> datetime:
    """Return the UTC datetime of an epoch hour."""
    return datetime.fromtimestamp(int(hour) * HOUR_S, UTC)


def hour_floor(at: datetime) -> datetime:
    """Return the start of the UTC hour holding `at`."""
    return hour_to_datetime(int(at.timestamp()) // HOUR_S)


@dataclass(frozen=True)
class StationHours:
    """Consecutive hours of several stations.

    `ends` are the epoch hours of each hour's end, consecutive, oldest first.
    `values[pollutant]` is stations x hours of valid 1-hour means (µg/m³, CO
    mg/m³; NaN where invalid or unmeasured); `wind_dir_deg` (where it comes
    from, the hour's circular mean) and `wind_speed_ms` are stations x hours,
    NaN where no wind was reported.
    """

    station_ids: tuple[str, ...]
    ends: np.ndarray
    values: dict[str, np.ndarray]
    wind_dir_deg: np.ndarray
    wind_speed_ms: np.ndarray

    def value_matrix(self) -> np.ndarray:
        """Return stations x hours x pollutants (in `aqi.POLLUTANTS` order)."""
        return np.stack([self.values[p] for p in aqi.POLLUTANTS], axis=-1)


def valid_means(means, minutes_sampled) -> np.ndarray:
    """Return the 1-hour means with NaN where under 45 minutes were sampled (GB 3095)."""
    means = np.asarray(means, dtype=float)
    return np.where(aqi.hour_is_valid(np.nan_to_num(minutes_sampled, nan=0.0)), means, np.nan)


def rows_to_hours(rows: Mapping[str, Sequence], station_ids: Sequence[str], first_end: int,
                  last_end: int) -> StationHours:
    """Return the stations' hours `first_end`..`last_end` (epoch hours, both included) from
    long rows: `source_id`, `hour_end` (epoch hour), each pollutant's mean and its minutes
    sampled (`<pollutant>_min`), `wind_dir_deg`, `wind_speed_ms`. Rows of other stations or
    hours are ignored; hours without a row are NaN."""
    ids = tuple(station_ids)
    n, width = len(ids), last_end - first_end + 1
    shape = (n, max(width, 0))
    values = {p: np.full(shape, np.nan) for p in aqi.POLLUTANTS}
    wind = {k: np.full(shape, np.nan) for k in ("wind_dir_deg", "wind_speed_ms")}
    row_of = {s: i for i, s in enumerate(ids)}
    sources = list(rows.get("source_id", []))
    if sources and n and width > 0:
        station = np.array([row_of.get(s, -1) for s in sources])
        col = np.asarray(rows["hour_end"], dtype=np.int64) - first_end
        keep = (station >= 0) & (col >= 0) & (col < width)
        r, c = station[keep], col[keep]
        for p in aqi.POLLUTANTS:
            mean = _floats(rows[p])[keep]
            values[p][r, c] = valid_means(mean, _floats(rows[f"{p}_min"])[keep])
        for k in wind:
            wind[k][r, c] = _floats(rows[k])[keep]
    ends = np.arange(first_end, last_end + 1, dtype=np.int64)
    return StationHours(ids, ends, values, wind["wind_dir_deg"], wind["wind_speed_ms"])


def hourly_aqi(hours: StationHours) -> tuple[np.ndarray, np.ndarray]:
    """Return (AQI, primary pollutants) per station and hour (HJ 633 real-time report).

    SO2's index above 800 µg/m³ reads its running 24-hour mean (valid with 20
    hours), so a caller wanting that rule for an hour passes the 23 hours
    before it too.
    """
    values = hours.values
    return aqi.hourly_aqi(values, so2_24h=aqi.mean_24h(values["so2"]))


def _floats(column) -> np.ndarray:
    """Return a column (list or array, None for missing) as floats with NaN for None."""
    return np.array([np.nan if v is None else v for v in column], dtype=float) \
        if isinstance(column, list) else np.asarray(column, dtype=float)
