"""source_seen, the no-data rules' table, equals a scan of all history at every fold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa

from onegrid.geo import store as gstore
from onegrid.geo import windows
from tests.event_tables import event_table

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SOURCES = [f"s{i}" for i in range(12)]

# What fold_last_seen must equal: the latest event at or before the clock, from all events.
SCAN = """
    SELECT source_id, max(ts) AS last_ts, arg_max(cell, ts) AS cell FROM events
    WHERE topic = 'sensor' AND ts <= ? AND source_id IS NOT NULL GROUP BY source_id
"""


def batch(rng: np.random.Generator, n: int, first: int, around_s: float) -> pa.Table:
    """n sensor readings of random sources, timed from 3 minutes before `around_s` (late
    ones) to 1 minute after it (ahead of the clock); each source has its own cell."""
    source = rng.integers(0, len(SOURCES), n)
    offset_ms = (around_s + rng.uniform(-180, 60, n)) * 1000
    return event_table(**{
        "id": [f"e{first + i}" for i in range(n)], "topic": ["sensor"] * n,
        "ts": pa.array([T0 + timedelta(milliseconds=int(o)) for o in offset_ms],
                       pa.timestamp("ms", tz="UTC")),
        "cell": pa.array(source + 100, pa.uint64()),
        "source_id": [SOURCES[s] for s in source], "metric": ["noise_db"] * n,
        "value": rng.normal(50, 5, n),
    })


def folded(cur) -> dict:
    seen = windows.last_seen(cur, "sensor", "noise_db")
    return {r["source_id"]: (r["last_ts"], r["cell"]) for r in seen.to_pylist()}


def scanned(cur, at) -> dict:
    return {r[0]: (r[1], r[2]) for r in cur.execute(SCAN, [at]).fetchall()}


def test_folds_equal_a_full_scan_with_late_and_early_events_and_a_restart(store_factory):
    rng = np.random.default_rng(5)
    store, first, checked = store_factory("seen.duckdb"), 0, 0
    for step in range(40):
        if step == 20:  # a restart: the fold carries on from what the file says
            store.close()
            store = store_factory("seen.duckdb")
        events = batch(rng, int(rng.integers(1, 30)), first, around_s=step * 20)
        first += events.num_rows
        at = T0 + timedelta(seconds=step * 20)
        decide = step % 3 != 1  # some batches are stored with no decision after them

        def write(cur, events=events, at=at, decide=decide):
            gstore.insert_events(cur, events)
            if not decide:
                return None
            gstore.fold_last_seen(cur, at)
            return folded(cur), scanned(cur, at)

        result = store.write(write)
        if result is not None:
            got, want = result
            assert got == want, f"step {step}"
            checked += 1
    assert checked == 27 and len(want) == len(SOURCES)


def test_a_store_with_history_but_no_fold_reads_all_of_it_once(store):
    old = batch(np.random.default_rng(1), 50, 0, around_s=0)
    store.write(lambda cur: gstore.insert_events(cur, old))
    at = T0 + timedelta(minutes=1)
    got, want = store.write(lambda cur: (gstore.fold_last_seen(cur, at), folded(cur),
                                         scanned(cur, at))[1:])
    assert got == want and len(got) > 5
