"""The simulator: reproducible, contract-valid traffic with the rhythms and faults of a city."""

from __future__ import annotations

import math
from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import msgspec
import numpy as np
import pytest

from onegrid.geo.registry import DEMO_CITY_DIR, load_registry
from onegrid.streams.contract import EVENT_TYPES, POLLUTANTS
from onegrid.streams.simulator import MALFORMED, episode_pm25, make_plan, simulate
from onegrid.streams.validate import RawMessage, validate
from tests.streams.conftest_city import make_tiny_city

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2024, 5, 6, tzinfo=SHANGHAI)
DECODERS = {topic: msgspec.json.Decoder(cls) for topic, cls in EVENT_TYPES.items()}


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    return load_registry(make_tiny_city(tmp_path_factory.mktemp("city")))


@pytest.fixture(scope="module")
def busy_hour(city):
    """Ten busy minutes with a generous malformed share."""
    start = MONDAY + timedelta(hours=9)
    return list(simulate(city, rate=250, duration_s=600, seed=11, start=start,
                         malformed_share=0.03))


@pytest.fixture(scope="module")
def whole_day(city):
    """A quiet whole day from local midnight, one message a second."""
    return list(simulate(city, rate=1.0, duration_s=86400, seed=5, start=MONDAY))


def _decoded(messages, topic):
    return [(m, DECODERS[topic].decode(m.value)) for m in messages
            if m.topic_suffix == topic and not m.fault]


def _local_hour(ts_ms: int) -> int:
    return datetime.fromtimestamp(ts_ms / 1000, SHANGHAI).hour


def _km(lat1, lng1, lat2, lng2):
    kx = 111.32 * math.cos(math.radians(lat1))
    return np.hypot((np.asarray(lng2) - lng1) * kx, (np.asarray(lat2) - lat1) * 110.574)


def test_same_seed_gives_identical_bytes_and_another_seed_does_not(city):
    def run(seed):
        return list(simulate(city, rate=300, duration_s=60, seed=seed, start=MONDAY,
                             malformed_share=0.05))
    first, again, other = run(1), run(1), run(2)
    assert first == again
    assert [m.value for m in first] != [m.value for m in other]


def test_messages_come_in_send_time_order_inside_the_run(busy_hour):
    ts = [m.ts_ms for m in busy_hour]
    start = int((MONDAY + timedelta(hours=9)).timestamp() * 1000)
    assert ts == sorted(ts)
    assert start <= ts[0] and ts[-1] < start + 600_000


def test_rate_is_the_average_total_across_the_three_topics(busy_hour):
    counts = Counter(m.topic_suffix for m in busy_hour)
    assert set(counts) == {"sensor", "environment", "incident"}
    # 09:00-09:10 is busy for incidents, so the total runs a little over the rate.
    assert 0.9 * 250 * 600 < len(busy_hour) < 1.25 * 250 * 600


def test_every_good_message_decodes_against_its_topics_contract(busy_hour):
    good = [m for m in busy_hour if not m.fault]
    for m in good:
        event = DECODERS[m.topic_suffix].decode(m.value)
        ts = event.ts if isinstance(event.ts, int) else int(event.ts.timestamp() * 1000)
        assert ts == m.ts_ms
    assert not any(b"bad-" in m.value for m in good)


def test_sensor_values_are_finite_and_healthy_devices_stay_plausible(city, busy_hour):
    plan = make_plan(city, seed=11, start=MONDAY + timedelta(hours=9), duration_s=600)
    faulty = {f.sensor_id for f in plan.faults}
    for m, e in _decoded(busy_hour, "sensor"):
        assert math.isfinite(e.value)
        assert m.key == e.sensor_id.encode()
        metric = city.metrics[e.metric]
        assert e.unit in (None, metric.unit)
        if e.sensor_id not in faulty:
            assert metric.min_plausible <= e.value <= metric.max_plausible


def test_station_readings_carry_pollutants_and_the_wind(busy_hour):
    for m, e in _decoded(busy_hour, "environment"):
        assert m.key == e.station_id.encode()
        values = [getattr(e, p) for p in POLLUTANTS if getattr(e, p) is not None]
        assert values and all(v >= 0 for v in values)
        assert 0 <= e.wind_dir_deg <= 360 and 0 <= e.wind_speed_ms <= 20


