"""The bar's second half: a simulated industrial episode's true source ranks first upwind.

The simulator plans an industrial episode at a source of the demo register;
the stations report the plume and the wind. Taking the station the plume
reaches and the wind it reports at the peak hour, `rank_sources` must put the
planned source first. Detecting the episode is `episodes`'s (its own tests);
here a simple stand-in finds the peak hour from hourly means.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import msgspec
import numpy as np
import pandas as pd
import pytest

from onegrid.alerts import aqi
from onegrid.alerts.upwind import rank_sources
from onegrid.geo.registry import load_registry
from onegrid.streams.contract import EVENT_TYPES
from onegrid.streams.simulation.frame import city_frame
from onegrid.streams.simulation.stacks import emitting, stack_plume
from onegrid.streams.simulator import episode_pm25, make_plan, simulate
from tests.streams.conftest_city import make_tiny_city

SHANGHAI = ZoneInfo("Asia/Shanghai")
START = datetime(2024, 5, 6, tzinfo=SHANGHAI)
# Seed 2 plans, 25 minutes into a 10-hour run, a 5-hour release at the Pengpu
# machinery works (PS-JA-01) whose plume reaches the Daning station.
SEED, DURATION_S = 2, 10 * 3600
POLLUTANTS = ("pm25", "pm10", "no2", "so2", "o3", "co")


@pytest.fixture(scope="module")
def demo():
    return load_registry()


@pytest.fixture(scope="module")
def plan(demo):
    return make_plan(demo, seed=SEED, start=START, duration_s=DURATION_S)


@pytest.fixture(scope="module")
def episode(plan):
    return next(e for e in plan.episodes if e.source_id and plan.start_ms <= e.start_ms
                and e.start_ms + e.life_s * 1000 <= plan.end_ms)


@pytest.fixture(scope="module")
def hourly(demo) -> pd.DataFrame:
    """Station readings of the run as hourly means (wind as a vector mean), one row per hour."""
    decode = msgspec.json.Decoder(EVENT_TYPES["environment"]).decode
    rows = []
    for m in simulate(demo, rate=2.0, duration_s=DURATION_S, seed=SEED, start=START):
        if m.topic_suffix == "environment" and not m.fault:
            e = decode(m.value)
            rows.append({"station_id": e.station_id, "ts_ms": m.ts_ms,
                         "wind_dir": e.wind_dir_deg, "wind_speed": e.wind_speed_ms,
                         **{p: getattr(e, p) for p in POLLUTANTS}})
    readings = pd.DataFrame(rows).astype({p: float for p in POLLUTANTS})
    readings["hour_ms"] = readings.ts_ms // 3_600_000 * 3_600_000
    rad = np.radians(readings.wind_dir)
    readings["east"], readings["north"] = np.sin(rad), np.cos(rad)
    out = readings.groupby(["station_id", "hour_ms"]).mean(numeric_only=True).reset_index()
    out["wind_dir"] = np.degrees(np.arctan2(out.east, out.north)) % 360
    out["aqi"], out["primary"] = aqi.hourly_aqi({p: out[p].to_numpy() for p in POLLUTANTS})
    return out


def reached(demo, plan, episode) -> str:
    """Return the station the plume reaches most (from the plan: where to look)."""
    life = np.linspace(episode.start_ms, episode.start_ms + episode.life_s * 1000, 300)
    return max(demo.stations.values(), key=lambda s: episode_pm25(
        demo, plan, episode, s.lat, s.lng, life).max()).station_id


def peak_of(hourly: pd.DataFrame, station_id: str, episode) -> pd.Series:
    """Return the station's hour of highest AQI during the release (stand-in for `episodes`)."""
    end_ms = episode.start_ms + episode.life_s * 1000
    during = hourly[(hourly.station_id == station_id) & (hourly.hour_ms < end_ms)
                    & (hourly.hour_ms >= episode.start_ms - 3_600_000)]
    return during.loc[during.aqi.idxmax()]


def test_the_plan_names_a_registered_source_for_the_industrial_episode(demo, episode):
    source = demo.sources[episode.source_id]
    assert episode.kind == "industrial" and source in emitting(demo)
    assert (episode.lat, episode.lng) == (source.lat, source.lng)


def test_the_episode_exceeds_at_the_station_its_plume_reaches(demo, plan, hourly, episode):
    station_id = reached(demo, plan, episode)
    peak = peak_of(hourly, station_id, episode)
    assert peak.aqi > 100  # an exceedance (超标) hour, so an episode to explain
    before = hourly[(hourly.station_id == station_id) & (hourly.hour_ms < episode.start_ms)]
    assert before.aqi.max() <= 100  # and the release made it


def test_the_true_source_ranks_first_among_the_upwind_candidates(demo, plan, hourly, episode):
    peak = peak_of(hourly, reached(demo, plan, episode), episode)
    station = demo.stations[peak.station_id]
    pollutant = peak.primary[0]
    candidates = rank_sources(station.lat, station.lng, peak.wind_dir, peak.wind_speed,
                              demo.sources, pollutant=pollutant)
    assert len(candidates) > 5  # a real choice: the register is dense around it
    first = candidates[0]
    assert first.source.source_id == episode.source_id
    assert first.off_wind_deg < 30  # and it lies where the reported wind comes from


def test_a_stacks_plume_lies_downwind_and_touches_the_ground_away_from_the_stack(demo, plan,
                                                                                 episode):
    frame = city_frame(demo)
    mid = np.array([episode.start_ms + episode.life_s * 500])
    wind_from, _ = plan.wind.at(mid)
    to = np.radians(wind_from[0] + 180)
    ox, oy = frame.to_xy(episode.lat, episode.lng)

    def at(km_downwind: float, km_across: float = 0.0) -> float:
        x = ox + km_downwind * np.sin(to) + km_across * np.cos(to)
        y = oy + km_downwind * np.cos(to) - km_across * np.sin(to)
        return float(stack_plume(episode, plan.wind, frame, np.array([x]), np.array([y]),
                                 mid)[0])
    assert at(-2.0) == 0 and at(0.2) < 0.01 * at(1.5)  # nothing upwind or at its foot
    assert at(1.5) == pytest.approx(episode.peak, rel=0.01)  # mid-life, on the axis
    assert at(5.0) < at(3.0) < at(1.5)
    assert at(3.0, km_across=2.0) < 0.05 * at(3.0)


@pytest.mark.parametrize("seed", range(8))
def test_every_industrial_episode_of_the_demo_city_starts_at_an_emitting_source(demo, seed):
    plan = make_plan(demo, seed=seed, start=START, duration_s=DURATION_S)
    allowed = {s.source_id for s in emitting(demo)}
    for e in plan.episodes:
        assert (e.kind == "industrial") == bool(e.source_id)
        assert not e.source_id or e.source_id in allowed


def test_a_city_without_a_register_plans_industrial_episodes_without_a_source(tmp_path):
    tiny = load_registry(make_tiny_city(tmp_path))
    plan = make_plan(tiny, seed=5, start=START, duration_s=DURATION_S)
    assert "industrial" in {e.kind for e in plan.episodes}
    assert all(e.source_id == "" for e in plan.episodes)
    assert make_plan(tiny, seed=5, start=START, duration_s=DURATION_S).episodes == plan.episodes
