"""Exceedance episodes through the live engine on the real broker: detected hour by hour in
the batch's transaction, shared on onegrid.shared when near the city edge, never twice.

Each test produces readings, runs `EngineRunner` until idle against a store
under tmp_path, and reads the `episodes` table and the shared topic.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from onegrid.alerts import aqi
from onegrid.geo import episode_store
from onegrid.streams.consumer import EngineConfig, EngineRunner
from onegrid.streams.episode_feed import EpisodeSettings
from onegrid.streams.simulator import episode_pm25, make_plan, simulate
from onegrid.streams.validate import RawMessage, validate

from .air_readings import EDGE, INLAND, T0, hourly_messages
from .kafka_helpers import consume_all, produce

pytestmark = [pytest.mark.broker, pytest.mark.slow]
H = timedelta(hours=1)
CITY = "shanghai-central"


def run_engine(broker, prefix, group, store, city, now):
    config = EngineConfig(bootstrap=broker, prefix=prefix, group_id=group,
                          session_timeout_ms=6000, until_idle_s=2.0)
    return EngineRunner(config, city, store, clock=lambda: now, out=None,
                        episodes=EpisodeSettings(CITY, edge_km=3.0)).run()


def shared(broker, prefix, at_most: int = 20) -> list[dict]:
    """Return what onegrid.shared holds (reads until `at_most` records or a quiet 3 s)."""
    records = consume_all(broker, prefix + "shared", at_most, timeout_s=3.0)
    return [json.loads(r.value) for r in records]


def episodes_of(store, station: str) -> list[dict]:
    return episode_store.read_episodes(store.cursor(), "key = ?", [station])


# -- hand-written hours: exact start, peak and end ---------------------------------------

# PM2.5 per hour: clean, a ramp to 160 µg/m³ (IAQI 210) at hour 4 and down, clean.
RAMP = [30, 30, 80, 120, 160, 120, 80, 30, 30, 30, 30]
FLAT = [30, 30, 30, 100, 100, 30, 30, 30, 30, 30, 30]


def test_an_episode_is_detected_once_with_its_start_peak_and_end_and_shared_only_near_the_edge(
        broker, topic_factory, group_factory, store, demo_city):
    prefix = topic_factory(partitions=1)
    produce(broker, prefix, hourly_messages({EDGE: RAMP, INLAND: FLAT}))
    run_engine(broker, prefix, group_factory("ep"), store, demo_city, T0 + 12 * H)

    (edge,) = episodes_of(store, EDGE)
    assert (edge["start_at"], edge["peak_at"], edge["end_at"], edge["hours"]) == \
        (T0 + 2 * H, T0 + 5 * H, T0 + 7 * H, 5)
    assert (edge["peak_aqi"], edge["pollutant"], edge["peak_value"]) == (210.0, "pm25", 160.0)
    assert edge["near_edge"] and edge["wind_dir_deg"] == pytest.approx(104.0)
    (inland,) = episodes_of(store, INLAND)
    assert (inland["start_at"], inland["peak_at"], inland["end_at"], inland["near_edge"]) == \
        (T0 + 3 * H, T0 + 4 * H, T0 + 5 * H, False)

    sent = shared(broker, prefix)
    assert {m["station_id"] for m in sent} == {EDGE}
    # Shared when found and when ended; both at once when one decision saw the whole day.
    ids = [m["id"] for m in sent]
    assert len(set(ids)) == len(ids) and ids[-1] == f"{CITY}:{EDGE}:20260601T0200Z:end"
    last = sent[-1]
    assert (last["episode_start"], last["episode_end"], last["aqi"]) == \
        ((T0 + 2 * H).isoformat(), (T0 + 7 * H).isoformat(), 210.0)
    for message in sent:
        assert_valid_environment_event(message, demo_city)


def assert_valid_environment_event(message: dict, city) -> None:
    """The neighbour's engine takes the message as a good v1 environment reading."""
    raw = RawMessage("neighbour.environment", 0, 0, message["station_id"].encode(),
                     json.dumps(message).encode(), "environment")
    checked = validate([raw], city.registry, T0 + 24 * H)
    assert checked.rejections == [] and checked.events.num_rows == 1
    row = checked.events.to_pylist()[0]
    assert (row["source_id"], row["pm25"]) == (message["station_id"], message["pm25"])
    assert (row["lat"], row["lng"]) == (message["lat"], message["lng"])
    assert message["shared_by"] == CITY and message["primary_pollutant"] == "pm25"
    assert message["episode_id"] and message["aqi"] > 100