def test_incident_reports_use_the_catalogue_and_hotline_reports_name_a_reporter(city, busy_hour):
    reports = _decoded(busy_hour, "incident")
    for m, e in reports:
        assert e.category in city.categories
        assert e.severity is None or 1 <= e.severity <= 4
        assert -90 <= e.lat <= 90 and -180 <= e.lng <= 180
        assert e.description
        if e.source in ("hotline", "app"):
            assert e.reporter.name and len(e.reporter.phone) == 11
            assert m.key == e.source.encode()
        else:
            assert e.reporter is None
            assert m.key.decode().startswith(e.source + "-")
    shares = Counter(e.source for _, e in reports)
    assert shares["hotline"] > shares["video"] > 0 and shares["patrol"] > 0
    severities = [e.severity for _, e in reports if e.severity is not None]
    defaults = [city.categories[e.category].default_severity for _, e in reports
                if e.severity is not None]
    assert np.mean(np.equal(severities, defaults)) > 0.6


def test_sensors_mostly_leave_their_location_to_the_registry(busy_hour):
    located = [e.lat is not None for _, e in _decoded(busy_hour, "sensor")]
    assert 0 < np.mean(located) < 0.5


def test_timestamps_come_both_as_iso_with_offset_and_as_epoch_ms(busy_hour):
    kinds = Counter(b'"ts":"' in m.value for m in busy_hour if not m.fault)
    assert kinds[True] > 0 and kinds[False] > 0
    iso = next(m.value for m in busy_hour if b'"ts":"' in m.value and not m.fault)
    assert b'+08:00"' in iso


def test_good_messages_pass_validation_and_each_malformed_kind_fails_with_its_code(
        city, busy_hour):
    raw = [RawMessage("onegrid." + m.topic_suffix, 0, i, m.key, m.value, m.topic_suffix)
           for i, m in enumerate(busy_hour)]
    now = datetime.fromtimestamp(busy_hour[-1].ts_ms / 1000, UTC)
    result = validate(raw, city, now)
    codes = {r.message.offset: r.code for r in result.rejections}
    assert not [busy_hour[i].value for i in codes if not busy_hour[i].fault]
    for i, m in enumerate(busy_hour):
        if m.fault:
            assert codes.get(i) == MALFORMED[m.fault].code, m.value[:300]


def test_malformed_share_is_about_right_and_covers_many_kinds(city):
    messages = list(simulate(city, rate=600, duration_s=300, seed=3, start=MONDAY))
    bad = [m for m in messages if m.fault]
    assert 0.004 < len(bad) / len(messages) < 0.006
    assert len({m.fault for m in bad}) >= 12
    assert all(b"bad-" in m.value for m in bad)


def test_every_malformed_kind_appears_in_a_long_enough_run(busy_hour):
    assert {m.fault for m in busy_hour if m.fault} == set(MALFORMED)


def test_oversized_and_not_utf8_messages_are_what_they_say(busy_hour):
    oversized = [m for m in busy_hour if m.fault == "oversized"]
    assert oversized and all(len(m.value) > 64 * 1024 for m in oversized)
    for m in (m for m in busy_hour if m.fault == "not_utf8"):
        with pytest.raises(UnicodeDecodeError):
            m.value.decode("utf-8")


def test_noise_is_louder_at_eight_than_at_three_local_time(whole_day):
    noise = [(_local_hour(m.ts_ms), e.value) for m, e in _decoded(whole_day, "sensor")
             if e.metric == "noise_db"]
    at = {h: np.mean([v for hh, v in noise if hh == h]) for h in (3, 8)}
    assert at[8] > at[3] + 5


def test_ozone_peaks_in_the_afternoon_and_incidents_come_by_day(whole_day):
    o3 = [(_local_hour(m.ts_ms), e.o3) for m, e in _decoded(whole_day, "environment")
          if e.o3 is not None]
    afternoon = np.mean([v for h, v in o3 if 13 <= h <= 16])
    night = np.mean([v for h, v in o3 if 1 <= h <= 4])
    assert afternoon > 2 * night
    hours = Counter(_local_hour(m.ts_ms) for m in whole_day
                    if m.topic_suffix == "incident" and not m.fault)
    assert sum(hours[h] for h in range(10, 17)) > 2 * sum(hours[h] for h in range(0, 7))


