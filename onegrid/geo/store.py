"""The DuckDB grid store: schema, reads, and the one write path.

One process owns one DuckDB file (DuckDB allows no second process on a file
open for writing). Writers go through `Store.write(fn, offsets)`, which runs
`fn(conn)` and records the batch's Kafka offsets in the same transaction: that
is what makes ingest exactly-once. Readers (the dashboard, on other threads)
take a cursor per thread. Batches arrive as Arrow tables, never row by row.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, TypeVar

import duckdb
import pyarrow as pa

from onegrid.geo.arrow_sql import from_epoch_us, registered, upsert
from onegrid.geo.case_store import CASE_DDL
from onegrid.geo.stored_ids import StoredIds

T = TypeVar("T")

SCHEMA_VERSION: Final = 1

# Rows per row group for what this node writes (DuckDB's default is 122,880).
# Every checkpoint starts a new row group for the live commits since the last
# one, and a later checkpoint merges those small groups into one full group:
# that merge rewrote ~120k events inside a live write, 0.9 s in process and
# 2 s with a broker beside it, the alert latency's whole p99 tail. With 16,384
# no merge rewrites more than that. Zone maps get finer too (the time windows
# the rules read skip more).
ROW_GROUP_SIZE: Final = 16_384
_CATALOG: Final = "store"  # the file's name inside the connection (see Store.cursor)

# events.id is unique, but not by a PRIMARY KEY: the one write path drops ids
# already stored (Store.ids, stored_ids.py) or repeated in the batch, under the write lock,
# and an ART index on the id made inserts 1.3-1.8x slower as the table grew
# (measured with bench/ingest.py's mix at 600k rows).
_DDL: Final = """
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE TABLE IF NOT EXISTS events (
    id VARCHAR NOT NULL, topic VARCHAR NOT NULL, ts TIMESTAMPTZ NOT NULL,
    lat DOUBLE, lng DOUBLE, located_by VARCHAR,
    cell UBIGINT, cell_r9 UBIGINT, cell_r8 UBIGINT, cell_r7 UBIGINT,
    grid_id VARCHAR, community_id VARCHAR, street_id VARCHAR, district_id VARCHAR,
    source_id VARCHAR, metric VARCHAR, value DOUBLE, unit VARCHAR,
    pm25 DOUBLE, pm10 DOUBLE, no2 DOUBLE, so2 DOUBLE, o3 DOUBLE, co DOUBLE,
    wind_dir_deg DOUBLE, wind_speed_ms DOUBLE,
    category VARCHAR, source VARCHAR, severity TINYINT, description VARCHAR, address VARCHAR,
    reporter_name VARCHAR, reporter_phone VARCHAR,
    kafka_partition INTEGER, kafka_offset BIGINT, ingested_at TIMESTAMPTZ,
    late BOOLEAN, photo_url VARCHAR
);
CREATE TABLE IF NOT EXISTS watermarks (
    topic VARCHAR NOT NULL, "partition" INTEGER NOT NULL, max_ts TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (topic, "partition")
);
CREATE TABLE IF NOT EXISTS dead_letters (
    topic VARCHAR NOT NULL, "partition" INTEGER NOT NULL, "offset" BIGINT NOT NULL,
    key BLOB, error_code VARCHAR NOT NULL, reason VARCHAR NOT NULL, payload BLOB,
    received_at TIMESTAMPTZ, replayed_at TIMESTAMPTZ
);
CREATE TABLE IF NOT EXISTS cell_stats (
    cell UBIGINT NOT NULL, metric VARCHAR NOT NULL, bucket TIMESTAMPTZ NOT NULL,
    n BIGINT NOT NULL, sum DOUBLE NOT NULL, min DOUBLE NOT NULL, max DOUBLE NOT NULL,
    PRIMARY KEY (cell, metric, bucket)
);
CREATE TABLE IF NOT EXISTS consumer_offsets (
    topic VARCHAR NOT NULL, "partition" INTEGER NOT NULL, "offset" BIGINT NOT NULL,
    updated_at TIMESTAMPTZ, PRIMARY KEY (topic, "partition")
);
CREATE TABLE IF NOT EXISTS rule_clock (
    ingested_at TIMESTAMPTZ PRIMARY KEY, clock TIMESTAMPTZ NOT NULL
);
CREATE TABLE IF NOT EXISTS alerts (
    alert_id VARCHAR PRIMARY KEY, rule_id VARCHAR NOT NULL, rule_version VARCHAR NOT NULL,
    key VARCHAR NOT NULL, state VARCHAR NOT NULL, level VARCHAR, severity TINYINT,
    cell UBIGINT, grid_id VARCHAR, value DOUBLE, threshold DOUBLE,
    started_at TIMESTAMPTZ NOT NULL, updated_at TIMESTAMPTZ NOT NULL, since TIMESTAMPTZ,
    evidence VARCHAR[], evidence_values DOUBLE[], silenced BOOLEAN
);
CREATE TABLE IF NOT EXISTS alert_transitions (
    alert_id VARCHAR NOT NULL, rule_id VARCHAR NOT NULL, rule_version VARCHAR NOT NULL,
    key VARCHAR NOT NULL, previous VARCHAR, state VARCHAR NOT NULL, level VARCHAR,
    severity TINYINT, cell UBIGINT, grid_id VARCHAR, value DOUBLE, threshold DOUBLE,
    "at" TIMESTAMPTZ NOT NULL, evidence VARCHAR[], evidence_values DOUBLE[], silenced BOOLEAN,
    reason VARCHAR,
    recorded_at TIMESTAMPTZ
);
-- Exceedance episodes (alerts.episodes), kept current by the engine hour by hour; the
-- columns after updated_at are what a restart resumes from and what onegrid.shared carries.
CREATE TABLE IF NOT EXISTS episodes (
    episode_id VARCHAR PRIMARY KEY, scope VARCHAR, key VARCHAR, cell UBIGINT, grid_id VARCHAR,
    district_id VARCHAR, pollutant VARCHAR, start_at TIMESTAMPTZ, peak_at TIMESTAMPTZ,
    peak_aqi DOUBLE, peak_value DOUBLE, end_at TIMESTAMPTZ, hours INTEGER,
    wind_dir_deg DOUBLE, wind_speed_ms DOUBLE, near_edge BOOLEAN, shared_at TIMESTAMPTZ,
    updated_at TIMESTAMPTZ,
    primary_pollutants VARCHAR[], lat DOUBLE, lng DOUBLE, edge_distance_km DOUBLE,
    last_exceed_at TIMESTAMPTZ, clean_hours INTEGER,
    pm25 DOUBLE, pm10 DOUBLE, so2 DOUBLE, no2 DOUBLE, o3 DOUBLE, co DOUBLE
);
-- Per device (sensor or station) and minute, kept like cell_stats: what per-device rules
-- read (not the raw readings, which an hour of history makes 70 ms a decision). last_ts
-- and cell are the minute's latest reading's.
CREATE TABLE IF NOT EXISTS source_stats (
    source_id VARCHAR NOT NULL, metric VARCHAR NOT NULL, bucket TIMESTAMPTZ NOT NULL,
    n BIGINT NOT NULL, sum DOUBLE NOT NULL, min DOUBLE NOT NULL, max DOUBLE NOT NULL,
    last_ts TIMESTAMPTZ NOT NULL, cell UBIGINT,
    PRIMARY KEY (source_id, metric, bucket)
);
-- When each source last spoke at or before the rule clock (no-data rules), kept by
-- fold_last_seen at every decision; metric '' for topics whose events carry none.
CREATE TABLE IF NOT EXISTS source_seen (
    topic VARCHAR NOT NULL, source_id VARCHAR NOT NULL, metric VARCHAR NOT NULL,
    last_ts TIMESTAMPTZ NOT NULL, cell UBIGINT, grid_id VARCHAR,
    PRIMARY KEY (topic, source_id, metric)
);
-- The one fold source_seen holds: its transaction's ingested_at and the clock it was at.
CREATE TABLE IF NOT EXISTS source_seen_fold (
    one BOOLEAN PRIMARY KEY, ingested_at TIMESTAMPTZ NOT NULL, clock TIMESTAMPTZ NOT NULL
);
CREATE SEQUENCE IF NOT EXISTS outbox_seq;
CREATE TABLE IF NOT EXISTS outbox (
    seq BIGINT PRIMARY KEY DEFAULT nextval('outbox_seq'), topic VARCHAR NOT NULL,
    key BLOB, value BLOB, headers VARCHAR, created_at TIMESTAMPTZ DEFAULT now()
);
"""

# Columns added to a table after files were first made with it. CREATE TABLE IF NOT
# EXISTS leaves an older file's table as it was, so each one is added here when the
# file is next opened for writing; appended last, so the table then has the column
# order of a new file's. Only ever add lines (the contract only grows).
_UPGRADES: Final = """
ALTER TABLE events ADD COLUMN IF NOT EXISTS photo_url VARCHAR;
"""

# Each measurement a device reading carries, one row ({keys}, metric, ts, v): a sensor's
# value, and each pollutant a station measured. {keys} are the columns the statistics
# are kept by; {events} is the batch, or the whole events table when an older file
# first gains source_stats.
_READINGS_SQL: Final = """
    SELECT {keys}, metric, ts, value AS v FROM {events} WHERE topic = 'sensor'
    UNION ALL
    SELECT {keys}, metric, ts, v FROM (
        UNPIVOT (SELECT {keys}, ts, pm25, pm10, no2, so2, o3, co FROM {events}
                 WHERE topic = 'environment')
        ON pm25, pm10, no2, so2, o3, co INTO NAME metric VALUE v)
