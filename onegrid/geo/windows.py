"""Window statistics: what rules read from the store, at any H3 level or region.

Reads only, over a cursor the caller holds (the engine's write transaction or
a back-test's scratch store): per-key n, sum, min and max of a metric over a
window of minute buckets at H3 resolution 7-10 (parents by the index's bit
layout, exact roll-ups of the res-10 buckets) or per region level; first and
last bucket means for rates; least-squares trends of the bucket means for
forecasts; per-device statistics from source_stats; and when each source
last spoke (the table `store.fold_last_seen` keeps). Writing stays in `store`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

import duckdb
import pyarrow as pa

from onegrid.geo.arrow_sql import from_epoch_us, registered

# H3 parent of a res-10 cell in SQL, by the index's bit layout (as geo.cells).
_PARENT_SQL: Final = ("(cell & ~(15::UBIGINT << 52)) | ({res}::UBIGINT << 52) "
                      "| ((1::UBIGINT << (3 * (15 - {res}))) - 1)")
REGION_LEVELS: Final = ("grid_id", "community_id", "street_id", "district_id")


def register_region_cells(cur: duckdb.DuckDBPyConnection, cell_table: pa.Table) -> None:
    """Expose the city's cell -> grid/community/street/district table as `region_cells`."""
    cur.register("region_cells", cell_table)


def window_stats(cur: duckdb.DuckDBPyConnection, metric: str, start, end,
                 level: str | int = 10, cells=None) -> pa.Table:
    """Return n, sum, min, max of `metric` per key over buckets in [start, end).

    `level` is an H3 resolution (7-10: key is the cell at that resolution) or a
    region level name from REGION_LEVELS (key is the region id; needs
    `register_region_cells` first). Parent statistics are exact roll-ups of
    the res-10 minute buckets. A metric ending in ':*' matches every metric
    with that prefix (e.g. 'incident:*'), each kept apart under `metric`.
    With `cells` (res-10 cell ids), only the buckets of those cells count.
    """
    if isinstance(level, int):
        if not 7 <= level <= 10:
            raise ValueError(f"H3 resolution must be 7-10, got {level}")
        key, source = _PARENT_SQL.format(res=level) if level < 10 else "cell", "cell_stats"
        key = f"CAST({key} AS VARCHAR)"
    elif level in REGION_LEVELS:
        key, source = level, "cell_stats JOIN region_cells USING (cell)"
    else:
        raise ValueError(f"unknown level {level!r}")
    where = "metric LIKE ?" if metric.endswith(":*") else "metric = ?"
    pattern = metric[:-1] + "%" if metric.endswith(":*") else metric
    sql = f"""
        SELECT {key} AS key, metric, sum(n)::BIGINT AS n, sum(sum) AS sum, min(min) AS min,
               max(max) AS max, any_value(cell) AS cell
        FROM {source} {"" if cells is None else "SEMI JOIN window_cells USING (cell)"}
        WHERE {where} AND bucket >= ? AND bucket < ? AND {key} IS NOT NULL
        GROUP BY ALL ORDER BY key, metric
    """
    if cells is None:
        return cur.sql(sql, params=[pattern, start, end]).to_arrow_table()
    with registered(cur, "window_cells", pa.table({"cell": pa.array(cells, pa.uint64())})):
        return cur.sql(sql, params=[pattern, start, end]).to_arrow_table()


def window_first_last(cur: duckdb.DuckDBPyConnection, metric: str, start, end,
                      level: int = 10) -> pa.Table:
    """Return, per H3 key at `level`, the mean of the first and last minute bucket
    of `metric` in [start, end) (for rate-of-change rules)."""
    key = _PARENT_SQL.format(res=level) if level < 10 else "cell"
    return cur.sql(f"""
        WITH b AS (
            SELECT CAST({key} AS VARCHAR) AS key, bucket, sum(sum) / sum(n) AS mean,
                   any_value(cell) AS cell
            FROM cell_stats WHERE metric = ? AND bucket >= ? AND bucket < ?
            GROUP BY ALL)
        SELECT key, arg_min(mean, bucket) AS first_mean, arg_max(mean, bucket) AS last_mean,
               count(*) AS buckets, any_value(cell) AS cell
        FROM b GROUP BY key HAVING count(*) > 1 ORDER BY key
    """, params=[metric, start, end]).to_arrow_table()


def last_seen(cur: duckdb.DuckDBPyConnection, topic: str,
              metric: str | None = None) -> pa.Table:
    """Return source_id, last ts, cell and grid of each source of a topic (only sources
    reporting `metric`, when given), as of the last `store.fold_last_seen`."""
    return many_last_seen(cur, [(topic, metric)]).drop_columns(["read"])