def test_an_episode_grows_and_fades_at_the_station_it_passes(city):
    duration = 6 * 3600
    plan = make_plan(city, seed=8, start=MONDAY, duration_s=duration)
    episode = next(e for e in plan.episodes if e.start_ms >= plan.start_ms)
    end_ms = episode.start_ms + episode.life_s * 1000
    assert end_ms <= plan.end_ms
    life = np.linspace(episode.start_ms, end_ms, 200)
    station = max(city.stations.values(), key=lambda s: episode_pm25(
        city, plan, episode, s.lat, s.lng, life).max())
    readings = [(m.ts_ms, e.pm25) for m, e in _decoded(
        simulate(city, rate=3.0, duration_s=duration, seed=8, start=MONDAY), "environment")
        if e.station_id == station.station_id]

    def mean_pm25(lo: float, hi: float) -> float:
        span = end_ms - episode.start_ms
        return np.mean([v for t, v in readings
                        if episode.start_ms + lo * span <= t < episode.start_ms + hi * span])
    middle = mean_pm25(0.4, 0.6)
    assert middle > mean_pm25(0.0, 0.1) + 15
    assert middle > mean_pm25(0.9, 1.0) + 15


def test_wind_turns_slowly(city):
    plan = make_plan(city, seed=4, start=MONDAY, duration_s=86400)
    direction, speed = plan.wind.at(np.arange(plan.start_ms, plan.end_ms, 60_000))
    turn = np.abs((np.diff(direction) + 180) % 360 - 180)
    assert turn.max() < 5 and turn.sum() > 20  # it changes, a little a minute
    assert speed.min() >= 0.3


def test_a_silent_sensor_has_a_gap_and_a_stuck_one_repeats_itself(city):
    start, duration = MONDAY + timedelta(hours=10), 1800
    plan = make_plan(city, seed=21, start=start, duration_s=duration)
    messages = list(simulate(city, rate=40, duration_s=duration, seed=21, start=start))
    readings = _decoded(messages, "sensor")
    silent = next(f for f in plan.faults if f.kind == "silent")
    times = [m.ts_ms for m, e in readings if e.sensor_id == silent.sensor_id]
    assert not [t for t in times if silent.start_ms <= t < silent.end_ms]
    assert min(times) < silent.start_ms and max(times) >= silent.end_ms
    stuck = next(f for f in plan.faults if f.kind == "stuck")
    values = {e.value for m, e in readings
              if e.sensor_id == stuck.sensor_id and stuck.start_ms <= m.ts_ms < stuck.end_ms}
    assert len(values) == 1


def test_incidents_cluster_near_hotspots(city, busy_hour):
    spots = list(city.hotspots.values())
    lat = np.array([e.lat for _, e in _decoded(busy_hour, "incident")])
    lng = np.array([e.lng for _, e in _decoded(busy_hour, "incident")])

    def nearest_km(lat, lng):
        return np.min([_km(s.lat, s.lng, lat, lng) for s in spots], axis=0)
    rng = np.random.default_rng(0)
    uniform = (rng.uniform(lat.min(), lat.max(), lat.size), rng.uniform(lng.min(), lng.max(),
                                                                        lng.size))
    assert np.median(nearest_km(lat, lng)) < 0.25 * np.median(nearest_km(*uniform))


def test_simulate_refuses_a_rate_that_is_not_positive(city):
    with pytest.raises(ValueError, match="rate"):
        next(simulate(city, rate=0, duration_s=10, seed=1, start=MONDAY))


def test_a_naive_start_is_the_citys_local_time(city):
    naive = next(simulate(city, rate=50, duration_s=10, seed=1, start=datetime(2024, 5, 6, 9)))
    aware = next(simulate(city, rate=50, duration_s=10, seed=1, start=MONDAY + timedelta(hours=9)))
    assert naive == aware


@pytest.mark.skipif(not (DEMO_CITY_DIR / "sensors.csv").is_file(), reason="no demo city yet")
def test_the_demo_city_simulates_cleanly():
    demo = load_registry()
    messages = list(simulate(demo, rate=500, duration_s=120, seed=1, start=MONDAY))
    raw = [RawMessage("onegrid." + m.topic_suffix, 0, i, m.key, m.value, m.topic_suffix)
           for i, m in enumerate(messages)]
    result = validate(raw, demo, datetime.fromtimestamp(messages[-1].ts_ms / 1000, UTC))
    rejected = {r.message.offset for r in result.rejections}
    assert rejected == {i for i, m in enumerate(messages) if m.fault}
