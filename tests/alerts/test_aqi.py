"""The AQI of HJ 633-2012 and the limits and data validity of GB 3095-2012, exactly."""

from __future__ import annotations

import math

import numpy as np
import pytest

from onegrid.alerts import aqi

ROWS = sorted(aqi.BREAKPOINTS)


def one(values) -> float:
    """Return the single value of a one-element result."""
    return float(np.asarray(values).ravel()[0])


# -- individual indices ------------------------------------------------------------

@pytest.mark.parametrize(("pollutant", "averaging"), ROWS)
def test_every_breakpoint_gives_its_index_level(pollutant, averaging):
    bp = aqi.BREAKPOINTS[(pollutant, averaging)]
    got = aqi.iaqi(bp, pollutant, averaging)
    assert got.tolist() == list(aqi.IAQI_LEVELS[:len(bp)])


def test_the_table_is_hj_633s():
    assert aqi.BREAKPOINTS[("pm25", "24h")] == (0, 35, 75, 115, 150, 250, 350, 500)
    assert aqi.BREAKPOINTS[("pm10", "24h")] == (0, 50, 150, 250, 350, 420, 500, 600)
    assert aqi.BREAKPOINTS[("so2", "24h")] == (0, 50, 150, 475, 800, 1600, 2100, 2620)
    assert aqi.BREAKPOINTS[("so2", "1h")] == (0, 150, 500, 650, 800)
    assert aqi.BREAKPOINTS[("no2", "24h")] == (0, 40, 80, 180, 280, 565, 750, 940)
    assert aqi.BREAKPOINTS[("no2", "1h")] == (0, 100, 200, 700, 1200, 2340, 3090, 3840)
    assert aqi.BREAKPOINTS[("co", "24h")] == (0, 2, 4, 14, 24, 36, 48, 60)
    assert aqi.BREAKPOINTS[("co", "1h")] == (0, 5, 10, 35, 60, 90, 120, 150)
    assert aqi.BREAKPOINTS[("o3", "1h")] == (0, 160, 200, 300, 400, 800, 1000, 1200)
    assert aqi.BREAKPOINTS[("o3", "8h")] == (0, 100, 160, 215, 265, 800)


@pytest.mark.parametrize(("pollutant", "averaging", "value", "expected"), [
    ("pm25", "24h", 50, 69),      # 50 + (50-35) * 50/40 = 68.75
    ("pm25", "24h", 55, 75),      # exactly 75
    ("pm10", "24h", 100, 75),
    ("so2", "24h", 300, 124),     # 100 + 150 * 50/325 = 123.08
    ("no2", "1h", 150, 75),
    ("co", "1h", 7.5, 75),
    ("co", "24h", 3, 75),
    ("o3", "8h", 130, 75),
    ("o3", "1h", 250, 125),
    ("pm25", "24h", 0.1, 1),      # 0.14: any positive index rounds up to a whole number
    ("pm25", "24h", 400, 434),    # 400 + 50 * 100/150 = 433.33
])
def test_values_between_breakpoints_interpolate_and_round_up(pollutant, averaging, value,
                                                             expected):
    assert one(aqi.iaqi([value], pollutant, averaging)) == expected


@pytest.mark.parametrize(("value", "expected"), [
    (35, 50), (35.1, 51), (75, 100), (75.1, 101), (115, 150), (115.1, 151), (150, 200),
    (150.1, 201), (250, 300), (250.1, 301),
])
def test_class_boundaries_belong_to_the_lower_class_and_a_hair_above_to_the_next(value,
                                                                               expected):
    assert one(aqi.iaqi([value], "pm25", "24h")) == expected


def test_a_full_row_gives_500_beyond_its_last_breakpoint():
    assert aqi.iaqi([500, 501, 5000], "pm25", "24h").tolist() == [500, 500, 500]


def test_missing_and_negative_values_have_no_index():
    got = aqi.iaqi([np.nan, -1.0, 10.0], "pm10", "24h")
    assert math.isnan(got[0]) and math.isnan(got[1]) and got[2] == 10


def test_arrays_of_any_shape_keep_their_shape():
    got = aqi.iaqi(np.array([[35.0, 75.0], [np.nan, 115.0]]), "pm25", "24h")
    assert got.shape == (2, 2) and got[0].tolist() == [50, 100] and got[1, 1] == 150


# -- the special rules ---------------------------------------------------------------

def test_so2_one_hour_above_800_has_no_one_hour_index():
    assert one(aqi.iaqi([800], "so2", "1h")) == 200
    assert math.isnan(one(aqi.iaqi([800.1], "so2", "1h")))