"""

# Per cell and minute, each reading's (metric, value); incidents count per category,
# their value the severity.
_STATS_SQL: Final = f"""
INSERT INTO cell_stats
SELECT cell, metric, date_trunc('minute', ts) AS bucket, count(*), sum(v), min(v), max(v)
FROM (
    {_READINGS_SQL.format(keys="cell", events="batch")}
    UNION ALL
    SELECT cell, 'incident:' || category, ts, severity::DOUBLE
      FROM batch WHERE topic = 'incident'
) GROUP BY cell, metric, bucket
ON CONFLICT DO UPDATE SET
    n = cell_stats.n + excluded.n, sum = cell_stats.sum + excluded.sum,
    min = least(cell_stats.min, excluded.min), max = greatest(cell_stats.max, excluded.max)
"""

# Per device and minute; last_ts and cell follow the minute's latest reading.
_SOURCE_STATS_SQL: Final = f"""
INSERT INTO source_stats
SELECT source_id, metric, date_trunc('minute', ts), count(*), sum(v), min(v), max(v), max(ts),
       arg_max(cell, ts)
FROM ({_READINGS_SQL.format(keys="source_id, cell", events="{events}")})
WHERE source_id IS NOT NULL
GROUP BY source_id, metric, date_trunc('minute', ts)
ON CONFLICT DO UPDATE SET
    n = source_stats.n + excluded.n, sum = source_stats.sum + excluded.sum,
    min = least(source_stats.min, excluded.min), max = greatest(source_stats.max, excluded.max),
    cell = CASE WHEN excluded.last_ts >= source_stats.last_ts THEN excluded.cell
                ELSE source_stats.cell END,
    last_ts = greatest(source_stats.last_ts, excluded.last_ts)