def many_last_seen(cur: duckdb.DuckDBPyConnection,
                   reads: list[tuple[str, str | None]]) -> pa.Table:
    """Return `last_seen` for several (topic, metric or None) reads in one query, each row
    marked with the index of its read in `reads` (column `read`)."""
    rows = ", ".join(f"({i}, ?, ?::VARCHAR)" for i in range(len(reads)))
    return cur.sql(f"""
        SELECT source_id, max(last_ts) AS last_ts, arg_max(cell, last_ts) AS cell,
               arg_max(grid_id, last_ts) AS grid_id, r.i AS read
        FROM source_seen s JOIN (VALUES {rows}) AS r(i, topic, metric)
          ON s.topic = r.topic AND (r.metric IS NULL OR s.metric = r.metric)
        GROUP BY r.i, source_id ORDER BY r.i, source_id
    """, params=[v for r in reads for v in r]).to_arrow_table()


def source_window_stats(cur: duckdb.DuckDBPyConnection, metric: str, start, end) -> pa.Table:
    """Return n, sum, min, max of a device metric (a sensor's, or a station's pollutant)
    per source over the minute buckets in [start, end), with its latest reading's cell."""
    return cur.sql("""
        SELECT source_id AS key, metric, sum(n)::BIGINT AS n, sum(sum) AS sum,
               min(min) AS min, max(max) AS max, arg_max(cell, last_ts) AS cell
        FROM source_stats WHERE metric = ? AND bucket >= ? AND bucket < ?
        GROUP BY ALL ORDER BY key
    """, params=[metric, start, end]).to_arrow_table()


def _windows_values(reads: list[tuple[str, object, object]]) -> tuple[str, list]:
    """Return a VALUES list of numbered (metric, start, end) windows and its parameters."""
    rows = ", ".join(f"({i}, ?, ?::TIMESTAMPTZ, ?::TIMESTAMPTZ)" for i in range(len(reads)))
    return f"(VALUES {rows}) AS w(i, metric, start, stop)", [v for r in reads for v in r]


def many_window_stats(cur: duckdb.DuckDBPyConnection, reads: list[tuple[str, object, object]],
                      level: int | list[int] = 10) -> pa.Table:
    """Return `window_stats` for several (metric, start, end) windows in one scan, each row
    marked with the index of its window in `reads` (column `window`).

    `level` is one H3 resolution (7-10) for all windows, or one per window, so
    rules at different resolutions share the scan. One query costs a few
    milliseconds however little it reads, and a decision reads a dozen
    windows; plain metric names only (no ':*' patterns).
    """
    levels = [level] * len(reads) if isinstance(level, int) else list(level)
    if len(levels) != len(reads) or not all(7 <= r <= 10 for r in levels):
        raise ValueError(f"H3 resolutions must be 7-10, one per window, got {level}")
    rows = ", ".join(f"({i}, ?, ?::TIMESTAMPTZ, ?::TIMESTAMPTZ, {res}::UBIGINT)"
                     for i, res in enumerate(levels))
    values = f"(VALUES {rows}) AS w(i, metric, start, stop, res)"
    params = [v for r in reads for v in r]
    # The parent formula leaves a res-10 cell as it is, so it serves every level.
    key = _PARENT_SQL.format(res="w.res")
    # The earliest start as a parameter, not a subquery over the VALUES: a constant
    # filters the scan (and its zone maps) before the join; 15 -> 12 ms a decision.
    return cur.sql(f"""
        SELECT CAST({key} AS VARCHAR) AS key, c.metric, sum(n)::BIGINT AS n, sum(sum) AS sum,
               min(min) AS min, max(max) AS max, any_value(cell) AS cell,
               w.i AS window
        FROM cell_stats c JOIN {values}
          ON c.metric = w.metric AND c.bucket >= w.start AND c.bucket < w.stop
        WHERE c.bucket >= ?::TIMESTAMPTZ
        GROUP BY ALL ORDER BY key, metric
    """, params=[*params, min(r[1] for r in reads)]).to_arrow_table()


def many_source_window_stats(cur: duckdb.DuckDBPyConnection,
                             reads: list[tuple[str, object, object]]) -> pa.Table:
    """Return `source_window_stats` for several (metric, start, end) windows in one scan,
    each row marked with the index of its window in `reads` (column `window`)."""
    values, params = _windows_values(reads)
    # The earliest start as a constant (see many_window_stats): 17 -> 13 ms a decision.
    return cur.sql(f"""
        SELECT source_id AS key, s.metric, sum(n)::BIGINT AS n, sum(sum) AS sum,
               min(min) AS min, max(max) AS max, arg_max(cell, last_ts) AS cell,
               w.i AS window
        FROM source_stats s JOIN {values}
          ON s.metric = w.metric AND s.bucket >= w.start AND s.bucket < w.stop
        WHERE s.bucket >= ?::TIMESTAMPTZ
        GROUP BY ALL ORDER BY key
    """, params=[*params, min(r[1] for r in reads)]).to_arrow_table()


def source_first_last(cur: duckdb.DuckDBPyConnection, metric: str, start, end) -> pa.Table:
    """Return, per source, the mean of its first and last minute of `metric` in [start, end)."""
    return cur.sql("""
        SELECT source_id AS key, arg_min(sum / n, bucket) AS first_mean,
               arg_max(sum / n, bucket) AS last_mean, count(*) AS buckets,
               arg_max(cell, bucket) AS cell
        FROM source_stats WHERE metric = ? AND bucket >= ? AND bucket < ?
        GROUP BY source_id HAVING count(*) > 1 ORDER BY key
    """, params=[metric, start, end]).to_arrow_table()


