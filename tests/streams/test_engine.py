"""The engine's store step: an id already stored is kept once, the repeat on record."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from onegrid.streams.engine import process, store_outcome
from onegrid.streams.validate import RawMessage

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def batch(demo_city, ids: list[str], start: int) -> list[RawMessage]:
    s = next(iter(demo_city.registry.sensors.values()))
    return [RawMessage("onegrid.sensor", 0, start + i, b"k", json.dumps({
        "id": event_id, "ts": int(NOW.timestamp() * 1000), "sensor_id": s.sensor_id,
        "metric": s.metric, "value": float(i)}).encode(), "sensor") for i, event_id in
        enumerate(ids)]


def write(store, demo_city, messages):
    outcome = process(messages, demo_city, NOW)
    return store.write(lambda cur: store_outcome(cur, outcome, messages, "onegrid."))


def test_same_event_id_twice_is_stored_once(store, demo_city):
    write(store, demo_city, batch(demo_city, ["a", "b"], 0))
    stored = write(store, demo_city, batch(demo_city, ["b", "c"], 2))
    assert (stored.events, stored.dead_letters) == (1, 1)
    assert store.scalar("SELECT count(*) FROM events WHERE id = 'b'") == 1
    row = store.query("SELECT error_code, \"offset\", reason FROM dead_letters").to_pylist()[0]
    assert (row["error_code"], row["offset"]) == ("duplicate_id", 2)
    assert "'b'" in row["reason"]


def test_merged_batches_repeating_an_id_keep_the_first(store, demo_city):
    from onegrid.streams.consumer import _merge

    first, second = batch(demo_city, ["x"], 0), batch(demo_city, ["x"], 1)
    merged = _merge([(first, process(first, demo_city, NOW), {}, set()),
                     (second, process(second, demo_city, NOW), {}, set())])
    stored = store.write(lambda cur: store_outcome(cur, merged[1], merged[0], "onegrid."))
    assert (stored.events, stored.dead_letters) == (1, 1)
    assert store.scalar("SELECT value FROM events") == 0.0


def test_dead_letters_wait_in_the_outbox_until_published(store, demo_city):
    messages = [*batch(demo_city, ["ok"], 0),
                RawMessage("onegrid.sensor", 0, 1, b"k", b"{broken", "sensor")]
    write(store, demo_city, messages)
    rows = store.query("SELECT topic, value, headers FROM outbox").to_pylist()
    assert [(r["topic"], r["value"]) for r in rows] == [("onegrid.dlq", b"{broken")]
    assert json.loads(rows[0]["headers"])["onegrid.error_code"] == "not_json"
