"""Live and back-test agree: the same events through both give the same alerts."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from onegrid.geo.store import Store
from onegrid.streams.backtest import backtest
from onegrid.streams.consumer import EngineConfig, EngineRunner
from onegrid.streams.producer import make_producer, send_messages
from onegrid.streams.rule_source import DEMO_RULES, watch_rules
from onegrid.streams.simulator import simulate

pytestmark = [pytest.mark.broker, pytest.mark.slow]

START = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)
HOURS = 3


def test_live_and_backtest_give_the_same_alerts(broker, topics, tmp_path, demo_city):
    # Three simulated hours: pollution episodes, failing and silent sensors,
    # clusters of reports: enough for every kind of demo rule to have its say.
    producer = make_producer(broker)
    send_messages(producer, simulate(demo_city.registry, rate=40, duration_s=HOURS * 3600,
                                     seed=11, start=START), topics)
    producer.close()
    rules = watch_rules(DEMO_RULES, demo_city)
    db = tmp_path / "live.duckdb"
    with Store(db) as store:
        config = EngineConfig(bootstrap=broker, prefix=topics, group_id=f"bt-{uuid.uuid4()}",
                              session_timeout_ms=6000, until_idle_s=3)
        EngineRunner(config, demo_city, store, out=None, rules=rules,
                     clock=lambda: START + timedelta(hours=HOURS + 1)).run()
        fired = store.scalar("SELECT count(*) FROM alert_transitions")
        kinds = store.scalar("SELECT count(DISTINCT rule_id) FROM alert_transitions")
    assert fired > 0 and kinds >= 3, (fired, kinds)
    with Store(db, read_only=True) as history:
        result = backtest(history, rules(), demo_city, START, START + timedelta(hours=HOURS))
    assert result.only_backtest == [] and result.only_live == [], (
        result.only_backtest[:8], result.only_live[:8])
    assert len(result.changes) == fired


def test_backtest_with_a_stricter_rule_shows_the_difference(broker, topics, tmp_path,
                                                             demo_city, store):
    from onegrid.streams.engine import Rules
    from onegrid.streams.rule_source import rule_loader

    loose = tmp_path / "loose.toml"
    loose.write_text("""
[[rule]]
id = "noise"
kind = "threshold"
title_zh = "噪声"
title_en = "Noise"
metric = "noise_db"
stat = "max"
window = "1m"
scope = "sensor"
threshold = 60
clear = 55
""", encoding="utf-8")
    strict = tmp_path / "strict.toml"
    strict.write_text(loose.read_text(encoding="utf-8").replace("threshold = 60",
                                                                 "threshold = 200"),
                      encoding="utf-8")
    producer = make_producer(broker)
    send_messages(producer, simulate(demo_city.registry, rate=20, duration_s=1800, seed=2,
                                     start=START), topics)
    producer.close()
    config = EngineConfig(bootstrap=broker, prefix=topics, group_id=f"bt-{uuid.uuid4()}",
                          session_timeout_ms=6000, until_idle_s=3)
    loader = rule_loader(demo_city)
    EngineRunner(config, demo_city, store, out=None, rules=lambda: Rules(loader(loose).rules),
                 clock=lambda: START + timedelta(hours=2)).run()
    result = backtest(store, Rules(loader(strict).rules), demo_city, START,
                      START + timedelta(hours=1))
    assert result.changes == [] and result.only_backtest == []
    assert len(result.only_live) == store.scalar("SELECT count(*) FROM alert_transitions") > 0
