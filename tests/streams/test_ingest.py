"""Ingest against the real broker: valid events stored once on the grid, every
kind of bad input in dead letters with a reason, the good events around it kept."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import h3
import pytest

from onegrid.geo.store import Store
from onegrid.streams.consumer import EngineConfig, EngineRunner
from onegrid.streams.contract import ErrorCode

from .kafka_helpers import consume_all, event, produce

pytestmark = pytest.mark.broker

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
TS = "2026-06-01T19:55:00+08:00"  # 11:55 UTC, five minutes before the engine's clock


def run_engine(bootstrap: str, prefix: str, group: str, store: Store, city, idle: float = 2.0):
    config = EngineConfig(bootstrap=bootstrap, prefix=prefix, group_id=group,
                          session_timeout_ms=6000, until_idle_s=idle)
    return EngineRunner(config, city, store, clock=lambda: NOW, out=None).run()


def good_events(city) -> list[tuple[str, bytes, bytes, dict]]:
    """Thirteen valid events of all three topics: (suffix, key, value, expected fields)."""
    sensor = next(iter(city.registry.sensors.values()))
    station = next(iter(city.registry.stations.values()))
    category = next(iter(city.registry.categories.values()))
    # Two reports carry a photo link (a web link, a path on this node); two are old-shaped.
    photos = ["https://img.example/p0.jpg", "/media/" + "1" * 32 + ".png", None, None]
    out = []
    for i in range(4):
        lat, lng = 31.20 + i * 0.01, 121.45 + i * 0.01
        out.append(("sensor", sensor.sensor_id.encode(), event(
            id=f"good-s{i}", ts=TS, sensor_id=sensor.sensor_id, metric=sensor.metric,
            value=40.0 + i), {"lat": sensor.lat, "lng": sensor.lng}))
        out.append(("environment", station.station_id.encode(), event(
            id=f"good-e{i}", ts=1780314900000 + i, lat=lat, lng=lng,
            station_id=station.station_id, pm25=30.0 + i, no2=20.0),
            {"lat": lat, "lng": lng}))
        photo = {"photo_url": photos[i]} if photos[i] else {}
        out.append(("incident", b"hotline", event(
            id=f"good-i{i}", ts=TS, lat=lat, lng=lng, category=category.code, source="hotline",
            description="井盖缺失", reporter={"name": "张三", "phone": "13900000000"}, **photo),
            {"lat": lat, "lng": lng, "photo_url": photos[i]}))
    # Valid, but outside the city: stored with empty region fields, never dropped.
    out.append(("incident", b"app", event(
        id="good-outside", ts=TS, lat=39.9087, lng=116.3975, category=category.code,
        source="app"), {"lat": 39.9087, "lng": 116.3975, "outside": True}))
    return out


def bad_inputs(city) -> list[tuple[str, str, bytes | None, ErrorCode]]:
    """Each kind of bad input: (name, topic suffix, raw value, expected code)."""
    sensor = next(iter(city.registry.sensors.values()))
    s = {"ts": TS, "sensor_id": sensor.sensor_id, "metric": sensor.metric, "value": 1.0}
    inc = {"ts": TS, "lat": 31.2, "lng": 121.45, "category": next(iter(
        city.registry.categories)), "source": "patrol"}
    env = {"ts": TS, "lat": 31.2, "lng": 121.45, "station_id": "ST-X"}
    future = (NOW + timedelta(hours=3)).isoformat()
    sj = lambda **kw: json.dumps({**s, **kw}).encode()  # noqa: E731
    ij = lambda **kw: json.dumps({**inc, **kw}).encode()  # noqa: E731
    ej = lambda **kw: json.dumps({**env, **kw}).encode()  # noqa: E731
    return [
        ("not json", "sensor", b"this is not json", ErrorCode.NOT_JSON),
        ("empty message", "sensor", b"", ErrorCode.NOT_JSON),
        ("bad utf-8 outside strings", "incident", b"\xff\xfe{}", ErrorCode.NOT_UTF8),
        ("bad utf-8 inside a string", "incident",
         b'{"id":"x\xff","ts":1,"category":"a","source":"app"}', ErrorCode.NOT_UTF8),
        ("array, not object", "sensor", b"[1, 2, 3]", ErrorCode.NOT_OBJECT),
        ("scalar, not object", "environment", b'"hello"', ErrorCode.NOT_OBJECT),
        ("missing id", "sensor", json.dumps(s).encode(), ErrorCode.MISSING_FIELD),
        ("missing ts", "sensor", json.dumps({"id": "bad-nots", **{k: v for k, v in s.items()
                                                                  if k != "ts"}}).encode(),
         ErrorCode.MISSING_FIELD),
        ("value as a string", "sensor", sj(id="bad-str", value="12"), ErrorCode.WRONG_TYPE),
        ("NaN literal", "sensor", sj(id="bad-nan").replace(b'"value": 1.0', b'"value": NaN'),
         ErrorCode.NOT_FINITE),
        ("Infinity literal", "sensor",
         sj(id="bad-inf").replace(b'"value": 1.0', b'"value": -Infinity'), ErrorCode.NOT_FINITE),
        ("number overflowing to infinity", "sensor",
         sj(id="bad-1e999").replace(b'"value": 1.0', b'"value": 1e999'), ErrorCode.NOT_FINITE),
        ("latitude out of range", "incident", ij(id="bad-lat", lat=91.0), ErrorCode.OUT_OF_RANGE),
        ("longitude out of range", "incident", ij(id="bad-lng", lng=-181.5),
         ErrorCode.OUT_OF_RANGE),
        ("unknown category", "incident", ij(id="bad-cat", category="no_such_thing"),
         ErrorCode.UNKNOWN_CATEGORY),
        ("time far in the future", "sensor", sj(id="bad-future", ts=future),
         ErrorCode.FUTURE_TIMESTAMP),
        ("timestamp without offset", "sensor", sj(id="bad-naive", ts="2026-06-01T11:00:00"),
         ErrorCode.BAD_TIMESTAMP),
        ("timestamp not a date", "sensor", sj(id="bad-tstext", ts="yesterday"),
         ErrorCode.BAD_TIMESTAMP),
        ("oversized message", "incident", ij(id="bad-big", description="x" * 70_000),
         ErrorCode.OVERSIZED),
        ("duplicate id of a stored event", "sensor", sj(id="good-s0"), ErrorCode.DUPLICATE_ID),
        ("duplicate id within the batch", "sensor", sj(id="good-s1"), ErrorCode.DUPLICATE_ID),
        ("unknown sensor without location", "sensor", sj(id="bad-nosensor", sensor_id="ghost"),
         ErrorCode.UNKNOWN_SENSOR),
        ("unknown station without location", "environment",
         json.dumps({"id": "bad-nost", "ts": TS, "station_id": "ghost", "pm25": 3}).encode(),
         ErrorCode.UNKNOWN_STATION),
        ("negative pollutant", "environment", ej(id="bad-neg", pm25=-3.0),
         ErrorCode.OUT_OF_RANGE),
        ("no pollutant at all", "environment", ej(id="bad-nopoll"), ErrorCode.NO_POLLUTANT),
        ("unknown metric", "sensor", sj(id="bad-metric", metric="vibes"),
         ErrorCode.UNKNOWN_METRIC),
        ("wrong unit", "sensor", sj(id="bad-unit", unit="furlongs"), ErrorCode.UNIT_MISMATCH),
        ("severity out of range", "incident", ij(id="bad-sev", severity=9),
         ErrorCode.OUT_OF_RANGE),
        ("unknown report source", "incident", ij(id="bad-src", source="fax"),
         ErrorCode.OUT_OF_RANGE),
        ("empty id", "sensor", sj(id=""), ErrorCode.BAD_ID),
        ("lat without lng", "environment",
         json.dumps({"id": "bad-half", "ts": TS, "lat": 31.2, "station_id": "ST-X",
                     "pm25": 3}).encode(), ErrorCode.MISSING_LOCATION),
        ("incident without location", "incident",
         json.dumps({k: v for k, v in {**inc, "id": "bad-noloc"}.items()
                     if k not in ("lat", "lng")}).encode(), ErrorCode.MISSING_LOCATION),
        ("null message (tombstone)", "incident", None, ErrorCode.NOT_JSON),
        ("photo link with a script scheme", "incident",
         ij(id="bad-photo-js", photo_url="javascript:alert(document.cookie)"), ErrorCode.BAD_URL),
        ("photo as a data URL", "incident", ij(id="bad-photo-data", photo_url="data:text/html,x"),
         ErrorCode.BAD_URL),
        ("photo link too long", "incident",
         ij(id="bad-photo-long", photo_url="https://img.example/" + "a" * 2000),
         ErrorCode.OUT_OF_RANGE),
        ("photo link not a string", "incident", ij(id="bad-photo-num", photo_url=42),
         ErrorCode.WRONG_TYPE),
    ]


@pytest.fixture(scope="module")
def topics(broker) -> str:
    """One topic prefix for the whole module: the stream is ingested once."""
    from onegrid.streams.broker import create_topics
    create_topics(broker, prefix="ingest-module.")
    return "ingest-module."


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    with Store(tmp_path_factory.mktemp("ingest") / "onegrid.duckdb") as s:
        yield s


@pytest.fixture(scope="module")
def ingested(broker, topics, store, demo_city):
    group_factory = lambda: f"ingest-{uuid.uuid4().hex[:8]}"  # noqa: E731
    goods = good_events(demo_city)
    bads = bad_inputs(demo_city)
    # The first good sensor event is stored in an earlier batch, so its repeat
    # later in the stream is a duplicate of a stored event.
    produce(broker, topics, [(s, k, v) for s, k, v, _ in goods[:1]])
    run_engine(broker, topics, group_factory(), store, demo_city)
    # Bad inputs share the good sensor events' key, so they sit in the same
    # partition after the events they repeat (Kafka orders within a partition).
    key = goods[0][1]
    items = []
    for i, (suffix, k, value, _) in enumerate(goods[1:]):
        items.append((suffix, k, value))
        if i < len(bads):  # interleave: each bad input sits between good ones
            items.append((bads[i][1], key, bads[i][2]))
    items.extend((suffix, key, value) for _, suffix, value, _ in bads[len(goods) - 1:])
    produce(broker, topics, items)
    stats = run_engine(broker, topics, group_factory(), store, demo_city)
    return goods, bads, stats


def test_every_valid_event_is_stored_once_with_the_cells_h3_computes(ingested, store):
    goods, _, _ = ingested
    rows = store.query("SELECT id, lat, lng, cell, cell_r9, cell_r8, cell_r7, grid_id "
                       "FROM events ORDER BY id").to_pylist()
    assert sorted(r["id"] for r in rows) == sorted(
        json.loads(v)["id"] for _, _, v, _ in goods)
    expected = {json.loads(v)["id"]: loc for _, _, v, loc in goods}
    for r in rows:
        loc = expected[r["id"]]
        assert (r["lat"], r["lng"]) == pytest.approx((loc["lat"], loc["lng"]))
        cell = h3.latlng_to_cell(loc["lat"], loc["lng"], 10)
        assert r["cell"] == h3.str_to_int(cell)
        for res in (9, 8, 7):
            assert r[f"cell_r{res}"] == h3.str_to_int(h3.cell_to_parent(cell, res))
        if loc.get("outside"):
            assert r["grid_id"] is None, f"{r['id']} is outside the city"
        else:
            assert r["grid_id"], f"{r['id']} at {loc} should fall in a demo-city grid"


def test_each_kind_of_bad_input_lands_in_dead_letters_with_its_code(ingested, store):
    _, bads, _ = ingested
    assert len(bads) >= 20
    letters = store.query('SELECT error_code, reason, payload FROM dead_letters '
                          'ORDER BY "partition", "offset"').to_pylist()
    by_payload: dict[bytes | None, list[dict]] = {}
    for row in letters:
        by_payload.setdefault(row["payload"], []).append(row)
    for name, _suffix, value, code in bads:
        got = by_payload.get(value if value is not None else None) or []
        assert got, f"{name}: not in dead_letters"
        assert got[0]["error_code"] == code, f"{name}: {got[0]}"
        assert len(got[0]["reason"]) > 10, f"{name}: reason too thin: {got[0]['reason']!r}"
    assert len(letters) == len(bads)


def test_a_reports_photo_link_is_stored_and_an_old_shaped_report_has_none(ingested, store):
    goods, _, _ = ingested
    expected = {json.loads(v)["id"]: loc["photo_url"] for s, _, v, loc in goods
                if s == "incident" and "photo_url" in loc}
    assert sum(1 for p in expected.values() if p) == 2 and None in expected.values()
    rows = store.query("SELECT id, photo_url FROM events WHERE topic = 'incident'").to_pylist()
    stored = {r["id"]: r["photo_url"] for r in rows if r["id"] in expected}
    assert stored == expected


def test_a_bad_photo_link_is_a_dead_letter_whose_reason_names_the_field(ingested, store):
    letters = store.query("SELECT error_code, reason FROM dead_letters WHERE "
                          "CAST(payload AS VARCHAR) LIKE '%bad-photo-%' ORDER BY error_code"
                          ).to_pylist()
    assert [r["error_code"] for r in letters] == ["bad_url", "bad_url", "out_of_range",
                                                  "wrong_type"]
    assert all("photo_url" in r["reason"] for r in letters), letters
    assert store.scalar("SELECT count(*) FROM events WHERE id LIKE 'bad-photo-%'") == 0


def test_dead_letters_are_republished_unchanged_on_the_dlq_topic(ingested, broker, topics):
    _, bads, _ = ingested
    records = consume_all(broker, topics + "dlq", expected=len(bads))
    assert len(records) == len(bads)
    payloads = sorted((r.value or b"") for r in records)
    assert payloads == sorted((v or b"") for _, _, v, _ in bads)
    headers = dict(records[0].headers)
    assert headers["onegrid.topic"].decode().startswith(topics)
    assert headers["onegrid.error_code"].decode() in {str(c) for c in ErrorCode}


def test_cell_stats_count_every_measurement_per_minute(ingested, store):
    n_sensor = store.scalar("SELECT sum(n) FROM cell_stats WHERE metric NOT LIKE 'incident:%' "
                            "AND metric NOT IN ('pm25','pm10','no2','so2','o3','co')")
    n_pm25 = store.scalar("SELECT sum(n) FROM cell_stats WHERE metric = 'pm25'")
    n_inc = store.scalar("SELECT sum(n) FROM cell_stats WHERE metric LIKE 'incident:%'")
    assert (n_sensor, n_pm25, n_inc) == (4, 4, 5)
    assert store.scalar("SELECT sum(n) FROM cell_stats WHERE metric = 'no2'") == 4


def test_offsets_are_stored_with_the_data(ingested, store, topics):
    offsets = store.offsets()
    total = store.scalar("SELECT count(*) FROM events") + store.scalar(
        "SELECT count(*) FROM dead_letters")
    assert sum(o for (t, _), o in offsets.items() if t.startswith(topics)) == total