def test_so2_one_hour_above_800_reports_the_24_hour_means_index():
    got = aqi.hourly_indices({"so2": [900.0, 900.0]}, so2_24h=[100.0, np.nan])
    # 100 µg/m³ over 24 h is IAQI 75; without a 24-hour mean the hour reads the 24 h row.
    assert got["so2"].tolist() == [75, 213]  # 200 + 100 * 100/800 = 212.5


def test_so2_at_800_still_reads_the_one_hour_row():
    assert aqi.hourly_indices({"so2": [800.0]}, so2_24h=[10.0])["so2"].tolist() == [200]


def test_o3_eight_hours_above_800_reports_the_one_hour_index():
    assert one(aqi.iaqi([800], "o3", "8h")) == 300
    assert math.isnan(one(aqi.iaqi([801], "o3", "8h")))
    got = aqi.period_indices({"o3": [900.0, 900.0, 800.0]}, o3_1h=[250.0, np.nan, 250.0])
    assert got["o3"][0] == 125 and math.isnan(got["o3"][1]) and got["o3"][2] == 300
    assert math.isnan(one(aqi.period_indices({"o3": [900.0]})["o3"]))


def test_the_hourly_index_reads_particles_on_their_24_hour_rows():
    got = aqi.hourly_indices({"pm25": [75.0], "pm10": [150.0], "no2": [200.0], "co": [10.0],
                              "o3": [200.0], "so2": [500.0]})
    assert {p: one(v) for p, v in got.items()} == dict.fromkeys(aqi.POLLUTANTS, 100.0)


def test_the_daily_index_counts_o3s_largest_hour_and_largest_8_hours():
    got = aqi.daily_indices({"pm25": [20.0], "o3_8h": [100.0], "o3_1h": [250.0]})
    assert one(got["o3"]) == 125  # the 1-hour indicator (125) beats the 8-hour one (50)
    got = aqi.daily_indices({"o3_8h": [900.0], "o3_1h": [160.0]})
    assert one(got["o3"]) == 50  # above 800 the 8-hour mean reads the 1-hour value
    index, primary = aqi.daily_aqi({"pm25": [80.0], "o3_8h": [100.0], "o3_1h": [100.0]})
    assert one(index) == 107 and primary[0] == ("pm25",)


def test_a_window_mean_reads_the_24_hour_rows_and_o3_its_8_hour_row():
    got = aqi.period_indices({"no2": [80.0], "so2": [150.0], "co": [4.0], "o3": [160.0]})
    assert {p: one(v) for p, v in got.items()} == {"so2": 100, "no2": 100, "o3": 100,
                                                   "co": 100}


# -- the index, primary pollutants, categories ----------------------------------------

def test_the_aqi_is_the_largest_index():
    index, primary = aqi.hourly_aqi({"pm25": [50.0], "no2": [150.0], "o3": [100.0]})
    assert one(index) == 75 and primary[0] == ("no2",)


def test_there_is_a_primary_pollutant_only_when_the_aqi_is_above_50():
    index, primary = aqi.hourly_aqi({"pm25": [35.0, 35.1], "no2": [20.0, 20.0]})
    assert index.tolist() == [50, 51]
    assert primary.tolist() == [(), ("pm25",)]


def test_pollutants_tied_at_the_largest_index_are_all_primary():
    index, primary = aqi.hourly_aqi({"no2": [200.0], "pm25": [75.0], "pm10": [100.0]})
    assert one(index) == 100 and primary[0] == ("pm25", "no2")  # in the standard's order


def test_pollutants_above_100_exceed():
    got = aqi.exceeding(aqi.hourly_indices({"pm25": [76.0, 75.0], "no2": [201.0, 50.0]}))
    assert got.tolist() == [("pm25", "no2"), ()]


def test_missing_pollutants_are_left_out_and_all_missing_gives_no_aqi():
    index, primary = aqi.hourly_aqi({"pm25": [np.nan, np.nan], "no2": [np.nan, 150.0]})
    assert math.isnan(index[0]) and primary[0] == ()
    assert index[1] == 75 and primary[1] == ("no2",)
    assert aqi.combine({})[0].size == 0


