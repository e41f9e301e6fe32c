"""Simulated time: local hours, ISO-8601 stamps and the city's daily rhythms.

The simulator never reads the clock; it works in epoch milliseconds (UTC) and
a UTC offset per chunk of time. This module turns those into the local hour
of day and the ISO-8601 strings gateways send, and maps hours to the 0..1
shapes (daytime activity, rush hours, traffic, incident intensity) that the
sources scale their readings by. Time chunks themselves are in `chunks`.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np


def start_to_ms(start: datetime, tz: ZoneInfo) -> int:
    """Return the epoch ms of `start`; a naive start is the city's local time."""
    if start.tzinfo is None:
        start = start.replace(tzinfo=tz)  # a naive start is the city's local time
    return int(start.timestamp() * 1000)


def ms_to_hours(ts_ms: np.ndarray, offset_s: int) -> np.ndarray:
    """Return the local hour of day (float, 0-24) of epoch-ms times."""
    return ((ts_ms // 1000 + offset_s) % 86400) / 3600.0


def ms_to_iso(ts_ms: np.ndarray, offset_s: int) -> list[str]:
    """Return ISO-8601 local times with their UTC offset, e.g. ...T08:00:00.123+08:00."""
    local = (np.asarray(ts_ms, dtype=np.int64) + offset_s * 1000).astype("datetime64[ms]")
    sign, off = ("+" if offset_s >= 0 else "-"), abs(offset_s) // 60
    suffix = f"{sign}{off // 60:02d}:{off % 60:02d}"
    return [s + suffix for s in np.datetime_as_string(local, unit="ms").tolist()]


# --- daily rhythms (hour arrays -> 0..1 shapes) -------------------------------------------


def daytime(h: np.ndarray) -> np.ndarray:
    """City activity: 0 at 03:00, 1 at 15:00."""
    return 0.5 - 0.5 * np.cos(2 * np.pi * (h - 3.0) / 24.0)


def rush_hours(h: np.ndarray) -> np.ndarray:
    """Morning and evening rush hours, peaking at 08:00 and 18:00."""
    return np.exp(-0.5 * ((h - 8.0) / 1.2) ** 2) + np.exp(-0.5 * ((h - 18.0) / 1.5) ** 2)


def traffic(h: np.ndarray) -> np.ndarray:
    """Road traffic, 0..1: a little at night, a daytime plateau, peaks at the rush hours."""
    return np.clip(0.06 + 0.45 * daytime(h) + 0.5 * rush_hours(h), 0.0, 1.0)


def incident_intensity(h: np.ndarray) -> np.ndarray:
    """Incident report rate relative to the daily mean (mean 1: 0.25 at night, 1.75 by day)."""
    return 0.25 + 1.5 * daytime(h)
