"""Evidence read from the minutes the statistics point to equals evidence read over the
whole window, for every kind of place an alert has."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from onegrid.alerts import evaluation
from onegrid.alerts.evaluation import RuleState
from onegrid.streams.engine import Rules, decide_alerts, process, store_outcome
from onegrid.streams.rule_source import rule_loader
from onegrid.streams.validate import RawMessage

T0 = datetime(2026, 6, 1, 4, 0, tzinfo=UTC)

RULES = """
[[rule]]
id = "noise-device"
kind = "threshold"
title_zh = "噪声"
title_en = "Noise per device"
metric = "noise_db"
stat = "mean"
window = "10m"
scope = "sensor"
threshold = 60
clear = 55

[[rule]]
id = "noise-r8"
kind = "threshold"
title_zh = "噪声"
title_en = "Noise per res-8 cell"
metric = "noise_db"
stat = "max"
window = "10m"
res = 8
threshold = 68
clear = 60

[[rule]]
id = "pm25-grid"
kind = "threshold"
title_zh = "PM2.5"
title_en = "PM2.5 per grid"
metric = "pm25"
stat = "mean"
window = "30m"
scope = "grid"
threshold = 60
clear = 50

[[rule]]
id = "pm25-station"
kind = "threshold"
title_zh = "PM2.5"
title_en = "PM2.5 per station"
metric = "pm25"
stat = "max"
window = "30m"
scope = "sensor"
threshold = 80
clear = 70

[[rule]]
id = "cluster-any"
kind = "count"
title_zh = "聚集"
title_en = "Cluster"
metric = "incident:*"
window = "10m"
ring = 1
count = 3
"""


def minute_of_traffic(rng: np.random.Generator, city, m: int, offset: int) -> list[RawMessage]:
    """A busy minute: many readings of a few noise sensors (dense: more than the evidence
    limit a minute), sparse station readings and a few reports, some of them late."""
    noise = [s for s in city.registry.sensors.values() if s.metric == "noise_db"][:4]
    stations = list(city.registry.stations.values())[:3]
    out = []

    def add(suffix, key, body, late_s=0.0):
        nonlocal offset
        ts = T0 + timedelta(minutes=m, seconds=float(rng.uniform(0, 60)) - late_s)
        body = {"id": f"{suffix}-{m}-{offset}", "ts": int(ts.timestamp() * 1000), **body}
        out.append(RawMessage(f"onegrid.{suffix}", 0, offset, key, json.dumps(body).encode(),
                              suffix))
        offset += 1

    for s in noise:
        for _ in range(int(rng.integers(5, 40))):
            add("sensor", s.sensor_id.encode(), {"sensor_id": s.sensor_id, "metric": "noise_db",
                                                 "value": float(rng.normal(62, 6))},
                late_s=float(rng.choice([0, 0, 0, 90])))
    for st in stations:
        if rng.random() < 0.5:
            add("environment", st.station_id.encode(),
                {"station_id": st.station_id, "pm25": float(rng.normal(60, 15))})
    lat, lng = stations[0].lat, stations[0].lng
    for _ in range(int(rng.integers(0, 4))):
        add("incident", b"hotline", {
            "lat": lat + float(rng.normal(0, 0.001)), "lng": lng + float(rng.normal(0, 0.001)),
            "category": "street_vending", "source": "hotline", "severity": 2,
            "description": "x"}, late_s=float(rng.choice([0, 30])))
    return out


@pytest.mark.parametrize("seed", [2, 9])
def test_evidence_from_the_pointed_minutes_equals_evidence_over_the_window(
        store_factory, demo_city, tmp_path, monkeypatch, seed):
    path = tmp_path / "rules.toml"
    path.write_text(RULES, encoding="utf-8")
    rules = Rules(rule_loader(demo_city)(path).rules)
    narrow, whole = store_factory(f"narrow{seed}.duckdb"), store_factory(f"whole{seed}.duckdb")
    real = evaluation._evidence_since
    rng, offset = np.random.default_rng(seed), 0
    states = {"narrow": RuleState(), "whole": RuleState()}
    compared = set()
    for m in range(40):
        messages = minute_of_traffic(rng, demo_city, m, offset)
        offset += len(messages)
        outcome = process(messages, demo_city, T0 + timedelta(days=1))
        changes = {}
        for name, store in (("narrow", narrow), ("whole", whole)):
            monkeypatch.setattr(evaluation, "_evidence_since",
                                real if name == "narrow" else lambda *a: {})

            def step(cur, state=states[name], outcome=outcome, messages=messages):
                store_outcome(cur, outcome, messages, "onegrid.")
                return decide_alerts(cur, rules, state, "onegrid.", demo_city.regions)

            states[name], found = store.write(step)
            changes[name] = [(t.alert.rule_id, t.alert.key, str(t.alert.state),
                              t.alert.evidence, t.alert.evidence_values) for t in found]
        assert changes["narrow"] == changes["whole"], f"minute {m}"
        compared.update(c[0] for c in changes["narrow"] if c[3])
    # Every kind of place was compared with evidence in it.
    assert compared == {"noise-device", "noise-r8", "pm25-grid", "pm25-station",
                        "cluster-any"}, compared