@pytest.mark.parametrize(("index", "level", "zh", "en"), [
    (0, 1, "优", "Excellent"), (50, 1, "优", "Excellent"), (51, 2, "良", "Good"),
    (100, 2, "良", "Good"), (101, 3, "轻度污染", "Lightly polluted"),
    (150, 3, "轻度污染", "Lightly polluted"), (151, 4, "中度污染", "Moderately polluted"),
    (200, 4, "中度污染", "Moderately polluted"), (201, 5, "重度污染", "Heavily polluted"),
    (300, 5, "重度污染", "Heavily polluted"), (301, 6, "严重污染", "Severely polluted"),
    (500, 6, "严重污染", "Severely polluted"),
])
def test_each_aqi_falls_in_its_category(index, level, zh, en):
    found = aqi.category_of(index)
    assert (found.level, found.zh, found.en) == (level, zh, en)
    assert aqi.category_name(index, "zh") == zh and aqi.category_name(index, "en") == en


def test_the_categories_wear_hj_633s_colours_and_missing_has_none():
    assert [c.colour for c in aqi.CATEGORIES] == ["#00e400", "#ffff00", "#ff7e00", "#ff0000",
                                                  "#99004c", "#7e0023"]
    assert aqi.category_of(float("nan")) is None and aqi.category_of(None) is None
    assert aqi.category_name(None) == ""


# -- GB 3095: limits -----------------------------------------------------------------

def test_the_grade_limits_are_gb_3095s():
    assert aqi.limit("pm25", "24h") == 75 and aqi.limit("pm25", "24h", grade=1) == 35
    assert aqi.limit("pm10", "24h") == 150 and aqi.limit("no2", "1h") == 200
    assert aqi.limit("so2", "1h") == 500 and aqi.limit("so2", "1h", grade=1) == 150
    assert aqi.limit("o3", "1h") == 200 and aqi.limit("o3", "8h") == 160
    assert aqi.limit("co", "1h") == 10 and aqi.limit("co", "24h") == 4
    assert aqi.limit("pm25", "1h") is None


@pytest.mark.parametrize(("pollutant", "averaging"), sorted(aqi.LIMITS))
def test_every_grade_ii_limit_is_the_index_100_breakpoint(pollutant, averaging):
    assert one(aqi.iaqi([aqi.limit(pollutant, averaging)], pollutant, averaging)) == 100


# -- GB 3095: data validity ----------------------------------------------------------

def test_an_hour_needs_45_minutes_of_sampling():
    assert aqi.hour_is_valid([0, 44, 45, 60]).tolist() == [False, False, True, True]


def test_windows_need_enough_valid_hours():
    assert aqi.has_enough_hours([5, 6], "8h").tolist() == [False, True]
    assert aqi.has_enough_hours([19, 20], "24h").tolist() == [False, True]


def test_an_8_hour_mean_needs_6_valid_hours():
    hours = np.array([10.0, 20, 30, 40, 50, 60, np.nan, np.nan])
    assert aqi.mean_8h(hours)[-1] == 35.0  # the mean of the 6 valid hours
    hours[5] = np.nan
    assert math.isnan(aqi.mean_8h(hours)[-1])


def test_a_24_hour_mean_needs_20_valid_hours():
    hours = np.full(24, 10.0)
    hours[:4] = np.nan
    assert aqi.mean_24h(hours)[-1] == 10.0
    hours[4] = np.nan
    assert math.isnan(aqi.mean_24h(hours)[-1])


def test_running_means_end_at_each_hour_and_count_hours_before_the_series_as_missing():
    got = aqi.running_mean(np.arange(1.0, 11.0), 3, 2)
    assert math.isnan(got[0]) and got[1] == 1.5 and got[2] == 2.0 and got[-1] == 9.0
    two_rows = aqi.mean_8h(np.vstack([np.full(10, 5.0), np.full(10, 7.0)]))
    assert two_rows.shape == (2, 10) and two_rows[:, -1].tolist() == [5.0, 7.0]


def test_o3s_daily_largest_8_hours_needs_14_valid_8_hour_means():
    hours = np.concatenate([np.full(7, np.nan), np.arange(1.0, 25.0)])  # 31 hours
    assert aqi.max_8h_of_day(hours)[-1] == np.mean(np.arange(17.0, 25.0))
    hours[7:18] = np.nan  # only 13 valid 8-hour means are left in the last 24 hours
    assert math.isnan(aqi.max_8h_of_day(hours)[-1])


def test_the_daily_largest_hour_needs_20_valid_hours():
    hours = np.full(24, 100.0)
    hours[3] = 250.0
    assert aqi.max_1h_of_day(hours)[-1] == 250.0
    hours[:5] = np.nan
    assert math.isnan(aqi.max_1h_of_day(hours)[-1])
