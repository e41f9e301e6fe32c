"""The store: one write path, offsets in the same transaction, upserted statistics."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa
import pytest

from onegrid.geo import store as gstore
from onegrid.geo.stored_ids import existing_ids
from tests.event_tables import event_table


def stats_batch(values: list[float], minute: int = 0) -> pa.Table:
    ts = datetime(2026, 6, 1, 12, minute, tzinfo=UTC)
    n = len(values)
    return event_table(**{
        "id": [f"e{minute}-{i}" for i in range(n)], "topic": ["sensor"] * n,
        "ts": pa.array([ts] * n, pa.timestamp("ms", tz="UTC")),
        "cell": pa.array([1] * n, pa.uint64()), "metric": ["noise_db"] * n, "value": values,
    })


def test_a_failed_write_stores_neither_rows_nor_offsets(store):
    def boom(cur):
        gstore.insert_events(cur, stats_batch([1.0]))
        raise RuntimeError("crash mid-batch")

    with pytest.raises(RuntimeError):
        store.write(boom, {("t", 0): 10})
    assert store.scalar("SELECT count(*) FROM events") == 0
    assert store.offsets() == {}


def test_offsets_move_with_the_batch(store):
    store.write(lambda cur: gstore.insert_events(cur, stats_batch([1.0])), {("t", 0): 5})
    store.write(lambda cur: None, {("t", 0): 9, ("t", 1): 2})
    assert store.offsets() == {("t", 0): 9, ("t", 1): 2}


def test_late_events_upsert_their_minute_bucket_exactly(store):
    store.write(lambda cur: gstore.insert_events(cur, stats_batch([1.0, 5.0], minute=3)))
    later = stats_batch([3.0, 9.0], minute=3).set_column(
        0, "id", pa.array(["late-1", "late-2"]))
    store.write(lambda cur: gstore.insert_events(cur, later))
    row = store.query("SELECT n, sum, min, max FROM cell_stats").to_pylist()
    assert row == [{"n": 4, "sum": 18.0, "min": 1.0, "max": 9.0}]


def test_existing_ids_finds_exactly_the_stored_ones(store):
    store.write(lambda cur: gstore.insert_events(cur, stats_batch([1.0, 2.0])))
    found = store.write(lambda cur: existing_ids(cur, pa.array(["e0-1", "new", "e0-0"])))
    assert found == {"e0-0", "e0-1"}


def test_scalar_then_query_on_one_thread_both_work(store):
    assert store.scalar("SELECT count(*) FROM events") == 0
    assert store.query("SELECT 1 AS x").to_pylist() == [{"x": 1}]


def test_the_contract_tables_exist_with_their_columns(store):
    need = {
        "events": {"id", "topic", "ts", "lat", "lng", "cell", "cell_r9", "cell_r8", "cell_r7",
                   "grid_id"},
        "dead_letters": {"topic", "partition", "offset", "error_code", "reason", "payload"},
        "cell_stats": {"cell", "metric", "bucket", "n", "sum", "min", "max"},
        "consumer_offsets": {"topic", "partition", "offset"},
    }
    for table, cols in need.items():
        have = {r["column_name"] for r in store.query(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ?",
            [table]).to_pylist()}
        assert cols <= have, (table, cols - have)


def partitioned(ids: list[str], minutes: list[int], partitions: list[int]) -> pa.Table:
    t = stats_batch([1.0] * len(ids))
    ts = pa.array([datetime(2026, 6, 1, 12, m, tzinfo=UTC) for m in minutes],
                  pa.timestamp("ms", tz="UTC"))
    return (t.set_column(0, "id", pa.array(ids)).set_column(2, "ts", ts)
            .append_column("kafka_partition", pa.array(partitions, pa.int32())))


def test_the_event_clock_is_the_slowest_partitions_latest_event(store):
    assert store.write(gstore.event_clock) is None
    store.write(lambda cur: gstore.insert_events(cur, partitioned(
        ["a", "b", "c"], [10, 30, 20], [0, 1, 0])))
    assert store.write(gstore.event_clock) == datetime(2026, 6, 1, 12, 20, tzinfo=UTC)


def test_an_event_past_the_lateness_bound_is_stored_and_flagged_late(store):
    store.write(lambda cur: gstore.insert_events(cur, partitioned(["a"], [30], [0])))
    store.write(lambda cur: gstore.insert_events(cur, partitioned(
        ["on-time", "late"], [29, 20], [0, 0])))
    rows = {r["id"]: r["late"] for r in store.query("SELECT id, late FROM events").to_pylist()}
    assert rows == {"a": False, "on-time": False, "late": True}
    assert store.scalar("SELECT sum(n) FROM cell_stats WHERE bucket = ?",
                        [datetime(2026, 6, 1, 12, 20, tzinfo=UTC)]) == 1


def test_a_store_file_made_before_photo_url_opens_and_stores_photos(tmp_path):
    path = tmp_path / "old.duckdb"
    with gstore.Store(path) as new:
        new.write(lambda cur: gstore.insert_events(cur, stats_batch([1.0])))
        # What a file made before the column existed looks like.
        new.write(lambda cur: cur.execute("ALTER TABLE events DROP COLUMN photo_url"))
    with gstore.Store(path) as reopened:
        cols = reopened.query("SELECT column_name FROM information_schema.columns WHERE "
                              "table_name = 'events' ORDER BY ordinal_position"
                              ).column("column_name").to_pylist()
        assert cols[-1] == "photo_url"  # added last, as in a new file
        photo = stats_batch([2.0], minute=1).append_column("photo_url", pa.array(["/media/p.jpg"]))
        reopened.write(lambda cur: gstore.insert_events(cur, photo))
        rows = reopened.query("SELECT id, photo_url FROM events ORDER BY id").to_pylist()
    assert rows == [{"id": "e0-0", "photo_url": None}, {"id": "e1-0", "photo_url": "/media/p.jpg"}]
    with gstore.Store(path) as again:  # opening an up-to-date file changes nothing
        assert again.scalar("SELECT count(*) FROM events WHERE photo_url IS NOT NULL") == 1


def test_set_threads_changes_the_files_worker_threads_and_restores_them(store):
    threads = "SELECT current_setting('threads')::INTEGER"
    opened = store.scalar(threads)
    store.set_threads(1)
    assert store.scalar(threads) == 1
    store.set_threads(opened + 1)
    assert store.scalar(threads) == opened + 1
    store.set_threads(None)
    assert store.scalar(threads) == opened


def test_has_table_tells_a_file_without_a_newer_table(store):
    assert store.has_table("episodes") and store.has_table("source_stats")
    store.cursor().execute("DROP TABLE episodes")  # as a file from before episodes
    assert not store.has_table("episodes")
