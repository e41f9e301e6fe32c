"""Air quality by the national methods, over whole arrays: the AQI of HJ 633-2012, and the
limits and data validity of GB 3095-2012 that it rests on.

HJ 633: each pollutant's concentration becomes an individual index (IAQI,
空气质量分指数) by linear interpolation between the breakpoints of its
table 1, rounded up to a whole number (进位取整); the AQI is the largest
IAQI, and the pollutants with that IAQI are the primary pollutants (首要污染物;
several when they tie) once the AQI is above 50; those above 100 exceed
(超标污染物). Three reports read the tables differently:

- hourly (实时报) from 1-hour means: SO2, NO2, O3, CO on their 1-hour rows,
  PM2.5 and PM10 (which have no 1-hour row) on their 24-hour rows; SO2 above
  800 µg/m³ is reported by its 24-hour mean's IAQI (table 1, note 2);
- daily (日报) from 24-hour means of SO2, NO2, PM10, PM2.5, CO and O3's
  largest 1-hour and 8-hour means of the day (seven indicators); O3 8 h above
  800 µg/m³ is reported by its 1-hour IAQI (note 3);
- `period_indices`: means over any longer window (e.g. a running 8 h) on the
  24-hour rows, O3 on its 8-hour row; this is the dashboard's reading of an
  8-hour window, not a report the standard names.

GB 3095 (table 1 grade I/II limits, table 4 validity): a 1-hour mean needs 45
minutes of sampling, an 8-hour mean 6 valid hours, a 24-hour mean 20; O3's
daily largest 8-hour mean needs 14 valid 8-hour means (HJ 663-2013). Invalid
averages are NaN, and so is every IAQI of a NaN; an AQI is NaN only when all
its indices are. Units: µg/m³, CO mg/m³. Where the data come from and which
window a page shows are the caller's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

IAQI_LEVELS: Final = (0, 50, 100, 150, 200, 300, 400, 500)
# (pollutant, averaging) -> concentration breakpoints for IAQI_LEVELS (HJ 633-2012, table 1).
BREAKPOINTS: Final[dict[tuple[str, str], tuple[float, ...]]] = {
    ("so2", "24h"): (0, 50, 150, 475, 800, 1600, 2100, 2620),
    ("so2", "1h"): (0, 150, 500, 650, 800),  # above 800: the 24-hour mean's IAQI (note 2)
    ("no2", "24h"): (0, 40, 80, 180, 280, 565, 750, 940),
    ("no2", "1h"): (0, 100, 200, 700, 1200, 2340, 3090, 3840),
    ("pm10", "24h"): (0, 50, 150, 250, 350, 420, 500, 600),
    ("co", "24h"): (0, 2, 4, 14, 24, 36, 48, 60),
    ("co", "1h"): (0, 5, 10, 35, 60, 90, 120, 150),
    ("o3", "1h"): (0, 160, 200, 300, 400, 800, 1000, 1200),
    ("o3", "8h"): (0, 100, 160, 215, 265, 800),  # above 800: the 1-hour IAQI (note 3)
    ("pm25", "24h"): (0, 35, 75, 115, 150, 250, 350, 500),
}
POLLUTANTS: Final = ("pm25", "pm10", "so2", "no2", "o3", "co")
UNITS: Final = {"pm25": "µg/m³", "pm10": "µg/m³", "so2": "µg/m³", "no2": "µg/m³",
                "o3": "µg/m³", "co": "mg/m³"}
# pollutant -> the table row its hourly index reads
HOURLY: Final = {"pm25": "24h", "pm10": "24h", "so2": "1h", "no2": "1h", "o3": "1h",
                 "co": "1h"}
_SWITCH: Final = 800.0  # µg/m³: where the SO2 1 h and O3 8 h rows end
_EXCEEDS: Final = 100  # IAQI above which a pollutant exceeds (超标)
_PRIMARY_ABOVE: Final = 50  # AQI above which there is a primary pollutant


@dataclass(frozen=True)
class Category:
    """An AQI category (HJ 633 table 2, appendix A): level 1-6, its upper AQI, its
    names and its colour."""

    level: int
    upper: float
    zh: str
    en: str
    colour: str

    def name(self, lang: str | None) -> str:
        """Return the category's name in `lang` (Chinese unless "en")."""
        return self.en if lang == "en" else self.zh


