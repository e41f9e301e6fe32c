"""Monitoring stations' 1-hour means, read from the stored `environment` events in one query.

Each station (`source_id`) gets, per hour, the mean of every pollutant and the
minutes of that hour that were sampled: the quarter hours holding a reading of
it, times 15, as the environment page counts them, so GB 3095's 45-minute
rule can be applied by `alerts.station_hours`. The hour's wind is the
circular mean of the reported directions (so 350° and 10° give 0°, not 180°)
and the mean speed. The station's place (cell, grid, district, lat/lng) is the
one of its latest reading in the window. Hours are named by their end, in
epoch hours (UTC). Reads only, over the caller's cursor.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

import duckdb
import pyarrow as pa

POLLUTANTS: Final = ("pm25", "pm10", "so2", "no2", "o3", "co")

_SUMS: Final = ", ".join(f"sum({p}) AS s_{p}, count({p}) AS n_{p}" for p in POLLUTANTS)
_MEANS: Final = ", ".join(
    f"sum(s_{p}) / nullif(sum(n_{p}), 0) AS {p}, "
    f"(count(*) FILTER (WHERE n_{p} > 0) * 15)::INTEGER AS {p}_min" for p in POLLUTANTS)
_PLACE: Final = ("cell", "grid_id", "district_id", "lat", "lng")

# Quarter hours first (epoch arithmetic: UTC whatever the session's zone), then hours.
_SQL: Final = f"""
WITH quarters AS (
    SELECT source_id, floor(epoch(ts) / 900)::BIGINT AS quarter, {_SUMS},
           sum(sin(radians(wind_dir_deg))) AS wx, sum(cos(radians(wind_dir_deg))) AS wy,
           sum(wind_speed_ms) AS ws, count(wind_speed_ms) AS nws, max(ts) AS last_ts,
           {", ".join(f"arg_max({c}, ts) AS {c}" for c in _PLACE)}
    FROM events
    WHERE topic = 'environment' AND ts >= ? AND ts < ? AND source_id IS NOT NULL
    GROUP BY ALL)
SELECT source_id, quarter // 4 + 1 AS hour_end, {_MEANS},
       (degrees(atan2(sum(wx), sum(wy))) + 360) % 360 AS wind_dir_deg,
       sum(ws) / nullif(sum(nws), 0) AS wind_speed_ms,
       {", ".join(f"arg_max({c}, last_ts) AS {c}" for c in _PLACE)},
       epoch_ms(max(last_ts)) AS last_ms
FROM quarters GROUP BY source_id, hour_end ORDER BY source_id, hour_end
"""


def station_hours(cur: duckdb.DuckDBPyConnection, start: datetime, end: datetime) -> pa.Table:
    """Return one row per station and hour in [start, end) that holds a reading: source_id,
    hour_end (epoch hour), each pollutant's mean and minutes sampled (`<p>_min`),
    wind_dir_deg, wind_speed_ms, and the station's latest cell, grid_id, district_id,
    lat, lng (last_ms: that reading's time)."""
    return cur.sql(_SQL, params=[start, end]).to_arrow_table()


def first_reading(cur: duckdb.DuckDBPyConnection) -> datetime | None:
    """Return the time of the earliest stored station reading (None before any)."""
    ms = cur.execute("SELECT epoch_ms(min(ts)) FROM events WHERE topic = 'environment'"
                     ).fetchall()[0][0]
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC)