"""


class Store:
    """A DuckDB file with the OneGrid schema; one per node process."""

    def __init__(self, path: str | Path, read_only: bool = False, threads: int | None = None):
        self.path = Path(path)
        self.read_only = read_only
        if not read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        config = {"threads": threads} if threads else {}
        # The file is attached, not opened, because only ATTACH takes a row group size.
        self._conn = duckdb.connect(":memory:", config=config)
        options = "READ_ONLY" if read_only else f"ROW_GROUP_SIZE {ROW_GROUP_SIZE}"
        quoted = str(self.path).replace("'", "''")
        self._conn.execute(f"ATTACH '{quoted}' AS {_CATALOG} ({options})")
        self._conn.execute(f"USE {_CATALOG}")
        self._threads_default = self._threads = int(
            self._conn.execute("SELECT current_setting('threads')").fetchall()[0][0])
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self.ids = StoredIds()  # the writer's duplicate check, used inside write()
        if not read_only:
            had_source_stats = self.has_table("source_stats")
            self._conn.execute(_DDL)
            self._conn.execute(_UPGRADES)
            if not had_source_stats:  # an older file: its history, once
                self._conn.execute(_SOURCE_STATS_SQL.format(events="events"))
            self._conn.execute(CASE_DDL)
            self._conn.execute(
                "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])

    def close(self) -> None:
        """Close the file; cursors of other threads become unusable."""
        self._conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def set_threads(self, threads: int | None) -> None:
        """Run what follows on `threads` DuckDB worker threads (None: the number the store
        was opened with). The setting is the whole file's, readers' queries included."""
        threads = threads or self._threads_default
        if threads != self._threads:
            self.cursor().execute(f"SET threads = {int(threads)}")
            self._threads = threads

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """Return this thread's cursor (DuckDB connections are not shared across threads)."""
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self._local.cursor = self._conn.cursor()
            cur.execute(f"USE {_CATALOG}")  # a new cursor starts in the empty :memory: one
        return cur

    def query(self, sql: str, params: list | None = None) -> pa.Table:
        """Run a read query on this thread's cursor and return an Arrow table."""
        return self.cursor().sql(sql, params=params or None).to_arrow_table()

    def scalar(self, sql: str, params: list | None = None) -> Any:
        """Run a query and return the first column of its first row (or None)."""
        # fetchall: DuckDB 2.0 keeps a cursor busy until its result is drained.
        rows = self.cursor().execute(sql, params or []).fetchall()
        return rows[0][0] if rows else None

    def has_table(self, name: str) -> bool:
        """Return whether the file holds table `name` (an older file may lack newer ones)."""
        return bool(self.scalar("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?",
                                [name]))

    def offsets(self) -> dict[tuple[str, int], int]:
        """Return the stored next offset to read for each (topic, partition)."""
        rows = self.cursor().execute(
            'SELECT topic, "partition", "offset" FROM consumer_offsets').fetchall()
        return {(t, p): o for t, p, o in rows}

    def write(self, fn: Callable[[duckdb.DuckDBPyConnection], T],
              offsets: Mapping[tuple[str, int], int] | None = None) -> T:
        """Run `fn(conn)` and store `offsets` in one transaction; return fn's result.

        `offsets` maps (topic, partition) to the next offset to read. Nothing of
        the batch is visible, and the offsets do not move, unless all of it commits.
        """
        with self._write_lock:
            cur = self.cursor()
            cur.execute("BEGIN TRANSACTION")
            try:
                result = fn(cur)
                if offsets:
                    _save_offsets(cur, offsets)
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                self.ids.forget()  # it may hold ids of the rows just rolled back
                raise
            return result


