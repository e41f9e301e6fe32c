"""Dead-letter replay: once the cause is fixed, the letter is stored, once."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from onegrid.geo.registry import Category
from onegrid.streams.consumer import EngineConfig, EngineRunner
from onegrid.streams.dlq import replay_dead_letters
from onegrid.streams.engine import City

from .kafka_helpers import produce

pytestmark = pytest.mark.broker

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def run(bootstrap, prefix, store, city):
    cfg = EngineConfig(bootstrap=bootstrap, prefix=prefix, group_id=f"g-{uuid.uuid4().hex[:6]}",
                       session_timeout_ms=6000, until_idle_s=2)
    return EngineRunner(cfg, city, store, clock=lambda: NOW, out=None).run()


def test_a_dead_letter_replayed_after_its_category_is_added_is_stored_once(
        broker, topics, store_factory, demo_city):
    report = {"id": "r-1", "ts": "2026-06-01T19:50:00+08:00", "lat": 31.23, "lng": 121.47,
              "category": "drone_noise", "source": "app"}
    produce(broker, topics, [("incident", b"app", json.dumps(report).encode()),
                             ("sensor", b"x", b"not json")])
    store = store_factory()
    run(broker, topics, store, demo_city)
    assert store.scalar("SELECT error_code FROM dead_letters WHERE topic LIKE '%incident'") == \
        "unknown_category"

    # The catalogue learns the category; only that code is replayed.
    categories = dict(demo_city.registry.categories)
    categories["drone_noise"] = Category("drone_noise", "无人机噪声", "Drone noise", "cg", (), 2,
                                         "general", "environment")
    fixed = City(replace(demo_city.registry, categories=categories), demo_city.regions)
    result = replay_dead_letters(broker, topics, codes={"unknown_category"})
    assert dict(result.sent) == {"unknown_category": 1}
    assert dict(result.skipped) == {"not_json": 1}

    run(broker, topics, store, fixed)
    assert store.scalar("SELECT count(*) FROM events WHERE id = 'r-1'") == 1
    # Replaying again re-sends it, and the store refuses the repeat.
    replay_dead_letters(broker, topics, codes={"unknown_category"})
    run(broker, topics, store, fixed)
    assert store.scalar("SELECT count(*) FROM events WHERE id = 'r-1'") == 1
    assert store.scalar("SELECT count(*) FROM dead_letters WHERE error_code = 'duplicate_id'") == 1