def test_restarts_and_replays_share_an_episode_once_when_found_and_once_when_it_ends(
        broker, topic_factory, group_factory, store, demo_city):
    prefix, group = topic_factory(partitions=1), group_factory("ep-restart")
    # First run: up to hour 4, the episode under way (the clock decides hours up to 04:00).
    first = list(hourly_messages({EDGE: RAMP, INLAND: FLAT}, last_hour=4))
    produce(broker, prefix, first)
    run_engine(broker, prefix, group, store, demo_city, T0 + 12 * H)
    (ongoing,) = episodes_of(store, EDGE)
    assert ongoing["end_at"] is None and ongoing["shared_at"] == T0 + 4 * H

    # Restart with nothing new: nothing is decided or sent again.
    run_engine(broker, prefix, group, store, demo_city, T0 + 12 * H)
    assert store.scalar("SELECT count(*) FROM outbox") == 0

    # Restart with the rest of the day: the end goes out once, as an update.
    produce(broker, prefix, hourly_messages({EDGE: RAMP, INLAND: FLAT}, first_hour=5))
    run_engine(broker, prefix, group, store, demo_city, T0 + 12 * H)
    # And a replay of the first hours changes nothing (repeats are dead letters).
    produce(broker, prefix, first)
    run_engine(broker, prefix, group, store, demo_city, T0 + 12 * H)

    sent = shared(broker, prefix, at_most=3)
    assert [m["id"] for m in sent] == [f"{CITY}:{EDGE}:20260601T0200Z:start",
                                       f"{CITY}:{EDGE}:20260601T0200Z:end"]
    start, end = sent
    # The first run had decided hours up to 04:00: the peak so far was hour 3 (120 µg/m³).
    assert (start["aqi"], start["ts"], start["pm25"]) == (158.0, (T0 + 4 * H).isoformat(), 120)
    assert (end["aqi"], end["ts"], end["episode_end"]) == \
        (210.0, (T0 + 5 * H).isoformat(), (T0 + 7 * H).isoformat())
    for message in sent:
        assert_valid_environment_event(message, demo_city)
    (done,) = episodes_of(store, EDGE)
    assert (done["start_at"], done["peak_at"], done["end_at"]) == (T0 + 2 * H, T0 + 5 * H,
                                                                 T0 + 7 * H)
    assert store.scalar("SELECT count(*) FROM dead_letters WHERE error_code = 'duplicate_id'") \
        == len(first)


# -- the simulator: a plume drifting over the city ----------------------------------------

SEED, HOURS, RATE = 7, 12, 1.0  # seed 7's dust episode crosses the south-east at hours 3-5


def test_a_simulated_episode_is_detected_as_one_episode_with_the_right_start_peak_and_end(
        broker, topic_factory, group_factory, store, demo_city):
    messages = list(simulate(demo_city.registry, rate=RATE, duration_s=HOURS * 3600, seed=SEED,
                             start=T0))
    truth = exceeding_hours(messages, EDGE)
    hours = np.flatnonzero(truth["aqi"] > 100)
    assert hours.tolist() == list(range(hours[0], hours[-1] + 1)), \
        "the seed should give one unbroken run of exceeding hours at the station"
    peak = int(np.nanargmax(truth["aqi"]))

    prefix = topic_factory()
    produce(broker, prefix, ((m.topic_suffix, m.key, m.value) for m in messages))
    run_engine(broker, prefix, group_factory("ep-sim"), store, demo_city, T0 + (HOURS + 1) * H)

    (found,) = episodes_of(store, EDGE)
    assert (found["start_at"], found["peak_at"], found["end_at"]) == \
        (T0 + int(hours[0]) * H, T0 + (peak + 1) * H, T0 + (int(hours[-1]) + 1) * H)
    assert found["peak_aqi"] == truth["aqi"][peak]
    assert found["pollutant"] == truth["primary"][peak][0]
    # The peak is where the simulated plume itself peaks over the station (within the hour).
    plume_peak_h = plume_peak_hour(demo_city.registry, EDGE)
    assert abs(peak + 0.5 - plume_peak_h) <= 1.0
    ids = [m["episode_id"] for m in shared(broker, prefix, at_most=200)
           if m["station_id"] == EDGE]
    assert ids == [found["episode_id"]]


def exceeding_hours(messages, station: str) -> dict:
    """Return the station's hourly AQI and primary pollutants, computed here from the
    simulator's messages: the mean of each hour's readings, valid with 3 quarter hours."""
    sums = defaultdict(lambda: np.zeros((HOURS, 2)))
    quarters = defaultdict(set)
    start_ms = int(T0.timestamp() * 1000)
    for m in messages:
        if m.topic_suffix != "environment" or m.fault or m.key != station.encode():
            continue
        reading = json.loads(m.value)
        hour = (m.ts_ms - start_ms) // 3_600_000
        for p in aqi.POLLUTANTS:
            if p in reading:
                sums[p][hour] += (reading[p], 1)
                quarters[(p, hour)].add(m.ts_ms // 900_000)
    values = {}
    for p in aqi.POLLUTANTS:
        total, n = sums[p][:, 0], sums[p][:, 1]
        valid = np.array([len(quarters[(p, h)]) >= 3 for h in range(HOURS)])
        values[p] = np.where(valid & (n > 0), total / np.maximum(n, 1), np.nan)
    index, primary = aqi.hourly_aqi(values)
    return {"aqi": index, "primary": primary}


def plume_peak_hour(registry, station: str) -> float:
    """Return when (hours after T0) the plan's plumes over the station are strongest."""
    plan = make_plan(registry, seed=SEED, start=T0, duration_s=HOURS * 3600)
    s = registry.stations[station]
    ts = plan.start_ms + np.arange(0, HOURS * 3_600_000, 60_000)
    total = sum(episode_pm25(registry, plan, ep, s.lat, s.lng, ts) for ep in plan.episodes)
    return float(np.argmax(total)) / 60.0


def test_an_engine_without_episode_settings_keeps_none(broker, topic_factory, group_factory,
                                                      store, demo_city):
    prefix = topic_factory(partitions=1)
    produce(broker, prefix, hourly_messages({EDGE: RAMP}))
    config = EngineConfig(bootstrap=broker, prefix=prefix, group_id=group_factory("no-ep"),
                          session_timeout_ms=6000, until_idle_s=2.0)
    EngineRunner(config, demo_city, store, clock=lambda: datetime(2026, 6, 2, tzinfo=UTC),
                 out=None).run()
    assert store.scalar("SELECT count(*) FROM episodes") == 0
