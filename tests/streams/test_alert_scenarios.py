"""Alert scenarios through the engine's own write path, with exact expectations.

Each batch is one minute of event time, stored with `store_outcome` and then
decided with `decide_alerts` in the same transaction, exactly as the live loop
does. Expectations are the alert changes: (minute, state, level).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import h3
import pytest

from onegrid.alerts.evaluation import RuleState
from onegrid.alerts.silences import Silence
from onegrid.streams.engine import Rules, decide_alerts, process, store_outcome
from onegrid.streams.rule_source import rule_loader
from onegrid.streams.validate import RawMessage

T0 = datetime(2026, 6, 1, 4, 0, tzinfo=UTC)
LAT, LNG = 31.2304, 121.4737  # People's Square

PM25_RULE = """
[[rule]]
id = "pm25-test"
kind = "threshold"
title_zh = "PM2.5"
title_en = "PM2.5"
metric = "pm25"
stat = "mean"
window = "1m"
threshold = 75
clear = 70
for = "{for_}"
clear_for = "2m"
"""


class Scenario:
    """Feeds minute batches through the engine path; remembers the rules' state."""

    def __init__(self, store, city, tmp_path: Path, toml: str, silences=()):
        path = tmp_path / "rules.toml"
        path.write_text(toml, encoding="utf-8")
        self.rules = Rules(rule_loader(city)(path).rules, tuple(silences))
        self.store, self.city, self.state, self.offset = store, city, RuleState(), 0

    def minute(self, m: int, *events: tuple[str, dict], seconds: int = 0) -> None:
        messages = []
        for suffix, payload in events:
            ts = T0 + timedelta(minutes=m, seconds=seconds)
            body = {"id": f"{suffix}-{m}-{self.offset}", "ts": int(ts.timestamp() * 1000),
                    **payload}
            messages.append(RawMessage(f"onegrid.{suffix}", 0, self.offset, b"k",
                                       json.dumps(body).encode(), suffix))
            self.offset += 1
        outcome = process(messages, self.city, T0 + timedelta(days=1))

        def step(cur):
            store_outcome(cur, outcome, messages, "onegrid.")
            return decide_alerts(cur, self.rules, self.state, "onegrid.", self.city.regions)[0]

        self.state = self.store.write(step)

    def changes(self, rule_id: str | None = None) -> list[tuple]:
        rows = self.store.query('SELECT * FROM alert_transitions ORDER BY "at", state'
                                ).to_pylist()
        return [(int((r["at"] - T0).total_seconds() // 60), r["state"], r["level"])
                for r in rows if rule_id is None or r["rule_id"] == rule_id]


def station(value: float) -> tuple[str, dict]:
    return "environment", {"station_id": "SH-N-JA", "lat": LAT, "lng": LNG, "pm25": value}


RAMP = [50, 60, 70, 80, 90, 100, 100, 100, 90, 80, 72, 65, 60, 55, 50, 50]


@pytest.mark.parametrize("for_, expected", [
    ("3m", [(3, "pending", "alert"), (6, "firing", "alert"), (13, "resolved", "alert")]),
    ("0s", [(3, "firing", "alert"), (3, "pending", "alert"), (13, "resolved", "alert")]),
])
def test_a_pm25_ramp_in_one_cell_gives_exact_pending_firing_and_resolved_times(
        store, demo_city, tmp_path, for_, expected):
    s = Scenario(store, demo_city, tmp_path, PM25_RULE.format(for_=for_))
    for m, value in enumerate(RAMP):
        s.minute(m, station(value))
    assert s.changes() == expected


def test_a_value_oscillating_around_the_threshold_gives_one_alert_not_a_storm(
        store, demo_city, tmp_path):
    s = Scenario(store, demo_city, tmp_path, PM25_RULE.format(for_="0s"))
    for m, value in enumerate([80, 72, 80, 72, 79, 71, 76, 73, 80, 60, 60, 60]):
        s.minute(m, station(value))
    assert [c[1] for c in s.changes()] == ["firing", "pending", "resolved"]


def test_a_silence_keeps_the_record_and_marks_it_silenced(store, demo_city, tmp_path):
    quiet = Silence(silence_id="s1", rule_id="pm25-test", region_ids=(), sensor_ids=(),
                    starts_at=T0, ends_at=T0 + timedelta(hours=1), reason="drill",
                    created_by="tester")
    s = Scenario(store, demo_city, tmp_path, PM25_RULE.format(for_="0s"), silences=[quiet])
    for m, value in enumerate(RAMP):
        s.minute(m, station(value))
    rows = store.query("SELECT state, silenced FROM alert_transitions").to_pylist()
    assert len(rows) == 3 and all(r["silenced"] for r in rows)
    sent = store.query("SELECT value FROM outbox WHERE topic = 'onegrid.alerts'").to_pylist()
    assert len(sent) == 3 and all(json.loads(r["value"])["silenced"] for r in sent)


NODATA_RULE = """
[[rule]]
id = "noise-silent"
kind = "nodata"
title_zh = "噪声设备离线"
title_en = "Noise sensor silent"
metric = "noise_db"
silent = "5m"
"""


def test_a_silent_sensor_raises_one_device_fault_and_clears_when_it_speaks(
        store, demo_city, tmp_path):
    a, b = [x.sensor_id for x in demo_city.registry.sensors.values()
            if x.metric == "noise_db"][:2]
    s = Scenario(store, demo_city, tmp_path, NODATA_RULE)
    for m in range(16):
        speaking = [a] if 3 < m < 12 else [a, b]
        s.minute(m, *[("sensor", {"sensor_id": x, "metric": "noise_db", "value": 55.0})
                      for x in speaking])
    rows = store.query("SELECT key, state FROM alert_transitions ORDER BY \"at\", state"
                       ).to_pylist()
    assert {r["key"] for r in rows} == {b}
    assert [r["state"] for r in rows] == ["firing", "pending", "resolved"]
    assert s.changes() == [(8, "firing", "fault"), (8, "pending", "fault"),
                           (12, "resolved", "fault")]


CLUSTER_RULE = """
[[rule]]
id = "vending-cluster"
kind = "count"
title_zh = "占道经营聚集"
title_en = "Street-vending cluster"
metric = "incident:street_vending"
window = "30m"
count = 3
ring = 1
"""


def report(cell: str) -> tuple[str, dict]:
    """A hotline report of street vending at the centre of `cell`."""
    lat, lng = h3.cell_to_latlng(cell)
    return "incident", {"lat": lat, "lng": lng, "category": "street_vending",
                        "source": "hotline"}


def test_three_reports_in_neighbouring_cells_make_one_cluster_alert(store, demo_city, tmp_path):
    centre = h3.latlng_to_cell(LAT, LNG, 10)
    cells = [centre, *sorted(h3.grid_ring(centre, 1))[:2]]
    s = Scenario(store, demo_city, tmp_path, CLUSTER_RULE)
    for m, cell in enumerate(cells):
        s.minute(m, report(cell))
    firing = [c for c in s.changes() if c[1] == "firing"]
    assert firing == [(2, "firing", "alert")]
    evidence = store.query("SELECT evidence FROM alerts").to_pylist()[0]["evidence"]
    assert len(evidence) == 3


def test_a_late_event_past_the_lateness_bound_changes_nothing_already_decided(
        store, demo_city, tmp_path):
    s = Scenario(store, demo_city, tmp_path, PM25_RULE.format(for_="3m"))
    for m, value in enumerate(RAMP):
        s.minute(m, station(value))
    before = s.changes()
    s.minute(30, station(50))
    s.minute(4, station(1000))  # half an hour late, far past the 2-minute bound
    s.minute(31, station(50))
    assert s.changes() == before
    assert store.scalar("SELECT late FROM events WHERE pm25 = 1000") is True
    # ... but the statistics stay exact: minute 4's bucket now holds both readings.
    assert store.scalar("SELECT n FROM cell_stats WHERE metric = 'pm25' AND bucket = ?",
                        [T0 + timedelta(minutes=4)]) == 2


TILT_RULE = """
[[rule]]
id = "manhole-tilt"
kind = "threshold"
title_zh = "井盖倾斜"
title_en = "Manhole cover tilted"
metric = "manhole_tilt_deg"
stat = "max"
window = "1m"
scope = "sensor"
threshold = 10
clear = 5
"""


def test_a_per_device_rule_alerts_the_device_not_its_neighbours(store, demo_city, tmp_path):
    tilted, level = [x.sensor_id for x in demo_city.registry.sensors.values()
                     if x.metric == "manhole_tilt_deg"][:2]
    s = Scenario(store, demo_city, tmp_path, TILT_RULE)
    for m, angle in enumerate([1, 2, 25, 30, 3, 2]):
        s.minute(m, ("sensor", {"sensor_id": tilted, "metric": "manhole_tilt_deg",
                                "value": float(angle)}),
                 ("sensor", {"sensor_id": level, "metric": "manhole_tilt_deg", "value": 1.0}))
    rows = store.query('SELECT key, state, evidence FROM alert_transitions ORDER BY "at", state'
                       ).to_pylist()
    assert [(r["key"], r["state"]) for r in rows] == [
        (tilted, "firing"), (tilted, "pending"), (tilted, "resolved")]
    assert s.changes() == [(2, "firing", "alert"), (2, "pending", "alert"),
                           (4, "resolved", "alert")]
    assert rows[0]["evidence"] == ["sensor-2-4"]


GRID_RULE = """
[[rule]]
id = "grid-pm25"
kind = "threshold"
title_zh = "网格PM2.5"
title_en = "Grid PM2.5"
metric = "pm25"
stat = "max"
window = "1m"
scope = "grid"
threshold = 75
clear = 70
"""


def test_a_grid_scoped_rule_alerts_the_grid_that_holds_the_reading(store, demo_city, tmp_path):
    import numpy as np

    from onegrid.geo.cells import latlng_to_cells
    from onegrid.geo.regions import cells_to_regions
    grid = cells_to_regions(demo_city.regions,
                            latlng_to_cells(np.array([LAT]), np.array([LNG])))["grid_id"][0]
    s = Scenario(store, demo_city, tmp_path, GRID_RULE)
    for m, value in enumerate([50, 90, 90, 40]):
        s.minute(m, station(value))
    rows = store.query('SELECT key, state, grid_id FROM alert_transitions ORDER BY "at", state'
                       ).to_pylist()
    assert [(r["key"], r["state"]) for r in rows] == [
        (grid, "firing"), (grid, "pending"), (grid, "resolved")]


def test_an_alert_on_the_topic_carries_its_evidence_ids_and_values(store, demo_city, tmp_path):
    s = Scenario(store, demo_city, tmp_path, PM25_RULE.format(for_="0s"))
    for m, value in enumerate([50, 88]):
        s.minute(m, station(value))
    sent = [json.loads(r["value"]) for r in store.query(
        "SELECT value FROM outbox WHERE topic = 'onegrid.alerts' ORDER BY seq").to_pylist()]
    firing = next(m for m in sent if m["state"] == "firing")
    assert firing["evidence"] == ["environment-1-1"] and firing["evidence_values"] == [88.0]
    assert (firing["value"], firing["threshold"], firing["rule_version"]) == (
        88.0, 75.0, s.rules.rules[0].version)
    assert firing["window"] == 60 and firing["grid_id"]


@pytest.mark.parametrize("where", ['res = 8', 'scope = "grid"', 'scope = "district"',
                                   'scope = "sensor"'])
def test_evidence_of_a_parent_cell_region_or_station_alert_is_the_readings_inside_it(
        store, demo_city, tmp_path, where):
    s = Scenario(store, demo_city, tmp_path, PM25_RULE.format(for_="0s") + where + "\n")
    for m, value in enumerate([50, 88]):
        s.minute(m, station(value))
    rows = store.query("SELECT state, evidence, evidence_values FROM alert_transitions "
                       "ORDER BY state").to_pylist()
    assert [(r["state"], r["evidence"], r["evidence_values"]) for r in rows] == [
        (state, ["environment-1-1"], [88.0]) for state in ("firing", "pending")]
    if "sensor" in where:  # per device: the station is the key
        assert store.scalar("SELECT DISTINCT key FROM alert_transitions") == "SH-N-JA"


MAX_RULE = """
[[rule]]
id = "pm25-max"
kind = "threshold"
title_zh = "PM2.5"
title_en = "PM2.5"
metric = "pm25"
stat = "max"
window = "2m"
threshold = 75
clear = 70
{every}
"""


@pytest.mark.parametrize("every, expected", [
    ("", [(1, "firing"), (1, "pending"), (3, "resolved")]),
    # Decided at minutes 0, 2 and 4 only: the first decisions on or past each 2 minutes.
    ('every = "2m"', [(2, "firing"), (2, "pending"), (4, "resolved")]),
])
def test_a_rule_with_every_changes_state_only_at_its_decisions(
        store, demo_city, tmp_path, every, expected):
    s = Scenario(store, demo_city, tmp_path, MAX_RULE.format(every=every))
    for m, value in enumerate([50, 80, 50, 50, 50, 50]):
        s.minute(m, station(value))
    assert [c[:2] for c in s.changes()] == expected


def test_a_count_rule_not_due_counts_in_full_at_its_next_decision(store, demo_city, tmp_path):
    # Two of the three reports come in a decision the rule skips, in the same minute (so
    # the same window start): counting only near the reports since the decision before
    # would miss them.
    centre = h3.latlng_to_cell(LAT, LNG, 10)
    ring = sorted(h3.grid_ring(centre, 1))[:2]
    s = Scenario(store, demo_city, tmp_path, CLUSTER_RULE + 'every = "30s"\n')
    s.minute(5, report(centre))  # due: the first decision
    s.minute(5, *(report(c) for c in ring), seconds=15)  # not due: still before 5:30
    assert s.changes() == []
    # A report far away moves the clock (the incident watermark) past 5:30: due.
    s.minute(5, report(sorted(h3.grid_ring(centre, 8))[0]), seconds=35)
    assert [c for c in s.changes() if c[1] == "firing"] == [(5, "firing", "alert")]