CATEGORIES: Final = (
    Category(1, 50, "优", "Excellent", "#00e400"),
    Category(2, 100, "良", "Good", "#ffff00"),
    Category(3, 150, "轻度污染", "Lightly polluted", "#ff7e00"),
    Category(4, 200, "中度污染", "Moderately polluted", "#ff0000"),
    Category(5, 300, "重度污染", "Heavily polluted", "#99004c"),
    Category(6, float("inf"), "严重污染", "Severely polluted", "#7e0023"),
)

# (pollutant, averaging) -> (grade I, grade II) limit (GB 3095-2012 table 1; CO in mg/m³).
# The 8 h O3 limit applies to the daily largest 8-hour mean.
LIMITS: Final[dict[tuple[str, str], tuple[float, float]]] = {
    ("so2", "1h"): (150, 500), ("so2", "24h"): (50, 150),
    ("no2", "1h"): (200, 200), ("no2", "24h"): (80, 80),
    ("co", "1h"): (10, 10), ("co", "24h"): (4, 4),
    ("o3", "1h"): (160, 200), ("o3", "8h"): (100, 160),
    ("pm10", "24h"): (50, 150), ("pm25", "24h"): (35, 75),
}
MIN_MINUTES_PER_HOUR: Final = 45
MIN_HOURS: Final = {"8h": 6, "24h": 20}
MIN_8H_MEANS_PER_DAY: Final = 14


# -- individual indices --------------------------------------------------------------

def iaqi(values, pollutant: str, averaging: str) -> np.ndarray:
    """Return the individual index of each concentration on one row of table 1.

    NaN and negative values give NaN. Beyond the last breakpoint a full row
    gives 500; the SO2 1 h and O3 8 h rows give NaN there (the standard
    reports another average instead; see `hourly_indices`, `daily_indices`).
    """
    bp = np.asarray(BREAKPOINTS[(pollutant, averaging)], dtype=float)
    levels = np.asarray(IAQI_LEVELS[:len(bp)], dtype=float)
    c = np.atleast_1d(np.asarray(values, dtype=float))
    out = np.interp(c, bp, levels)
    # Round up (进位取整) after dropping float noise, so 75 gives 100 and 75.1 gives 101.
    out = np.ceil(np.round(out, 6))
    out[c > bp[-1]] = 500.0 if len(bp) == len(IAQI_LEVELS) else np.nan
    out[np.isnan(c) | (c < 0)] = np.nan
    return out


def hourly_indices(values: Mapping[str, np.ndarray], so2_24h=None) -> dict[str, np.ndarray]:
    """Return each pollutant's hourly IAQI (实时报) from its 1-hour means.

    Where SO2's 1-hour mean is above 800 µg/m³ its index is that of `so2_24h`
    (the 24-hour mean, as note 2 says); where that is not known the 1-hour
    value is read on the 24-hour row (our choice where the standard is silent:
    continuous with the 1-hour row at 800, so a severe hour is never dropped).
    Pollutants absent from `values` are left out.
    """
    out = {}
    for p in POLLUTANTS:
        if p not in values:
            continue
        v = np.atleast_1d(np.asarray(values[p], dtype=float))
        idx = iaqi(v, p, HOURLY[p])
        if p == "so2":
            high = v > _SWITCH
            if high.any():
                daily = iaqi(v, "so2", "24h")
                if so2_24h is not None:
                    known = iaqi(np.broadcast_to(so2_24h, v.shape), "so2", "24h")
                    daily = np.where(np.isnan(known), daily, known)
                idx[high] = daily[high]
        out[p] = idx
    return out


def period_indices(values: Mapping[str, np.ndarray], o3_1h=None) -> dict[str, np.ndarray]:
    """Return each pollutant's IAQI of its mean over a window of 8 hours or more: the
    24-hour rows, and O3's 8-hour row; O3 above 800 µg/m³ reads `o3_1h` (the 1-hour
    mean) on the 1-hour row, as note 3 says (NaN without it)."""
    out = {}
    for p in POLLUTANTS:
        if p not in values:
            continue
        v = np.atleast_1d(np.asarray(values[p], dtype=float))
        out[p] = _o3_8h_index(v, o3_1h) if p == "o3" else iaqi(v, p, "24h")
    return out