def _save_offsets(cur: duckdb.DuckDBPyConnection, offsets: Mapping[tuple[str, int], int]) -> None:
    table = pa.table({
        "topic": [t for t, _ in offsets], "partition": [p for _, p in offsets],
        "offset": list(offsets.values()),
    })
    with registered(cur, "batch_offsets", table):
        cur.execute("""
            MERGE INTO consumer_offsets c USING batch_offsets b
            ON c.topic = b.topic AND c."partition" = b."partition"
            WHEN MATCHED THEN UPDATE SET "offset" = b."offset", updated_at = now()
            WHEN NOT MATCHED THEN INSERT VALUES (b.topic, b."partition", b."offset", now())
        """)


ALLOWED_LATENESS_S: Final = 120


def event_clock(cur: duckdb.DuckDBPyConnection,
                expected: Iterable[tuple[str, int]] | None = None) -> datetime | None:
    """Return the event-time clock: the smallest per-partition watermark (None at start).

    Input partitions are read at different speeds (the embedded broker serves a
    lagging consumer one whole partition at a time), so only the slowest
    partition's latest event time is safe to decide on, as in Flink. With
    `expected` (topic suffix, partition) pairs, the clock is None until every
    one of them has reported, so a partition not yet read cannot be overtaken.
    """
    rows = cur.execute('SELECT topic, "partition", epoch_ms(max_ts) FROM watermarks').fetchall()
    marks = {(t, p): ms for t, p, ms in rows}
    if expected is not None:
        expected = set(expected)
        if not expected or any(k not in marks for k in expected):
            return None
        marks = {k: v for k, v in marks.items() if k in expected}
    # Epoch ms, not the TIMESTAMPTZ itself: DuckDB hands those to Python via pytz.
    return datetime.fromtimestamp(min(marks.values()) / 1000, UTC) if marks else None


