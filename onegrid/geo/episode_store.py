"""The `episodes` table: writes of the engine's episode decisions, and the reads a restart needs.

The table's DDL is in `store` (with the rest of the schema). What an episode
is, and when one starts or ends, is `alerts.episodes`'; this module only reads
and writes rows, as Arrow tables and plain dicts. The hour up to which
episodes have been decided is kept in `meta` (key `episodes_until`), in the
same transaction as the rows, so a restarted engine resumes exactly there.
Timestamps are read as epoch microseconds (fetching TIMESTAMPTZ needs pytz).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

import duckdb
import pyarrow as pa

from onegrid.geo.arrow_sql import from_epoch_us, upsert

_TS: Final = pa.timestamp("us", tz="UTC")
UNTIL_KEY: Final = "episodes_until"

EPISODE_SCHEMA: Final = pa.schema([
    ("episode_id", pa.string()), ("scope", pa.string()), ("key", pa.string()),
    ("cell", pa.uint64()), ("grid_id", pa.string()), ("district_id", pa.string()),
    ("pollutant", pa.string()), ("start_at", _TS), ("peak_at", _TS), ("peak_aqi", pa.float64()),
    ("peak_value", pa.float64()), ("end_at", _TS), ("hours", pa.int32()),
    ("wind_dir_deg", pa.float64()), ("wind_speed_ms", pa.float64()),
    ("near_edge", pa.bool_()), ("shared_at", _TS), ("updated_at", _TS),
    ("primary_pollutants", pa.list_(pa.string())), ("lat", pa.float64()), ("lng", pa.float64()),
    ("edge_distance_km", pa.float64()), ("last_exceed_at", _TS), ("clean_hours", pa.int32()),
    *[(p, pa.float64()) for p in ("pm25", "pm10", "so2", "no2", "o3", "co")],
])
_TIME_COLUMNS: Final = ("start_at", "peak_at", "end_at", "shared_at", "updated_at",
                        "last_exceed_at")


def upsert_episodes(cur: duckdb.DuckDBPyConnection, rows: pa.Table) -> None:
    """Write the latest state of each episode in `rows` (EPISODE_SCHEMA's columns)."""
    upsert(cur, "episodes", rows, keys=("episode_id",))


def read_episodes(cur: duckdb.DuckDBPyConnection, where: str = "true",
                  params: list | None = None) -> list[dict[str, Any]]:
    """Return episode rows matching a SQL condition, times as UTC datetimes, by start."""
    cols = [f.name for f in EPISODE_SCHEMA]
    select = ", ".join(f"epoch_us({c}) AS {c}" if c in _TIME_COLUMNS else f'"{c}"'
                       for c in cols)
    rows = cur.execute(f"SELECT {select} FROM episodes WHERE {where} "
                       "ORDER BY start_at, key", params or []).fetchall()
    return [{c: from_epoch_us(v) if c in _TIME_COLUMNS else v for c, v in zip(cols, r, strict=True)}
            for r in rows]


def open_episodes(cur: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    """Return the episodes still going (no end yet): what the next hour continues."""
    return read_episodes(cur, "end_at IS NULL")


def episodes_until(cur: duckdb.DuckDBPyConnection) -> datetime | None:
    """Return the end of the last hour episodes were decided for (None before any)."""
    rows = cur.execute("SELECT value FROM meta WHERE key = ?", [UNTIL_KEY]).fetchall()
    return datetime.fromisoformat(rows[0][0]) if rows else None


def record_episodes_until(cur: duckdb.DuckDBPyConnection, at: datetime) -> None:
    """Record that episodes are decided up to the hour ending at `at`."""
    cur.execute("INSERT INTO meta VALUES (?, ?) ON CONFLICT DO UPDATE SET value = excluded.value",
                [UNTIL_KEY, at.astimezone(UTC).isoformat()])