def daily_indices(values: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Return each pollutant's daily IAQI (日报).

    `values` holds the 24-hour means of pm25, pm10, so2, no2 and co, and, for
    O3, `o3_8h` (the day's largest 8-hour mean) and `o3_1h` (its largest
    1-hour mean). O3's index is the larger of its two indicators; its 8-hour
    mean above 800 µg/m³ reads the 1-hour value instead (note 3).
    """
    out = {p: iaqi(values[p], p, "24h") for p in POLLUTANTS if p != "o3" and p in values}
    o3_8h, o3_1h = values.get("o3_8h"), values.get("o3_1h")
    parts = []
    if o3_8h is not None:
        parts.append(_o3_8h_index(np.atleast_1d(np.asarray(o3_8h, dtype=float)), o3_1h))
    if o3_1h is not None:
        parts.append(iaqi(o3_1h, "o3", "1h"))
    if parts:
        out["o3"] = _nanmax(np.stack(np.broadcast_arrays(*parts)))
    return out


def _o3_8h_index(v: np.ndarray, o3_1h) -> np.ndarray:
    idx = iaqi(v, "o3", "8h")
    high = v > _SWITCH
    if high.any():
        one = np.full(v.shape, np.nan) if o3_1h is None else \
            iaqi(np.broadcast_to(o3_1h, v.shape), "o3", "1h")
        idx[high] = one[high]
    return idx


# -- the index ---------------------------------------------------------------------

def combine(indices: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Return (AQI, primary pollutants) per row from each pollutant's IAQI.

    The AQI is the largest IAQI (NaN where every index is NaN). Primary
    pollutants are a tuple per row: every pollutant whose IAQI equals the AQI
    when the AQI is above 50, in `POLLUTANTS` order; () otherwise.
    """
    if not indices:
        return np.array([]), np.array([], dtype=object)
    names = list(indices)
    stack = _stack(indices, names)
    index = _nanmax(stack)
    ties = (stack == index) & (index > _PRIMARY_ABOVE)
    return index, _name_sets(ties, names)


def exceeding(indices: Mapping[str, np.ndarray]) -> np.ndarray:
    """Return, per row, the tuple of pollutants whose IAQI is above 100 (超标污染物)."""
    if not indices:
        return np.array([], dtype=object)
    names = list(indices)
    return _name_sets(_stack(indices, names) > _EXCEEDS, names)


def hourly_aqi(values: Mapping[str, np.ndarray], so2_24h=None) -> tuple[np.ndarray, np.ndarray]:
    """Return (AQI, primary pollutants) per row from 1-hour means (`hourly_indices`)."""
    return combine(hourly_indices(values, so2_24h))


def daily_aqi(values: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Return (AQI, primary pollutants) per row from daily values (`daily_indices`)."""
    return combine(daily_indices(values))


def category_of(index: float | None) -> Category | None:
    """Return the AQI category of an index (None for a missing one)."""
    if index is None or not np.isfinite(index) or index < 0:
        return None
    return next(c for c in CATEGORIES if index <= c.upper)


def category_name(index: float | None, lang: str | None = "zh") -> str:
    """Return the AQI category's name in `lang` (优, 良, ... / Excellent, ...; "" if none)."""
    found = category_of(index)
    return found.name(lang) if found else ""


def _stack(indices: Mapping[str, np.ndarray], names: list[str]) -> np.ndarray:
    """Return the indices as one array, pollutants on the first axis (any row shape)."""
    return np.stack(np.broadcast_arrays(*[np.atleast_1d(indices[p]) for p in names]))


def _nanmax(stack: np.ndarray) -> np.ndarray:
    empty = np.all(np.isnan(stack), axis=0)
    out = np.where(np.isnan(stack), -np.inf, stack).max(axis=0)
    out[empty] = np.nan
    return out


def _name_sets(mask: np.ndarray, names: list[str]) -> np.ndarray:
    """Return, per row of `mask` (names first, then the rows' shape), the tuple of the
    names set there, in `POLLUTANTS` order."""
    order = sorted(range(len(names)), key=lambda i: POLLUTANTS.index(names[i])
                   if names[i] in POLLUTANTS else len(POLLUTANTS) + i)
    bits = np.zeros(mask.shape[1:], dtype=np.int64)
    for k, i in enumerate(order):
        bits |= mask[i].astype(np.int64) << k
    patterns, inverse = np.unique(bits, return_inverse=True)
    tuples = np.empty(len(patterns), dtype=object)  # at most 2^6 patterns: one tuple each
    for j, value in enumerate(patterns.tolist()):
        tuples[j] = tuple(names[i] for k, i in enumerate(order) if value >> k & 1)
    return tuples[inverse.ravel()].reshape(bits.shape)


# -- GB 3095: limits and data validity ---------------------------------------------

def limit(pollutant: str, averaging: str, grade: int = 2) -> float | None:
    """Return the GB 3095-2012 limit of grade 1 or 2 for a pollutant's averaging (None
    where the standard sets none, e.g. PM2.5 over 1 hour)."""
    found = LIMITS.get((pollutant, averaging))
    return None if found is None else float(found[grade - 1])


def hour_is_valid(minutes_sampled) -> np.ndarray:
    """Return whether each 1-hour mean is valid: at least 45 minutes sampled."""
    return np.asarray(minutes_sampled, dtype=float) >= MIN_MINUTES_PER_HOUR


def has_enough_hours(valid_hours, averaging: str) -> np.ndarray:
    """Return whether a window with this many valid hours gives a valid `averaging`
    mean ("8h": at least 6, "24h": at least 20)."""
    return np.asarray(valid_hours) >= MIN_HOURS[averaging]


def running_mean(hourly, hours: int, min_valid: int) -> np.ndarray:
    """Return the mean of the `hours` hourly values ending at each position (last axis),
    NaN where fewer than `min_valid` of them are valid (not NaN); hours before the
    start of the series count as missing."""
    win = _windows(hourly, hours)
    valid = ~np.isnan(win)
    count = valid.sum(axis=-1)
    total = np.where(valid, win, 0.0).sum(axis=-1)
    out = total / np.maximum(count, 1)
    out[count < min_valid] = np.nan
    return out


def running_max(values, hours: int, min_valid: int) -> np.ndarray:
    """Return the largest of the `hours` values ending at each position (last axis),
    NaN where fewer than `min_valid` of them are valid."""
    win = _windows(values, hours)
    count = (~np.isnan(win)).sum(axis=-1)
    out = np.where(np.isnan(win), -np.inf, win).max(axis=-1)
    out[count < min_valid] = np.nan
    return out


def mean_8h(hourly) -> np.ndarray:
    """Return the running 8-hour mean of hourly values (valid with 6 hours or more)."""
    return running_mean(hourly, 8, MIN_HOURS["8h"])


def mean_24h(hourly) -> np.ndarray:
    """Return the running 24-hour mean of hourly values (valid with 20 hours or more)."""
    return running_mean(hourly, 24, MIN_HOURS["24h"])


def max_8h_of_day(hourly) -> np.ndarray:
    """Return, at each hour, the largest valid 8-hour mean of the 24 hours ending there
    (valid with 14 valid 8-hour means or more): O3's daily indicator."""
    return running_max(mean_8h(hourly), 24, MIN_8H_MEANS_PER_DAY)


def max_1h_of_day(hourly) -> np.ndarray:
    """Return, at each hour, the largest 1-hour mean of the 24 hours ending there (valid,
    like a 24-hour mean, with 20 valid hours or more)."""
    return running_max(hourly, 24, MIN_HOURS["24h"])


def _windows(values, hours: int) -> np.ndarray:
    x = np.asarray(values, dtype=float)
    pad = np.full((*x.shape[:-1], hours - 1), np.nan)
    return sliding_window_view(np.concatenate([pad, x], axis=-1), hours, axis=-1)