def record_clock(cur: duckdb.DuckDBPyConnection, at: datetime) -> None:
    """Record the clock this transaction decided at (the back-test replays it)."""
    cur.execute("INSERT INTO rule_clock VALUES (now(), ?)", [at])


_SEEN_COLUMNS: Final = "topic, source_id, metric, ts, cell, grid_id"


def fold_last_seen(cur: duckdb.DuckDBPyConnection, at: datetime) -> None:
    """Bring `source_seen` up to clock `at`: per (topic, source, metric), the latest event
    time at or before `at`, with that event's cell and grid.

    What the last fold left out is exactly the events after its clock (ahead of
    it then) and the events stored since (late ones included), so two narrow
    scans (ts and ingested_at both follow the file's order, and zone maps skip
    the rest) replace a scan of all history per decision, which took 290 ms at
    10 million events. The first fold on a file reads everything once.
    """
    done = cur.execute("SELECT epoch_us(ingested_at), epoch_us(clock) FROM source_seen_fold"
                       ).fetchall()
    if done:
        ingested, clock = map(from_epoch_us, done[0])
        fresh = (f"SELECT {_SEEN_COLUMNS} FROM events WHERE ts > ? AND ts <= ? UNION ALL "
                 f"SELECT {_SEEN_COLUMNS} FROM events WHERE ingested_at > ? AND ts <= ?")
        params = [clock, at, ingested, at]
    else:
        fresh, params = f"SELECT {_SEEN_COLUMNS} FROM events WHERE ts <= ?", [at]
    # An event in both scans counts twice, which max and arg_max do not mind. MERGE,
    # not INSERT ... ON CONFLICT: 3.9 against 6.5 ms a fold.
    cur.execute(f"""
        MERGE INTO source_seen s USING (
            SELECT topic, source_id, coalesce(metric, '') AS metric, max(ts) AS last_ts,
                   arg_max(cell, ts) AS cell, arg_max(grid_id, ts) AS grid_id
            FROM ({fresh}) WHERE source_id IS NOT NULL GROUP BY ALL) f
        ON s.topic = f.topic AND s.source_id = f.source_id AND s.metric = f.metric
        WHEN MATCHED AND f.last_ts > s.last_ts THEN
            UPDATE SET last_ts = f.last_ts, cell = f.cell, grid_id = f.grid_id
        WHEN NOT MATCHED THEN INSERT VALUES (f.topic, f.source_id, f.metric, f.last_ts, f.cell,
                                             f.grid_id)
    """, params)
    cur.execute("UPDATE source_seen_fold SET ingested_at = now(), clock = ?" if done else
                "INSERT INTO source_seen_fold VALUES (true, now(), ?)", [at])


def incident_cells_since_last_decision(cur: duckdb.DuckDBPyConnection) -> pa.Array:
    """Return the cells of incident reports stored since the last recorded decision
    before this transaction (late ones included; all of them before any decision)."""
    rows = cur.execute("SELECT epoch_us(max(ingested_at)) FROM rule_clock "
                       "WHERE ingested_at < now()").fetchall()
    since = from_epoch_us(rows[0][0] or 0)
    return cur.sql("SELECT DISTINCT cell FROM events WHERE ingested_at > ? "
                   "AND topic = 'incident' AND cell IS NOT NULL",
                   params=[since]).to_arrow_table().column("cell")


def recorded_clocks(cur: duckdb.DuckDBPyConnection) -> dict:
    """Return ingested_at -> the clock rules were decided at in that transaction."""
    return dict(cur.execute("SELECT epoch_us(ingested_at), epoch_ms(clock) FROM rule_clock"
                            ).fetchall())


