"""Per-cell counts and means over a period, read from `events` for the open-data export.

Everything is grouped by the res-8 parent cell (`cell_r8`, about 0.74 km²):
how many events each topic brought, how many incident reports of each
category, and each sensor metric's mean. A cell's district is the one most of
its events fall in (ties: the smallest id). Only aggregates leave this
module: no event id, source id, reporter or free text is selected. The
stations' hours are `air_hours`'; suppression and the files are the caller's.
Reads only, over the caller's cursor.
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import pyarrow as pa


def cell_counts(cur: duckdb.DuckDBPyConnection, start: datetime, end: datetime) -> pa.Table:
    """Return per res-8 cell with events in [start, end): district_id, sensor_readings,
    station_readings, reports (counts of sensor, environment and incident events)."""
    return cur.sql("""
        WITH per AS (
            SELECT cell_r8, district_id, count(*) AS n,
                   count(*) FILTER (WHERE topic = 'sensor') AS s,
                   count(*) FILTER (WHERE topic = 'environment') AS e,
                   count(*) FILTER (WHERE topic = 'incident') AS i
            FROM events WHERE ts >= ? AND ts < ? AND cell_r8 IS NOT NULL
            GROUP BY cell_r8, district_id)
        SELECT cell_r8,
               first(district_id ORDER BY district_id IS NULL, n DESC, district_id)
                   AS district_id,
               sum(s)::BIGINT AS sensor_readings, sum(e)::BIGINT AS station_readings,
               sum(i)::BIGINT AS reports
        FROM per GROUP BY cell_r8 ORDER BY cell_r8
    """, params=[start, end]).to_arrow_table()


def category_counts(cur: duckdb.DuckDBPyConnection, start: datetime, end: datetime) -> pa.Table:
    """Return cell_r8, category, reports: incident reports per res-8 cell and category."""
    return cur.sql("""
        SELECT cell_r8, category, count(*) AS reports FROM events
        WHERE topic = 'incident' AND ts >= ? AND ts < ? AND cell_r8 IS NOT NULL
        GROUP BY ALL ORDER BY cell_r8, category
    """, params=[start, end]).to_arrow_table()


def sensor_means(cur: duckdb.DuckDBPyConnection, start: datetime, end: datetime) -> pa.Table:
    """Return cell_r8, metric, mean, n: each sensor metric's mean per res-8 cell."""
    return cur.sql("""
        SELECT cell_r8, metric, avg(value) AS mean, count(*) AS n FROM events
        WHERE topic = 'sensor' AND ts >= ? AND ts < ? AND cell_r8 IS NOT NULL
        GROUP BY ALL ORDER BY cell_r8, metric
    """, params=[start, end]).to_arrow_table()
