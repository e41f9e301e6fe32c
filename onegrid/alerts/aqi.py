"""Air quality index (AQI) by the national method, HJ 633-2012, over whole arrays.

Each pollutant's concentration becomes an individual index (IAQI) by linear
interpolation between the standard's breakpoints (table 1); the AQI is the
largest IAQI and its pollutant is the primary pollutant (首要污染物) once the
AQI is above 50. Results are rounded up to whole numbers, as the standard
asks. Units: µg/m³, CO mg/m³. This module gives the hourly index (实时报,
1-hour values; PM2.5 and PM10 have no 1-hour breakpoints and use the 24-hour
ones) and the daily one (日报, 24-hour means, O3 as its 8-hour mean); which
averages count as valid is the caller's (GB 3095-2012 completeness).
Arrays take NaN for a missing value; an IAQI is NaN when its value is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

import numpy as np

IAQI_LEVELS: Final = (0, 50, 100, 150, 200, 300, 400, 500)
# (pollutant, averaging) -> concentration breakpoints for IAQI_LEVELS (HJ 633-2012, table 1).
BREAKPOINTS: Final[dict[tuple[str, str], tuple[float, ...]]] = {
    ("so2", "24h"): (0, 50, 150, 475, 800, 1600, 2100, 2620),
    ("so2", "1h"): (0, 150, 500, 650, 800),  # above 800 the 24-hour value is used
    ("no2", "24h"): (0, 40, 80, 180, 280, 565, 750, 940),
    ("no2", "1h"): (0, 100, 200, 700, 1200, 2340, 3090, 3840),
    ("pm10", "24h"): (0, 50, 150, 250, 350, 420, 500, 600),
    ("co", "24h"): (0, 2, 4, 14, 24, 36, 48, 60),
    ("co", "1h"): (0, 5, 10, 35, 60, 90, 120, 150),
    ("o3", "1h"): (0, 160, 200, 300, 400, 800, 1000, 1200),
    ("o3", "8h"): (0, 100, 160, 215, 265, 800),  # above 800 the 1-hour value is used
    ("pm25", "24h"): (0, 35, 75, 115, 150, 250, 350, 500),
}
POLLUTANTS: Final = ("pm25", "pm10", "so2", "no2", "o3", "co")
# pollutant -> the breakpoints its hourly index reads
HOURLY: Final = {"pm25": "24h", "pm10": "24h", "so2": "1h", "no2": "1h", "o3": "1h",
                 "co": "1h"}
# AQI category bounds (upper, inclusive) and their names: 优 良 轻度 中度 重度 严重.
CATEGORIES: Final = ((50, "excellent", "优"), (100, "good", "良"),
                     (150, "light", "轻度污染"), (200, "moderate", "中度污染"),
                     (300, "heavy", "重度污染"), (float("inf"), "severe", "严重污染"))


def iaqi(values: np.ndarray, pollutant: str, averaging: str) -> np.ndarray:
    """Return the individual index of each concentration (NaN stays NaN).

    Beyond the last breakpoint the index is 500 for a full table; for SO2
    1-hour and O3 8-hour it is NaN there (the standard switches to the
    24-hour or 1-hour value; see `hourly_aqi` and `daily_aqi`).
    """
    bp = np.asarray(BREAKPOINTS[(pollutant, averaging)], dtype=float)
    levels = np.asarray(IAQI_LEVELS[:len(bp)], dtype=float)
    c = np.asarray(values, dtype=float)
    out = np.interp(c, bp, levels)
    # Round up (the standard: 进位取整), after removing float noise at breakpoints.
    out = np.ceil(np.round(out, 6))
    over = c > bp[-1]
    out[over] = 500.0 if len(bp) == len(IAQI_LEVELS) else np.nan
    out[np.isnan(c) | (c < 0)] = np.nan
    return out


def hourly_aqi(values: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Return (AQI, primary pollutant) per row from 1-hour means per pollutant.

    SO2 above 800 µg/m³ (1 h) counts by the 24-hour table, as the standard
    says; missing pollutants are left out of the maximum.
    """
    indices = {}
    for p in POLLUTANTS:
        if p not in values:
            continue
        v = np.asarray(values[p], dtype=float)
        idx = iaqi(v, p, HOURLY[p])
        if p == "so2":
            high = v > BREAKPOINTS[("so2", "1h")][-1]
            idx[high] = iaqi(v[high], "so2", "24h")
        indices[p] = idx
    return _combine(indices)


def daily_aqi(values: Mapping[str, np.ndarray],
              o3_1h_max: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Return (AQI, primary pollutant) per row from 24-hour means (O3: its 8-hour mean).

    `values["o3"]` is the day's largest 8-hour mean; where it is over 800
    µg/m³ the O3 index comes from the largest 1-hour value (`o3_1h_max`).
    """
    indices = {}
    for p in POLLUTANTS:
        if p not in values:
            continue
        v = np.asarray(values[p], dtype=float)
        if p == "o3":
            idx = iaqi(v, "o3", "8h")
            if o3_1h_max is not None:
                high = v > BREAKPOINTS[("o3", "8h")][-1]
                idx[high] = iaqi(np.asarray(o3_1h_max, dtype=float)[high], "o3", "1h")
        else:
            idx = iaqi(v, p, "24h")
        indices[p] = idx
    return _combine(indices)


def category_of(aqi: float, lang: str = "zh") -> str:
    """Return the AQI category's name (优, 良, ... / excellent, good, ...)."""
    for upper, en, zh in CATEGORIES:
        if aqi <= upper:
            return en if lang == "en" else zh
    return ""


def _combine(indices: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    if not indices:
        return np.array([]), np.array([], dtype=object)
    names = list(indices)
    stack = np.vstack([indices[p] for p in names])
    all_nan = np.all(np.isnan(stack), axis=0)
    filled = np.where(np.isnan(stack), -1.0, stack)
    best = filled.argmax(axis=0)
    aqi = filled.max(axis=0)
    aqi[all_nan] = np.nan
    primary = np.array([names[i] for i in best], dtype=object)
    primary[all_nan | (aqi <= 50)] = None
    return aqi, primary
