"""Early-warning (预警) scenarios through the engine's own write path, one batch a minute.

A forecast rule (PM2.5 forecast to pass 75 within 2 h, as the demo rule) runs
beside the threshold rule it warns ahead of, over one station's readings, one
every STEP minutes (a batch each). Expectations are alert changes as in
test_alert_scenarios: (minute, state).
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.streams.test_alert_scenarios import PM25_RULE, Scenario, station

# The threshold rule it warns ahead of: the 1-hour mean, as air.pm25.1h.
HOURLY_RULE = PM25_RULE.replace('window = "1m"', 'window = "1h"').format(for_="5m")

FORECAST_RULE = """
[[rule]]
id = "pm25-forecast"
kind = "forecast"
title_zh = "PM2.5 预计超标"
title_en = "PM2.5 forecast to exceed"
metric = "pm25"
window = "1h"
horizon = "2h"
threshold = 75
clear = 70
min_rate = 5
for = "10m"
clear_for = "10m"
"""


STEP = 2  # minutes between readings: 30 buckets an hour is plenty for a fit


def run(store, demo_city, tmp_path, series) -> Scenario:
    """Feed series[i] as the reading of minute STEP * i."""
    s = Scenario(store, demo_city, tmp_path, HOURLY_RULE + FORECAST_RULE)
    for i, value in enumerate(series):
        s.minute(STEP * i, station(round(float(value), 1)))
    return s


def minutes(until: int) -> np.ndarray:
    return np.arange(0, until, STEP)


def noise(n: int, sd: float, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, sd, n)


def first(s: Scenario, rule_id: str, state: str) -> int | None:
    return next((m for m, st, _ in s.changes(rule_id) if st == state), None)


def test_a_rising_pm25_series_warns_before_the_threshold_rule_fires(store, demo_city, tmp_path):
    # Half an hour at 40, then a steady rise of 24 µg/m³ an hour with a little noise.
    m = minutes(170)
    series = 40 + 0.4 * np.clip(m - 30, 0, None) + noise(m.size, 2.0)
    s = run(store, demo_city, tmp_path, series)
    warned, exceeded = first(s, "pm25-forecast", "firing"), first(s, "pm25-test", "firing")
    assert warned is not None and exceeded is not None
    assert warned < exceeded - 30  # at least half an hour of warning
    assert series[warned // STEP] < 75  # the value itself was still below the limit
    alert = store.query("SELECT * FROM alerts WHERE rule_id = 'pm25-forecast'").to_pylist()[0]
    assert alert["threshold"] == 75 and alert["value"] >= 75  # the value is the forecast
    assert alert["evidence"]  # the readings of the window the trend was fitted to


@pytest.mark.parametrize("series", [
    72 + noise(60, 1.0),  # flat just below the limit, two hours
    np.linspace(90, 60, 60) + noise(60, 1.0),  # falling through it
    np.linspace(74, 70, 60) + noise(60, 1.0),  # drifting down just below it
], ids=["flat", "falling", "drifting-down"])
def test_a_flat_or_falling_series_near_the_threshold_does_not_warn(store, demo_city, tmp_path,
                                                                   series):
    s = run(store, demo_city, tmp_path, series)
    assert s.changes("pm25-forecast") == []


def test_a_noisy_plateau_below_the_limit_does_not_flap(store, demo_city, tmp_path):
    s = run(store, demo_city, tmp_path, 68 + noise(minutes(180).size, 4.0, seed=3))
    assert [c for c in s.changes("pm25-forecast") if c[1] == "firing"] == []
    assert len(s.changes("pm25-forecast")) <= 2  # at most one pending that clears


def test_a_warning_clears_once_the_rise_turns_into_a_fall(store, demo_city, tmp_path):
    m = minutes(120)
    rise = 50 + 0.4 * np.clip(m, 0, 50)  # 50 -> 70 over 50 minutes, then down
    series = rise - 0.4 * np.clip(m - 50, 0, None) + noise(m.size, 1.0)
    s = run(store, demo_city, tmp_path, np.clip(series, 30, None))
    states = [st for _, st, _ in s.changes("pm25-forecast")]
    assert states == ["pending", "firing", "resolved"]
    assert s.changes("pm25-test") == []  # the limit itself was never reached
