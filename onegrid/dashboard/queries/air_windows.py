"""The averaging windows of the environment page: from the stations' 1-hour means to
each station's (and station cell's) value, index and AQI at every step of the last 24 hours.

Windows, by GB 3095-2012 and HJ 633-2012 (`alerts.aqi`):

- `1h`: the 1-hour means and the hourly AQI (实时报); SO2 above 800 µg/m³
  reads its 24-hour mean.
- `8h`: running 8-hour means (valid with 6 hours); indices on the 24-hour
  rows, O3 on its 8-hour row.
- `24h`: running 24-hour means (valid with 20 hours), O3 being the largest
  8-hour mean of those 24 hours; the daily AQI (日报) of that rolling day,
  O3's largest 1-hour mean included.

A cell's value is the mean of its stations' values, as HJ 633 averages the
stations of an area before indexing; its indices are computed from those
means. Exceedances (超标) are station-steps above the grade II limit of the
averaging the window gives each pollutant. Pure: arrays in, arrays out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import numpy as np

from onegrid.alerts import aqi
from onegrid.dashboard.queries.environment import Hourly, StationPlace

WINDOWS: Final = ("1h", "8h", "24h")
STEPS: Final = 24  # the slider's hourly steps: the last 24 hours
# window -> hours before the first step its statistics read (24 h of SO2 for the hourly
# report; the daily largest 8-hour mean reads 24 8-hour means, 31 hours)
LOOKBACK: Final = {"1h": 23, "8h": 7, "24h": 30}
# window -> pollutant -> the GB 3095 averaging its value is judged by (absent: no limit)
AVERAGING: Final = {
    "1h": {"so2": "1h", "no2": "1h", "co": "1h", "o3": "1h"},
    "8h": {"o3": "8h"},
    "24h": {"pm25": "24h", "pm10": "24h", "so2": "24h", "no2": "24h", "co": "24h",
            "o3": "8h"},
}


@dataclass(frozen=True)
class Layer:
    """One window over `STEPS` hour ends: per row (station or cell) and step, each
    pollutant's value (`values`, µg/m³, CO mg/m³) and IAQI (`indices`), the AQI and the
    primary pollutants (tuples). `extra` holds what the indices also read (SO2's 24-hour
    mean, O3's 1-hour values), so cell means can be indexed the same way."""

    window: str
    hours: tuple[datetime, ...]
    values: dict[str, np.ndarray]
    indices: dict[str, np.ndarray]
    aqi: np.ndarray
    primary: np.ndarray
    extra: dict[str, np.ndarray]

    def value_of(self, measure: str) -> np.ndarray:
        """Return the AQI (`measure` "aqi") or one pollutant's value, rows x steps."""
        return self.aqi if measure == "aqi" else self.values[measure]

    def index_of(self, measure: str) -> np.ndarray:
        """Return the AQI or one pollutant's IAQI, rows x steps."""
        return self.aqi if measure == "aqi" else self.indices[measure]


@dataclass(frozen=True)
class Exceedance:
    """A station-hour above the grade II limit (超标)."""

    hour_end: datetime
    station: StationPlace
    pollutant: str
    averaging: str
    value: float
    limit: float
    iaqi: float
    aqi: float

    @property
    def ratio(self) -> float:
        """Return the value as a multiple of the limit."""
        return self.value / self.limit


def hours_needed(window: str) -> int:
    """Return how many 1-hour means a window's 24 steps read."""
    return STEPS + LOOKBACK[window]


def station_layer(hourly: Hourly, window: str) -> Layer:
    """Return the window's layer of each station in `hourly` (which holds at least
    `hours_needed(window)` hours; the last `STEPS` are the steps)."""
    stats = {k: v[..., -STEPS:] for k, v in _statistics(hourly.values, window).items()}
    return _layer(window, hourly.hours[-STEPS:], stats)


def cell_layer(layer: Layer, cells_of_rows: Sequence[int]) -> tuple[np.ndarray, Layer]:
    """Return (cells, sorted, and their layer): each cell's values are the means of its
    rows' (stations') valid values, indexed again."""
    keys = np.asarray(cells_of_rows, dtype=np.uint64)
    cells, member = np.unique(keys, return_inverse=True)
    onehot = np.zeros((len(cells), len(keys)))
    onehot[member, np.arange(len(keys))] = 1.0
    stats = {k: _group_mean(onehot, v) for k, v in statistics_of(layer).items()}
    return cells, _layer(layer.window, layer.hours, stats)


def at_step(layer: Layer, step: int) -> Layer:
    """Return the layer cut to one step (one column), so a map step computes only it."""
    cut = slice(step, step + 1)
    return Layer(layer.window, layer.hours[cut], {k: v[:, cut] for k, v in layer.values.items()},
                 {k: v[:, cut] for k, v in layer.indices.items()}, layer.aqi[:, cut],
                 layer.primary[:, cut], {k: v[:, cut] for k, v in layer.extra.items()})


def statistics_of(layer: Layer) -> dict[str, np.ndarray]:
    """Return what a layer's indices are computed from: its values and its extras."""
    return {**layer.values, **layer.extra}


def indexed(window: str, hours: Sequence[datetime], stats: dict[str, np.ndarray]) -> Layer:
    """Return the layer of `window` indexing these statistics (as `statistics_of` gives
    them) by HJ 633, e.g. cell means or estimates."""
    return _layer(window, hours, stats)


def exceedances(layer: Layer, stations: Sequence[StationPlace],
                pollutants: Sequence[str] = aqi.POLLUTANTS) -> list[Exceedance]:
    """Return the station-steps above the grade II limit, worst (largest multiple of the
    limit) first, then newest first."""
    found = []
    for p in pollutants:
        averaging = AVERAGING[layer.window].get(p)
        if averaging is None:
            continue
        bound = aqi.limit(p, averaging)
        values = layer.values[p]
        over = np.argwhere(np.nan_to_num(values, nan=-1.0) > bound)
        for row, step in over.tolist():
            found.append(Exceedance(layer.hours[step], stations[row], p, averaging,
                                    float(values[row, step]), bound,
                                    float(layer.indices[p][row, step]),
                                    float(layer.aqi[row, step])))
    return sorted(found, key=lambda e: (-e.ratio, -e.hour_end.timestamp(),
                                        e.station.station_id))


def _statistics(hourly: dict[str, np.ndarray], window: str) -> dict[str, np.ndarray]:
    """Return the window's value of each pollutant, and the extras its indices read."""
    if window == "1h":
        return {**hourly, "so2_24h": aqi.mean_24h(hourly["so2"])}
    if window == "8h":
        return {**{p: aqi.mean_8h(v) for p, v in hourly.items()}, "o3_1h": hourly["o3"]}
    if window == "24h":
        stats = {p: aqi.mean_24h(v) for p, v in hourly.items() if p != "o3"}
        return {**stats, "o3": aqi.max_8h_of_day(hourly["o3"]),
                "o3_1h_max": aqi.max_1h_of_day(hourly["o3"])}
    raise ValueError(f"unknown window {window!r}; one of {', '.join(WINDOWS)}")


def _indices(window: str, stats: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    means = {p: stats[p] for p in aqi.POLLUTANTS}
    if window == "1h":
        return aqi.hourly_indices(means, so2_24h=stats["so2_24h"])
    if window == "8h":
        return aqi.period_indices(means, o3_1h=stats["o3_1h"])
    daily = {p: v for p, v in means.items() if p != "o3"}
    return aqi.daily_indices({**daily, "o3_8h": stats["o3"], "o3_1h": stats["o3_1h_max"]})


def _layer(window: str, hours: Sequence[datetime], stats: dict[str, np.ndarray]) -> Layer:
    indices = _indices(window, stats)
    index, primary = aqi.combine(indices)
    values = {p: stats[p] for p in aqi.POLLUTANTS}
    extra = {k: v for k, v in stats.items() if k not in values}
    return Layer(window, tuple(hours), values, indices, index, primary, extra)


def _group_mean(onehot: np.ndarray, values: np.ndarray) -> np.ndarray:
    valid = ~np.isnan(values)
    total = onehot @ np.where(valid, values, 0.0)
    count = onehot @ valid.astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)