# Least-squares line through (hours from `at` to each bucket's middle, bucket mean) per key;
# the intercept is then the fitted value at `at`. {key}, {source}, {where} are filled in.
_TREND_SQL: Final = """
    WITH b AS (
        SELECT {key} AS key, {bucket} AS bucket, {mean} AS mean, {cell} AS cell
        FROM {source} WHERE {where} GROUP BY ALL),
    x AS (SELECT *, (epoch(bucket) + 30 - epoch(?::TIMESTAMPTZ)) / 3600.0 AS h FROM b)
    SELECT key, count(*)::BIGINT AS buckets, regr_slope(mean, h) AS slope_per_h,
           -- the slope's standard error: residual variance over the spread of the hours
           CASE WHEN count(*) > 2 AND regr_sxx(mean, h) > 0 THEN sqrt(greatest(
               regr_syy(mean, h) - regr_sxy(mean, h) ^ 2 / regr_sxx(mean, h), 0)
               / (count(*) - 2) / regr_sxx(mean, h)) END AS slope_se,
           regr_intercept(mean, h) AS fit_now, arg_max(mean, bucket) AS last_mean,
           arg_max(cell, bucket) AS cell
    FROM x GROUP BY key ORDER BY key
"""


def window_trend(cur: duckdb.DuckDBPyConnection, metric: str, start, end, at,
                 level: str | int = 10) -> pa.Table:
    """Return, per key, the least-squares trend of `metric`'s minute-bucket means in
    [start, end): buckets (with data), slope_per_h (unit per hour) and its standard error
    slope_se (NULL below three buckets), fit_now (the line's value at `at`), last_mean and
    cell; keys as in `window_stats` (H3 level or region)."""
    if isinstance(level, int):
        if not 7 <= level <= 10:
            raise ValueError(f"H3 resolution must be 7-10, got {level}")
        key = "CAST(" + (_PARENT_SQL.format(res=level) if level < 10 else "cell") + " AS VARCHAR)"
        source = "cell_stats"
    elif level in REGION_LEVELS:
        key, source = level, "cell_stats JOIN region_cells USING (cell)"
    else:
        raise ValueError(f"unknown level {level!r}")
    sql = _TREND_SQL.format(
        key=key, bucket="bucket", mean="sum(sum) / sum(n)", cell="any_value(cell)",
        source=source, where=f"metric = ? AND bucket >= ? AND bucket < ? AND {key} IS NOT NULL")
    return cur.sql(sql, params=[metric, start, end, at]).to_arrow_table()


def source_trend(cur: duckdb.DuckDBPyConnection, metric: str, start, end, at) -> pa.Table:
    """Return `window_trend`'s columns per source (device) from its minute statistics."""
    sql = _TREND_SQL.format(
        key="source_id", bucket="bucket", mean="sum(sum) / sum(n)",
        cell="arg_max(cell, last_ts)", source="source_stats",
        where="metric = ? AND bucket >= ? AND bucket < ?")
    return cur.sql(sql, params=[metric, start, end, at]).to_arrow_table()


def evidence_since(cur: duckdb.DuckDBPyConnection, column: str, metric: str | None,
                   start, end, limit: int) -> dict[str, datetime]:
    """Return, per alert of the registered table `evidence_places` (alert_id, place,
    category), the minute bucket from which its places' minute statistics hold `limit`
    readings up to `end` (its first bucket with data if they hold fewer in [start, end)).

    An alert's evidence is its latest `limit` readings, so it needs the raw events
    from there on only: a minute or two of a busy sensor instead of an hour-long
    window's scan (43 ms after an hour at 1,000 events/s). `column` is the events
    column the places are values of (`cell`, `cell_r7`-`cell_r9` or `source_id`, a
    device's); `metric` None takes each place's category (incident:* clusters).
    Alerts whose places have no readings are left out.
    """
    if column == "source_id":
        stats, key = "source_stats s", "s.source_id"
    else:
        res = 10 if column == "cell" else int(column.removeprefix("cell_r"))
        stats, key = "cell_stats s", "s.cell" if res == 10 else _PARENT_SQL.format(res=res)
    wanted = "'incident:' || p.category" if metric is None else "?"
    rows = cur.execute(f"""
        WITH b AS (
            SELECT p.alert_id, s.bucket, sum(s.n) AS n
            FROM evidence_places p JOIN {stats} ON {key} = p.place
            WHERE s.metric = {wanted} AND s.bucket >= ? AND s.bucket < ? GROUP BY ALL),
        c AS (SELECT alert_id, bucket,
                     sum(n) OVER (PARTITION BY alert_id ORDER BY bucket DESC) AS upto FROM b)
        SELECT alert_id, epoch_us(coalesce(max(bucket) FILTER (WHERE upto >= ?), min(bucket)))
        FROM c GROUP BY alert_id
    """, [*([] if metric is None else [metric]), start, end, limit]).fetchall()
    return {alert_id: from_epoch_us(us) for alert_id, us in rows}
