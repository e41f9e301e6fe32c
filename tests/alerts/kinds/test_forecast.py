"""The forecast kind over trends from a real store: the line, the forecast, who is observed."""

from __future__ import annotations

from datetime import timedelta

import h3
import pytest

from onegrid.alerts.kinds import KINDS
from onegrid.alerts.model import Level
from onegrid.geo import store as gstore
from onegrid.geo import windows
from tests.alerts.kinds.test_kinds import CELL, T0, events, rule

OTHER = h3.str_to_int(h3.latlng_to_cell(31.30, 121.50, 10))
END = T0 + timedelta(minutes=60)
AT = END - timedelta(seconds=30)  # the clock inside the last bucket


def forecast_rule(**kw):
    base = dict(kind="forecast", window_s=3600, horizon_s=7200, min_rate=5.0, min_points=5,
                levels=(Level("alert", 2, 75, 70),))
    return rule(**{**base, **kw})


def readings(store, series: dict[int, list[float]]):
    """Store one reading a minute per cell (minute i holds series[cell][i]); return the trend."""
    rows = [(f"r{cell}-{i}", i, v, cell) for cell, values in series.items()
            for i, v in enumerate(values)]
    store.write(lambda cur: gstore.insert_events(cur, events(rows)))
    return store.write(lambda cur: windows.window_trend(cur, "pm25", T0, END, AT))


def test_the_trend_of_a_straight_line_is_exact(store):
    trend = readings(store, {CELL: [40 + 0.5 * i for i in range(60)]}).to_pylist()[0]
    assert trend["buckets"] == 60
    assert trend["slope_per_h"] == pytest.approx(30.0)  # 0.5 a minute
    # A bucket's mean sits at its middle, so the line at AT is the last minute's value.
    assert trend["fit_now"] == pytest.approx(40 + 0.5 * 59, abs=1e-6)
    assert trend["slope_se"] == pytest.approx(0.0, abs=1e-6)


def test_the_forecast_is_the_line_read_horizon_ahead(store):
    trend = readings(store, {CELL: [40 + 0.5 * i for i in range(60)]})
    [obs] = KINDS["forecast"](forecast_rule(), trend, AT)
    assert obs.key == str(CELL) and obs.cell == CELL
    assert obs.value == pytest.approx(40 + 0.5 * 59 + 60.0)  # 2 h at 30 an hour


@pytest.mark.parametrize(("name", "values"), [
    ("flat", [72.0] * 60),
    ("falling", [90 - 0.3 * i for i in range(60)]),
    ("already over", [70 + 0.2 * i for i in range(60)]),  # 82 now: the threshold rule's turn
    ("too slow", [60 + 0.05 * i for i in range(60)]),  # 3 an hour, below min_rate
    ("too few buckets", [70.0, 71.0, 72.0, 73.0]),
], ids=lambda v: v if isinstance(v, str) else "")
def test_a_key_without_a_live_alert_is_observed_only_when_a_warning_could_start(store, name,
                                                                                values):
    trend = readings(store, {CELL: values})
    assert KINDS["forecast"](forecast_rule(), trend, AT) == [], name


def test_a_rise_lost_in_noise_does_not_start_a_warning(store):
    # Eight noisy minutes whose fitted line happens to rise steeply towards 75.
    noisy = [66.0, 61.0, 70.0, 64.0, 72.0, 66.0, 74.0, 70.0]
    trend = readings(store, {CELL: noisy})
    [row] = trend.to_pylist()
    assert row["slope_per_h"] > 20 and row["slope_se"] > 10
    assert KINDS["forecast"](forecast_rule(), trend, AT) == []
    assert KINDS["forecast"](forecast_rule(), trend, AT, {str(CELL)})  # live: observed


def test_a_live_key_is_observed_whatever_its_trend_so_its_alert_can_clear(store):
    trend = readings(store, {CELL: [90 - 0.3 * i for i in range(60)],
                             OTHER: [40 + 0.5 * i for i in range(60)]})
    found = {o.key: o.value for o in KINDS["forecast"](forecast_rule(), trend, AT, {str(CELL)})}
    assert set(found) == {str(CELL), str(OTHER)}
    assert found[str(CELL)] == pytest.approx(90 - 0.3 * 59 - 36.0)  # falling 18 an hour


def test_trends_roll_up_to_parent_cells_and_per_device(store):
    readings(store, {CELL: [40 + 0.5 * i for i in range(60)]})
    parent = store.write(lambda cur: windows.window_trend(cur, "pm25", T0, END, AT, level=8))
    assert parent.column("key").to_pylist() == [
        str(h3.str_to_int(h3.cell_to_parent(h3.int_to_str(CELL), 8)))]
    rows = [(f"w{i}", i, 1.0 + 0.01 * i, CELL) for i in range(30)]
    store.write(lambda cur: gstore.insert_events(cur, events(rows, topic="sensor")))
    device = store.write(lambda cur: windows.source_trend(cur, "water_level_m", T0, END, AT))
    slopes = dict(zip(device.column("key").to_pylist(), device.column("slope_per_h").to_pylist(),
                      strict=True))
    assert slopes["s-w"] == pytest.approx(0.6)  # 0.01 m a minute
