"""Upwind candidates: the source the wind comes from, near, with a big permit, ranks first."""

from __future__ import annotations

import math

import pytest

from onegrid.alerts.upwind import Candidate, rank_sources
from onegrid.geo.registry import PollutionSource, load_registry

LAT, LNG = 31.23, 121.47  # the episode's station


def place(bearing_deg: float, km: float) -> tuple[float, float]:
    """Return the point `km` from the station towards `bearing_deg` (flat, fine at city scale)."""
    b = math.radians(bearing_deg)
    return (LAT + km * math.cos(b) / 110.574,
            LNG + km * math.sin(b) / (111.320 * math.cos(math.radians(LAT))))


def source(name: str, bearing_deg: float, km: float, **permits: float) -> PollutionSource:
    lat, lng = place(bearing_deg, km)
    return PollutionSource(name, name, name, "enterprise", lat, lng, "HP", permits)


def ranked(sources, wind_from=0.0, speed=3.0, **kw) -> list[str]:
    return [c.source.source_id for c in rank_sources(LAT, LNG, wind_from, speed, sources, **kw)]


# (name, wind from, speed, sources as (id, bearing, km), expected order)
GEOMETRY = [
    ("wind from the north: north beats nearly crosswind beats south", 0, 3,
     [("south", 180, 3), ("side", 80, 3), ("north", 0, 3)], ["north", "side", "south"]),
    ("wind from the east: the eastern source first", 90, 3,
     [("ne", 60, 3), ("east", 90, 3), ("west", 270, 3)], ["east", "ne", "west"]),
    ("wind from the south-west", 225, 4,
     [("ne", 45, 2), ("sw", 225, 3), ("s", 190, 2)], ["sw", "s", "ne"]),
    ("wind from the west", 270, 2,
     [("west", 270, 4), ("east", 90, 1)], ["west", "east"]),
    ("the wrap at north: 10 is closer to 350 than 300 is", 350, 3,
     [("b300", 300, 3), ("b10", 10, 3)], ["b10", "b300"]),
    ("the wrap at north the other way: 355 is on a wind from 5", 5, 3,
     [("b60", 60, 3), ("b355", 355, 3)], ["b355", "b60"]),
    ("near upwind beats far upwind", 0, 3,
     [("far", 0, 6), ("near", 0, 2)], ["near", "far"]),
    ("upwind a little off the wind beats straight downwind and nearer", 0, 3,
     [("downwind", 180, 1), ("upwind", 30, 3)], ["upwind", "downwind"]),
    ("downwind sources rank among themselves by distance", 0, 3,
     [("down5", 180, 5), ("down2", 170, 2), ("up", 0, 8)], ["up", "down2", "down5"]),
    ("calm wind: distance only", 0, 0.2,
     [("upwind", 0, 4), ("downwind", 180, 2)], ["downwind", "upwind"]),
]


@pytest.mark.parametrize(("wind_from", "speed", "places", "expected"),
                         [g[1:] for g in GEOMETRY], ids=[g[0] for g in GEOMETRY])
def test_sources_rank_by_direction_from_the_wind_and_distance(wind_from, speed, places,
                                                              expected):
    sources = [source(name, b, km) for name, b, km in places]
    assert ranked(sources, wind_from, speed) == expected


def test_no_wind_direction_ranks_by_distance_only():
    sources = [source("up", 0, 4), source("down", 180, 2), source("side", 90, 3)]
    assert ranked(sources, wind_from=None, speed=None) == ["down", "side", "up"]
    assert ranked(sources, wind_from=float("nan"), speed=3.0) == ["down", "side", "up"]


@pytest.mark.parametrize("km", [0.5, 1, 2, 4, 6, 9])
@pytest.mark.parametrize("down_bearing", [91, 120, 150, 180, 210, 269])
def test_a_downwind_source_never_ranks_above_an_upwind_one_at_similar_distance(km, down_bearing):
    # Even with a permit a thousand times bigger, and slightly nearer.
    up = source("up", 60, km, pm25=0.1)
    down = source("down", down_bearing, 0.9 * km, pm25=100.0)
    assert ranked([down, up], wind_from=0, pollutant="pm25") == ["up", "down"]


def test_a_bigger_permit_for_the_episodes_pollutant_ranks_first_at_the_same_place():
    small = source("small", 10, 3, so2=0.5, no2=40.0)
    big = source("big", 10, 3, so2=6.0)
    assert ranked([small, big], pollutant="so2") == ["big", "small"]
    assert ranked([small, big], pollutant="no2") == ["small", "big"]
    # Without a pollutant, permits do not count: a tie, broken by id.
    assert ranked([small, big]) == ["big", "small"]


def test_ozone_suspects_are_the_sources_permitted_its_precursors():
    printer = source("print", 0, 3, vocs=15.0)
    site = source("site", 0, 3)
    assert ranked([site, printer], pollutant="o3") == ["print", "site"]


def test_sources_beyond_the_radius_are_no_candidates():
    sources = [source("in", 0, 9.5), source("out", 0, 10.5)]
    assert ranked(sources) == ["in"]
    assert ranked(sources, radius_km=12) == ["in", "out"]
    assert ranked(sources, radius_km=5) == []


def test_light_wind_weighs_the_direction_in_part():
    sources = [source("up", 0, 3), source("down", 180, 2.5)]
    assert ranked(sources, speed=0.4) == ["down", "up"]  # calm: nearer wins
    assert ranked(sources, speed=1.6) == ["up", "down"]  # steady: the wind decides
    at_one = {c.source.source_id: c.score for c in rank_sources(LAT, LNG, 0, 1.0, sources)}
    assert 0 < at_one["down"] < at_one["up"]


def test_a_candidate_says_how_far_which_way_and_how_far_off_the_wind():
    [c] = rank_sources(LAT, LNG, 350.0, 3.0, [source("s", 20, 4)])
    assert isinstance(c, Candidate) and c.source.source_id == "s"
    assert c.distance_km == pytest.approx(4, rel=0.01)
    assert c.bearing_deg == pytest.approx(20, abs=0.5)  # from the episode to the source
    assert c.off_wind_deg == pytest.approx(30, abs=0.5)
    assert c.score > 0


def test_a_source_at_the_station_counts_as_on_the_wind():
    [c] = rank_sources(LAT, LNG, 0.0, 3.0, [source("here", 180, 0.01)])
    assert c.off_wind_deg == 0 and c.score == pytest.approx(1.0, rel=1e-3)


def test_the_register_may_come_as_a_mapping_or_a_list_and_may_be_empty():
    demo = load_registry().sources
    as_map = rank_sources(31.2830, 121.3800, 270.0, 3.0, demo, radius_km=3)
    assert as_map == rank_sources(31.2830, 121.3800, 270.0, 3.0, list(demo.values()),
                                  radius_km=3)
    assert as_map[0].source.source_id == "PS-PT-01"  # the chemical works west of Taopu
    assert rank_sources(LAT, LNG, 0.0, 3.0, {}) == []
