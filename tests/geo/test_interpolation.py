"""Inverse-distance estimates between the stations (geo.interpolation)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from onegrid.geo import interpolation as ip

# Two stations on the equator 2 km apart, and a third far away.
KM_DEG = 1 / (2 * math.pi * ip.EARTH_RADIUS_KM / 360)  # degrees per km along the equator
LAT = np.array([0.0, 0.0])
LNG = np.array([0.0, 2 * KM_DEG])


def test_distances_are_great_circle_kilometres():
    found = ip.distances_km(np.array([31.0]), np.array([121.0]), np.array([31.0, 32.0]),
                            np.array([121.0, 121.0]))
    assert found[0, 0] == 0.0
    assert found[0, 1] == pytest.approx(111.2, abs=0.1)  # one degree of latitude


def test_a_target_at_a_station_takes_the_stations_value():
    found = ip.idw(np.array([0.0]), np.array([0.0]), LAT, LNG, np.array([80.0, 20.0]))
    assert found.values[0] == 80.0 and found.sources[0] == 1


def test_a_target_at_a_station_takes_its_value_even_with_no_second_station_near():
    found = ip.idw(np.array([0.0]), np.array([0.0]), np.array([0.0]), np.array([0.0]),
                   np.array([55.0]))
    assert found.values[0] == 55.0


def test_halfway_between_two_stations_is_their_mean():
    found = ip.idw(np.array([0.0]), np.array([KM_DEG]), LAT, LNG, np.array([80.0, 20.0]))
    assert found.values[0] == pytest.approx(50.0)
    assert found.sources[0] == 2


def test_the_nearer_station_weighs_more_by_the_inverse_square_of_distance():
    # 0.5 km from the first, 1.5 km from the second: weights 4 and 4/9.
    found = ip.idw(np.array([0.0]), np.array([0.5 * KM_DEG]), LAT, LNG,
                   np.array([80.0, 20.0]))
    assert found.values[0] == pytest.approx((4 * 80 + 4 / 9 * 20) / (4 + 4 / 9))


def test_beyond_the_maximum_distance_there_is_no_estimate():
    far = ip.idw(np.array([0.0]), np.array([10 * KM_DEG]), LAT, LNG, np.array([80.0, 20.0]))
    assert math.isnan(far.values[0]) and far.sources[0] == 0


def test_one_station_within_reach_is_not_enough_for_an_estimate():
    # 3.5 km from the first station (in reach), 5.5 km from the second (out of reach).
    found = ip.idw(np.array([0.0]), np.array([-3.5 * KM_DEG]), LAT, LNG,
                   np.array([80.0, 20.0]))
    assert math.isnan(found.values[0])
    wider = ip.idw(np.array([0.0]), np.array([-3.5 * KM_DEG]), LAT, LNG,
                   np.array([80.0, 20.0]), max_km=6.0)
    assert 20.0 < wider.values[0] < 80.0


def test_a_station_without_a_value_at_a_step_leaves_that_step_to_the_others():
    lng = np.array([0.0, 2 * KM_DEG, 4 * KM_DEG])
    values = np.array([[80.0, 80.0], [20.0, np.nan], [20.0, 20.0]])
    found = ip.idw(np.array([0.0]), np.array([1 * KM_DEG]), np.zeros(3), lng, values)
    assert found.sources[0].tolist() == [3, 2]
    assert found.values[0, 1] == pytest.approx((1 * 80 + 1 / 9 * 20) / (1 + 1 / 9))


def test_a_station_without_a_value_leaves_its_own_spot_to_its_neighbours():
    values = np.array([[np.nan], [20.0], [40.0]])
    found = ip.idw(np.array([0.0]), np.array([2 * KM_DEG]), np.zeros(3),
                   np.array([0.0, 1 * KM_DEG, 3 * KM_DEG]), values)
    assert found.values[0, 0] == pytest.approx(30.0)  # 1 km from each of the other two


def test_no_stations_give_no_estimates():
    found = ip.idw(np.array([0.0, 1.0]), np.array([0.0, 1.0]), np.array([]), np.array([]),
                   np.zeros((0, 3)))
    assert found.values.shape == (2, 3) and np.isnan(found.values).all()
