"""Exceedance episodes from a station's hourly AQI: start, peak, end, as tables.

Hour i of a series is [T0 + i h, T0 + (i+1) h), named by its end. An expected
episode is (first exceeding hour, peak hour, last exceeding hour or None while
ongoing, duration in hours). PM2.5 reads the 24-hour row: 75 µg/m³ is IAQI
100 (not an exceedance), 80 is 107, 100 is 132, 160 is 210.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from onegrid.alerts import episodes
from onegrid.alerts.episodes import Tracker, detect
from onegrid.alerts.station_hours import StationHours, epoch_hour, rows_to_hours

T0 = datetime(2026, 6, 1, 0, 0, tzinfo=UTC)
H = timedelta(hours=1)
X = None  # an invalid hour


def ends(n: int) -> list[datetime]:
    return [T0 + (i + 1) * H for i in range(n)]


def found(series, **more) -> list[tuple]:
    """Return the series' episodes as (first, peak, last or None, hours) hour indices."""
    eps = detect("S1", ends(len(series)), {"pm25": series, **more})
    return [(round((e.start_at - T0) / H), round((e.peak_at - T0) / H) - 1,
             None if e.end_at is None else round((e.end_at - T0) / H) - 1, e.hours)
            for e in eps]


@pytest.mark.parametrize(("series", "expected"), [
    pytest.param([30] * 24, [], id="a clean day has none"),
    pytest.param([75] * 6, [], id="AQI exactly 100 is not an exceedance"),
    pytest.param([30, 30, 100, 30, 30], [(2, 2, 2, 1)], id="one exceeding hour"),
    pytest.param([30, 50, 80, 120, 160, 120, 80, 50, 30, 30], [(2, 4, 6, 5)],
                 id="a ramp up and down"),
    pytest.param([100, 30, 100, 30, 30], [(0, 0, 2, 3)],
                 id="one clean hour inside joins, the earliest equal peak counts"),
    pytest.param([100, 30, 30, 100, 30, 30], [(0, 0, 0, 1), (3, 3, 3, 1)],
                 id="two clean hours split"),
    pytest.param([30, 100, 120], [(1, 2, None, 2)], id="ongoing at the end has no end"),
    pytest.param([30, 100, 30], [(1, 1, None, 1)], id="one clean hour at the end: still on"),
    pytest.param([30, X, 30, X], [], id="invalid hours start nothing"),
    pytest.param([100, X, 30, X, 30], [(0, 0, 0, 1)],
                 id="an invalid hour is not clean: it takes two clean ones"),
    pytest.param([100, X, X, 130, 30, 30], [(0, 3, 3, 4)],
                 id="invalid hours inside do not end it"),
    pytest.param([100, X, X, X, X, X], [(0, 0, None, 1)], id="five silent hours: still on"),
    pytest.param([100, X, X, X, X, X, X], [(0, 0, 0, 1)],
                 id="six hours with no exceedance end it"),
    pytest.param([100, 30, X, X, X, X, X, 30], [(0, 0, 0, 1)],
                 id="a clean hour then silence ends it at the gap bound"),
])
def test_episodes_of_a_station_series(series, expected):
    assert found(series) == expected


def test_the_peak_carries_its_aqi_primary_pollutant_and_concentration():
    (ep,) = detect("S1", ends(5), {"pm25": [30, 80, 160, 80, 30],
                                   "no2": [20, 20, 20, 20, 20]},
                   wind_dir_deg=[90, 91, 270, 92, 93], wind_speed_ms=[1, 1, 3.5, 1, 1])
    assert (ep.peak_at, ep.peak_aqi, ep.primary, ep.pollutant, ep.peak_value) == \
        (T0 + 3 * H, 210.0, ("pm25",), "pm25", 160.0)
    assert ep.peak_values == {"pm25": 160.0, "no2": 20.0}
    assert (ep.wind_dir_deg, ep.wind_speed_ms) == (270.0, 3.5)
    assert ep.episode_id == "S1:20260601T0100Z" and ep.ongoing


def test_tied_primary_pollutants_are_all_kept_in_hj_633_order():
    # PM2.5 115 and PM10 250 are both IAQI 150 at the peak.
    (ep,) = detect("S1", ends(4), {"pm10": [40, 250, 40, 40], "pm25": [20, 115, 20, 20]})
    assert ep.primary == ("pm25", "pm10") and ep.pollutant == "pm25" and ep.peak_value == 115
    (other,) = detect("S1", ends(4), {"pm10": [40, 260, 40, 40], "pm25": [20, 115, 20, 20]})
    assert other.primary == ("pm10",) and other.peak_value == 260


def test_a_pollutant_other_than_pm25_makes_an_exceedance_too():
    # O3 1 h 250 µg/m³ is IAQI 125.
    assert found([20, 20, 20], o3=[100, 250, 100]) == [(1, 1, None, 1)]


@pytest.mark.parametrize("cut", range(1, 12))
def test_resuming_from_the_open_episodes_decides_as_one_fold(cut):
    series = [30, 100, 30, 130, X, 30, 30, 100, 100, 30, X, 140]
    whole = detect("S1", ends(len(series)), {"pm25": series})
    hours = _hours(series)
    first = Tracker(("S1",))
    first.run(_slice(hours, 0, cut))
    second = Tracker(("S1",), [e for e in first.episodes() if e.ongoing])
    second.run(_slice(hours, cut, len(series)))
    assert first.ended + second.episodes() == whole


def test_stations_are_tracked_apart_in_one_fold():
    hours = StationHours(("A", "B"), np.arange(epoch_hour(T0) + 1, epoch_hour(T0) + 4),
                         {p: np.full((2, 3), np.nan) for p in episodes.aqi.POLLUTANTS},
                         np.full((2, 3), np.nan), np.full((2, 3), np.nan))
    hours.values["pm25"][:] = [[100, 30, 30], [30, 30, 100]]
    tracker = Tracker(hours.station_ids)
    tracker.run(hours)
    got = [(e.station_id, e.start_at, e.end_at) for e in tracker.episodes()]
    assert got == [("A", T0, T0 + H), ("B", T0 + 2 * H, None)]


def test_an_hour_sampled_under_45_minutes_is_invalid():
    rows = {"source_id": ["S1", "S1", "S1"], "hour_end": [epoch_hour(T0) + i for i in (1, 2, 3)],
            "wind_dir_deg": [None] * 3, "wind_speed_ms": [None] * 3}
    for p in episodes.aqi.POLLUTANTS:
        rows[p] = [100.0, 100.0, 100.0] if p == "pm25" else [None] * 3
        rows[f"{p}_min"] = [45, 30, 60] if p == "pm25" else [0] * 3
    hours = rows_to_hours(rows, ["S1"], epoch_hour(T0) + 1, epoch_hour(T0) + 3)
    assert np.isnan(hours.values["pm25"][0]).tolist() == [False, True, False]


def _hours(series) -> StationHours:
    n = len(series)
    values = {p: np.full((1, n), np.nan) for p in episodes.aqi.POLLUTANTS}
    values["pm25"][0] = [np.nan if v is None else v for v in series]
    return StationHours(("S1",), np.arange(epoch_hour(T0) + 1, epoch_hour(T0) + n + 1),
                        values, np.full((1, n), np.nan), np.full((1, n), np.nan))


def _slice(hours: StationHours, a: int, b: int) -> StationHours:
    return StationHours(hours.station_ids, hours.ends[a:b],
                        {p: v[:, a:b] for p, v in hours.values.items()},
                        hours.wind_dir_deg[:, a:b], hours.wind_speed_ms[:, a:b])