def insert_events(cur: duckdb.DuckDBPyConnection, batch: pa.Table,
                  lateness_s: int = ALLOWED_LATENESS_S) -> int:
    """Insert mapped events (the events columns, by name), fold them into cell_stats and
    source_stats and advance the per-partition watermarks.

    An event older than the clock before this batch minus `lateness_s` is
    stored with `late = true`: it still counts in the minute statistics (an upsert of
    its minute), but decisions already taken on that minute stand.
    """
    if batch.num_rows == 0:
        return 0
    names = ", ".join(f'"{n}"' for n in batch.column_names)
    with registered(cur, "batch", batch):
        cur.execute(f"""
            INSERT INTO events ({names}, ingested_at, late)
            SELECT *, now(), coalesce(ts < (SELECT min(max_ts) FROM watermarks)
                                      - to_seconds(?::BIGINT), false)
            FROM batch""", [lateness_s])
        cur.execute(_STATS_SQL)
        if "source_id" in batch.column_names:  # (test batches may carry no devices)
            cur.execute(_SOURCE_STATS_SQL.format(events="batch"))
        if "kafka_partition" in batch.column_names:
            cur.execute("""
                MERGE INTO watermarks w USING (
                    SELECT topic, kafka_partition AS "partition", max(ts) AS max_ts FROM batch
                    WHERE kafka_partition IS NOT NULL GROUP BY ALL) b
                ON w.topic = b.topic AND w."partition" = b."partition"
                WHEN MATCHED AND b.max_ts > w.max_ts THEN UPDATE SET max_ts = b.max_ts
                WHEN NOT MATCHED THEN INSERT VALUES (b.topic, b."partition", b.max_ts)
            """)
    return batch.num_rows


def insert_dead_letters(cur: duckdb.DuckDBPyConnection, letters: pa.Table) -> int:
    """Insert rejected messages (columns of `dead_letters`, by name)."""
    if letters.num_rows == 0:
        return 0
    names = ", ".join(f'"{n}"' for n in letters.column_names)
    with registered(cur, "letters", letters):
        cur.execute(f"INSERT INTO dead_letters ({names}, received_at) SELECT *, now() FROM letters")
    return letters.num_rows


def enqueue(cur: duckdb.DuckDBPyConnection, messages: pa.Table) -> None:
    """Add messages (topic, key, value, headers) to the outbox, published after commit."""
    if messages.num_rows == 0:
        return
    with registered(cur, "outgoing", messages):
        cur.execute("INSERT INTO outbox (topic, key, value, headers) "
                    "SELECT topic, key, value, headers FROM outgoing")


def pending_outbox(cur: duckdb.DuckDBPyConnection, limit: int = 10_000,
                   after: int | None = None) -> list[tuple]:
    """Return up to `limit` unpublished outbox rows (seq, topic, key, value, headers),
    only those past seq `after` when given (rows sent but not yet marked published)."""
    return cur.execute("SELECT seq, topic, key, value, headers FROM outbox "
                       "WHERE seq > coalesce(?, -1) ORDER BY seq LIMIT ?",
                       [after, limit]).fetchall()


def mark_published(cur: duckdb.DuckDBPyConnection, up_to_seq: int) -> None:
    """Drop outbox rows up to and including `up_to_seq` once the broker has them."""
    cur.execute("DELETE FROM outbox WHERE seq <= ?", [up_to_seq])


def upsert_alerts(cur: duckdb.DuckDBPyConnection, rows: pa.Table) -> None:
    """Write the latest state of each alert in `rows` (columns of `alerts`, by name)."""
    upsert(cur, "alerts", rows, keys=("alert_id",))


def insert_alert_transitions(cur: duckdb.DuckDBPyConnection, rows: pa.Table) -> None:
    """Append alert changes (columns of `alert_transitions`, by name) to the history."""
    if rows.num_rows == 0:
        return
    names = ", ".join(f'"{n}"' for n in rows.column_names)
    with registered(cur, "transition_rows", rows):
        cur.execute(f"INSERT INTO alert_transitions ({names}, recorded_at) "
                    "SELECT *, now() FROM transition_rows")


def live_alert_rows(cur: duckdb.DuckDBPyConnection) -> list[dict]:
    """Return the `alerts` rows still pending or firing (what a restart resumes)."""
    return cur.sql("SELECT * FROM alerts WHERE state <> 'resolved' ORDER BY alert_id"
                   ).to_arrow_table().to_pylist()
