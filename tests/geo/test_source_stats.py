"""source_stats, the per-device minutes, give what the raw readings give, late ones too."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pytest

from onegrid.geo import store as gstore
from onegrid.geo import windows
from onegrid.geo.store import Store
from tests.event_tables import event_table

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SOURCES = [f"s{i}" for i in range(8)]

# The per-device reads as they were over the raw readings: what source_stats must equal.
RAW_STATS = """
    SELECT source_id, count(*), sum(value), min(value), max(value), arg_max(cell, ts)
    FROM events WHERE metric = ? AND ts >= ? AND ts < ? AND source_id IS NOT NULL
    GROUP BY ALL ORDER BY 1
"""
RAW_FIRST_LAST = """
    WITH b AS (SELECT source_id, date_trunc('minute', ts) AS bucket, avg(value) AS mean
               FROM events WHERE metric = ? AND ts >= ? AND ts < ? GROUP BY ALL)
    SELECT source_id, arg_min(mean, bucket), arg_max(mean, bucket), count(*)
    FROM b GROUP BY 1 HAVING count(*) > 1 ORDER BY 1
"""


def readings(rng: np.random.Generator, n: int, first: int, around_s: float) -> pa.Table:
    """n readings of random devices, two metrics, from 3 minutes before `around_s` (late)
    to 1 minute after; a device moves cell now and then (a re-sited sensor)."""
    source = rng.integers(0, len(SOURCES), n)
    offset_ms = (around_s + rng.uniform(-180, 60, n)) * 1000
    return event_table(**{
        "id": [f"r{first + i}" for i in range(n)], "topic": ["sensor"] * n,
        "ts": pa.array([T0 + timedelta(milliseconds=int(o)) for o in offset_ms],
                       pa.timestamp("ms", tz="UTC")),
        "cell": pa.array(source * 10 + rng.integers(0, 2, n), pa.uint64()),
        "source_id": [SOURCES[s] for s in source],
        "metric": rng.choice(["water_level_m", "noise_db"], n).tolist(),
        "value": rng.normal(3, 1, n),
    })


def write_history(store: Store, steps: int = 30, seed: int = 4) -> None:
    rng, first = np.random.default_rng(seed), 0
    for step in range(steps):
        batch = readings(rng, int(rng.integers(1, 40)), first, around_s=step * 20)
        first += batch.num_rows
        store.write(lambda cur, b=batch: gstore.insert_events(cur, b))


def assert_reads_equal_raw(cur, metric: str, start, end) -> None:
    got = windows.source_window_stats(cur, metric, start, end).to_pylist()
    want = cur.execute(RAW_STATS, [metric, start, end]).fetchall()
    assert [(r["key"], r["n"], r["min"], r["max"], r["cell"]) for r in got] == \
        [(k, n, lo, hi, cell) for k, n, _, lo, hi, cell in want]
    assert [r["sum"] for r in got] == pytest.approx([w[2] for w in want], rel=1e-12)
    got = windows.source_first_last(cur, metric, start, end).to_pylist()
    want = cur.execute(RAW_FIRST_LAST, [metric, start, end]).fetchall()
    assert [(r["key"], r["buckets"]) for r in got] == [(w[0], w[3]) for w in want]
    assert [(r["first_mean"], r["last_mean"]) for r in got] == \
        [pytest.approx((w[1], w[2]), rel=1e-12) for w in want]


def test_device_minutes_equal_the_raw_readings_over_every_window(store):
    write_history(store)
    cur = store.cursor()
    checked = 0
    for minutes in (1, 5, 10):
        for end_min in range(1, 12):
            end = T0 + timedelta(minutes=end_min)
            for metric in ("water_level_m", "noise_db"):
                assert_reads_equal_raw(cur, metric, end - timedelta(minutes=minutes), end)
                checked += 1
    assert checked == 66
    assert store.scalar("SELECT count(*) FROM source_stats") > len(SOURCES) * 2


def test_many_windows_in_one_read_equal_each_alone(store):
    write_history(store)
    cur = store.cursor()
    reads = [("noise_db", T0, T0 + timedelta(minutes=5)),
             ("water_level_m", T0 + timedelta(minutes=2), T0 + timedelta(minutes=9))]
    many = windows.many_source_window_stats(cur, reads).to_pylist()
    for i, read in enumerate(reads):
        alone = windows.source_window_stats(cur, *read).to_pylist()
        assert [{k: v for k, v in r.items() if k != "window"} for r in many
                if r["window"] == i] == alone
        assert alone


def test_an_older_file_gains_source_stats_from_its_history(tmp_path):
    path = tmp_path / "old.duckdb"
    with Store(path) as store:
        write_history(store)
        before = store.query("SELECT * FROM source_stats ORDER BY ALL").to_pylist()
        store.cursor().execute("DROP TABLE source_stats")  # as a file from before the table
    with Store(path) as store:
        after = store.query("SELECT * FROM source_stats ORDER BY ALL").to_pylist()
        assert [{k: v for k, v in r.items() if k != "sum"} for r in after] == \
            [{k: v for k, v in r.items() if k != "sum"} for r in before]
        assert [r["sum"] for r in after] == pytest.approx([r["sum"] for r in before])
        assert len(after) > 20
