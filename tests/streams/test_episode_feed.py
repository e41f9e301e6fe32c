"""The engine's episode step through its own write path, without a broker.

Each hour's readings are one batch, stored with `store_outcome` and then
decided with `decide_episodes` in the same transaction, as the live loop does.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from onegrid.geo import episode_store
from onegrid.streams.engine import process, store_outcome
from onegrid.streams.episode_feed import EpisodeSettings, decide_episodes
from onegrid.streams.validate import RawMessage

from .air_readings import EDGE, INLAND, T0, hourly_messages

H = timedelta(hours=1)
RAMP = [30, 30, 80, 120, 160, 120, 80, 30, 30, 30, 30]


class Feed:
    """Stores batches and decides episodes in one transaction each; keeps `until`."""

    def __init__(self, store, city, settings: EpisodeSettings | None = None):
        self.store, self.city, self.until, self.offset = store, city, None, 0
        self.settings = settings or EpisodeSettings("test-city")

    def send(self, items) -> int:
        """Store (suffix, key, value) items as one batch and decide; return messages shared."""
        messages = []
        for suffix, key, value in items:
            messages.append(RawMessage(f"onegrid.{suffix}", 0, self.offset, key, value, suffix))
            self.offset += 1
        outcome = process(messages, self.city, T0 + 48 * H)

        def step(cur):
            store_outcome(cur, outcome, messages, "onegrid.")
            return decide_episodes(cur, self.settings, self.city.regions, self.until,
                                   "onegrid.")

        decided = self.store.write(step)
        self.until = decided.until
        return decided.shared

    def tick(self, at, pm25: float = 30.0, tag: str = "t") -> int:
        """Send one reading on every input topic at `at`, so the clock moves there."""
        ts = at.isoformat()
        return self.send([
            ("environment", EDGE.encode(), json.dumps(
                {"id": f"{tag}-e", "ts": ts, "station_id": EDGE, "pm25": pm25}).encode()),
            ("sensor", b"s", json.dumps({"id": f"{tag}-s", "ts": ts, "sensor_id": "NZ-CN-001",
                                         "metric": "noise_db", "value": 50}).encode()),
            ("incident", b"i", json.dumps({"id": f"{tag}-i", "ts": ts, "lat": 31.23,
                                           "lng": 121.47, "category": "street_vending",
                                           "source": "hotline"}).encode())])

    def hours(self, series, first: int, last: int, **kw) -> int:
        return sum(self.send(hourly_messages(series, h, h, **kw)) for h in range(first, last + 1))

    def episodes(self, station: str = EDGE) -> list[dict]:
        return episode_store.read_episodes(self.store.cursor(), "key = ?", [station])

    def shared(self) -> list[dict]:
        rows = self.store.query("SELECT value FROM outbox WHERE topic = 'onegrid.shared' "
                                "ORDER BY seq").to_pylist()
        return [json.loads(r["value"]) for r in rows]


def test_an_hour_is_decided_only_once_the_clock_is_two_minutes_past_its_end(store, demo_city):
    feed = Feed(store, demo_city)
    feed.hours({EDGE: RAMP}, 0, 2)
    assert feed.until == T0 + 2 * H  # readings up to 02:50: hours up to 02:00
    assert feed.episodes() == []  # hour 2 exceeds, but is not decided yet
    feed.tick(T0 + 3 * H + timedelta(minutes=1), tag="x1")
    assert feed.episodes() == []
    feed.tick(T0 + 3 * H + timedelta(minutes=2), tag="x2")
    (ep,) = feed.episodes()
    assert (ep["start_at"], ep["end_at"], feed.until) == (T0 + 2 * H, None, T0 + 3 * H)


def test_hour_by_hour_and_all_at_once_decide_the_same_episodes(store_factory, demo_city):
    live = Feed(store_factory("live.duckdb"), demo_city)
    live.hours({EDGE: RAMP, INLAND: RAMP[::-1]}, 0, len(RAMP) - 1)
    once = Feed(store_factory("once.duckdb"), demo_city)
    once.send(hourly_messages({EDGE: RAMP, INLAND: RAMP[::-1]}))
    columns = ("episode_id", "start_at", "peak_at", "end_at", "peak_aqi", "hours", "pollutant")
    for station in (EDGE, INLAND):
        assert [{c: e[c] for c in columns} for e in live.episodes(station)] == \
            [{c: e[c] for c in columns} for e in once.episodes(station)]
    # Live, the episode is shared when found and when it ends; at once, when it ends.
    assert [m["id"].rsplit(":", 1)[1] for m in live.shared()] == ["start", "end"]
    assert [m["id"].rsplit(":", 1)[1] for m in once.shared()] == ["end"]


def test_deciding_again_at_the_same_clock_changes_and_sends_nothing(store, demo_city):
    feed = Feed(store, demo_city)
    feed.hours({EDGE: RAMP}, 0, 4)
    before = feed.episodes()
    assert feed.send([]) == 0 and feed.episodes() == before
    assert len(feed.shared()) == 1


def test_a_late_reading_for_a_decided_hour_changes_no_episode(store, demo_city):
    feed = Feed(store, demo_city)
    feed.hours({EDGE: RAMP}, 0, 8)
    before = feed.episodes()
    feed.tick(T0 + 4 * H + timedelta(minutes=30), pm25=900, tag="late")
    assert feed.episodes() == before
    assert store.scalar("SELECT late FROM events WHERE id = 'late-e'") is True


def test_a_restart_resumes_the_open_episode_from_the_store(store, demo_city):
    feed = Feed(store, demo_city)
    feed.hours({EDGE: RAMP}, 0, 4)
    restarted = Feed(store, demo_city)
    restarted.until = episode_store.episodes_until(store.cursor())
    restarted.offset = feed.offset
    restarted.hours({EDGE: RAMP}, 5, len(RAMP) - 1)
    (ep,) = restarted.episodes()
    assert (ep["start_at"], ep["peak_at"], ep["end_at"], ep["peak_aqi"]) == \
        (T0 + 2 * H, T0 + 5 * H, T0 + 7 * H, 210.0)


@pytest.mark.parametrize(("edge_km", "shared"), [(0.0, []), (0.5, [EDGE]), (6.0, [EDGE, INLAND])])
def test_only_stations_within_edge_km_of_the_outline_share(store, demo_city, edge_km, shared):
    feed = Feed(store, demo_city, EpisodeSettings("test-city", edge_km=edge_km))
    feed.send(hourly_messages({EDGE: RAMP, INLAND: RAMP}))
    assert sorted({m["station_id"] for m in feed.shared()}) == shared
    distances = {e["key"]: e["edge_distance_km"] for s in (EDGE, INLAND)
                 for e in feed.episodes(s)}
    assert distances[EDGE] == pytest.approx(0.29, abs=0.05)
    assert distances[INLAND] == pytest.approx(5.6, abs=0.1)


def test_the_row_keeps_the_station_place_and_the_tied_primary_pollutants(store, demo_city):
    feed = Feed(store, demo_city)
    # PM2.5 115 and PM10 250 are both IAQI 150 in hour 1.
    series = {EDGE: [20, 115, 20, 20, 20]}
    items = [*hourly_messages(series), *hourly_messages({EDGE: [40, 250, 40, 40, 40]},
                                                        pollutant="pm10", tag="p10-")]
    feed.send(items)
    (ep,) = feed.episodes()
    assert (ep["pollutant"], ep["primary_pollutants"], ep["peak_value"]) == \
        ("pm25", ["pm25", "pm10"], 115.0)
    assert (ep["pm25"], ep["pm10"], ep["scope"], ep["grid_id"]) == \
        (115.0, 250.0, "station", "HP-03-04-01")
    assert ep["district_id"] and ep["cell"]
    (message,) = feed.shared()
    assert (message["pm25"], message["pm10"], message["primary_pollutants"]) == \
        (115.0, 250.0, ["pm25", "pm10"])
