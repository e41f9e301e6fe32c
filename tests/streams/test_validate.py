"""Validation without a broker: edge cases of the contract, one behaviour a test."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from onegrid.streams.contract import ErrorCode
from onegrid.streams.validate import RawMessage, validate

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)


def msg(suffix: str, payload, offset: int = 0) -> RawMessage:
    value = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return RawMessage(f"onegrid.{suffix}", 0, offset, b"k", value, suffix)


@pytest.fixture(scope="module")
def registry(demo_city):
    return demo_city.registry


def sensor(registry, **kw):
    s = next(iter(registry.sensors.values()))
    return {"id": "a", "ts": NOW_MS, "sensor_id": s.sensor_id, "metric": s.metric,
            "value": 1.0, **kw}


def test_event_exactly_five_minutes_ahead_is_accepted(registry):
    out = validate([msg("sensor", sensor(registry, ts=NOW_MS + 300_000))], registry, NOW)
    assert out.events.num_rows == 1 and not out.rejections


def test_event_over_five_minutes_ahead_goes_to_dead_letters(registry):
    out = validate([msg("sensor", sensor(registry, ts=NOW_MS + 300_001))], registry, NOW)
    assert out.events.num_rows == 0
    assert [r.code for r in out.rejections] == [ErrorCode.FUTURE_TIMESTAMP]


def test_iso_and_epoch_timestamps_mean_the_same_instant(registry):
    iso = (NOW - timedelta(minutes=1)).astimezone(
        __import__("zoneinfo").ZoneInfo("Asia/Shanghai")).isoformat()
    out = validate([msg("sensor", sensor(registry, id="iso", ts=iso)),
                    msg("sensor", sensor(registry, id="ms", ts=NOW_MS - 60_000), 1)],
                   registry, NOW)
    assert len(set(out.events.column("ts").to_pylist())) == 1


def test_registered_sensor_without_location_takes_the_registry_location(registry):
    s = next(iter(registry.sensors.values()))
    row = validate([msg("sensor", sensor(registry))], registry, NOW).events.to_pylist()[0]
    assert (row["lat"], row["lng"], row["located_by"]) == (s.lat, s.lng, "registry")


def test_location_in_the_event_wins_over_the_registry(registry):
    row = validate([msg("sensor", sensor(registry, lat=31.0, lng=121.0))], registry,
                   NOW).events.to_pylist()[0]
    assert (row["lat"], row["lng"], row["located_by"]) == (31.0, 121.0, "event")


def test_same_id_twice_in_a_batch_keeps_the_first(registry):
    out = validate([msg("sensor", sensor(registry, value=1.0), 0),
                    msg("sensor", sensor(registry, value=2.0), 1)], registry, NOW)
    assert out.events.column("value").to_pylist() == [1.0]
    assert [(r.code, r.message.offset) for r in out.rejections] == [(ErrorCode.DUPLICATE_ID, 1)]


def test_a_bad_message_does_not_take_its_neighbours_with_it(registry):
    out = validate([msg("sensor", sensor(registry, id="a"), 0), msg("sensor", b"{oops", 1),
                    msg("sensor", sensor(registry, id="b"), 2)], registry, NOW)
    assert out.events.column("id").to_pylist() == ["a", "b"]
    assert [r.message.offset for r in out.rejections] == [1]


def test_incident_severity_defaults_to_the_category_default(registry):
    code, cat = next(iter(registry.categories.items()))
    out = validate([msg("incident", {"id": "i", "ts": NOW_MS, "lat": 31.2, "lng": 121.4,
                                     "category": code, "source": "app"})], registry, NOW)
    assert out.events.column("severity").to_pylist() == [cat.default_severity]


def test_reporter_personal_data_is_kept_for_roles_allowed_to_see_it(registry):
    code = next(iter(registry.categories))
    out = validate([msg("incident", {"id": "i", "ts": NOW_MS, "lat": 31.2, "lng": 121.4,
                                     "category": code, "source": "hotline",
                                     "reporter": {"name": "李四", "phone": "13800000000"}})],
                   registry, NOW)
    row = out.events.to_pylist()[0]
    assert (row["reporter_name"], row["reporter_phone"]) == ("李四", "13800000000")


def incident(registry, **kw):
    return {"id": "i", "ts": NOW_MS, "lat": 31.2, "lng": 121.4,
            "category": next(iter(registry.categories)), "source": "patrol", **kw}


@pytest.mark.parametrize("link", ["https://img.example/a.jpg", "http://10.0.0.5/p.png",
                                  "/media/" + "0" * 32 + ".jpg"])
def test_an_incident_keeps_its_photo_link(registry, link):
    out = validate([msg("incident", incident(registry, photo_url=link))], registry, NOW)
    assert not out.rejections and out.events.column("photo_url").to_pylist() == [link]


def test_an_incident_without_a_photo_validates_as_before(registry):
    out = validate([msg("incident", incident(registry)),
                    msg("incident", incident(registry, id="j", photo_url=None), 1)],
                   registry, NOW)
    assert not out.rejections and out.events.column("photo_url").to_pylist() == [None, None]


@pytest.mark.parametrize("link, code", [
    ("javascript:alert(1)", ErrorCode.BAD_URL),
    ("JavaScript:alert(1)", ErrorCode.BAD_URL),
    ("data:image/png;base64,iVBORw0KGgo=", ErrorCode.BAD_URL),
    ("file:///etc/passwd", ErrorCode.BAD_URL),
    (" https://img.example/a.jpg", ErrorCode.BAD_URL),
    ("img.example/a.jpg", ErrorCode.BAD_URL),
    ("", ErrorCode.BAD_URL),
    ("https://img.example/" + "a" * 2000, ErrorCode.OUT_OF_RANGE),
    (42, ErrorCode.WRONG_TYPE),
    (["https://img.example/a.jpg"], ErrorCode.WRONG_TYPE),
])
def test_a_bad_photo_link_is_refused_naming_the_field(registry, link, code):
    out = validate([msg("incident", incident(registry, id="good"), 0),
                    msg("incident", incident(registry, id="bad", photo_url=link), 1)],
                   registry, NOW)
    assert out.events.column("id").to_pylist() == ["good"]
    assert [(r.code, r.message.offset) for r in out.rejections] == [(code, 1)]
    assert "photo_url" in out.rejections[0].reason


def test_extra_fields_are_allowed(registry):
    out = validate([msg("sensor", sensor(registry, firmware="1.2"))], registry, NOW)
    assert out.events.num_rows == 1


@pytest.mark.parametrize("payload, code, words", [
    ({"id": "x" * 129}, ErrorCode.BAD_ID, "id"),
    ({"value": "12"}, ErrorCode.WRONG_TYPE, "value"),
    ({"lat": 91.0, "lng": 121.0}, ErrorCode.OUT_OF_RANGE, "lat"),
    ({"ts": "2026-06-01 12:00"}, ErrorCode.BAD_TIMESTAMP, "ts"),
    ({"ts": 1.5}, ErrorCode.BAD_TIMESTAMP, "ts"),
    ({"ts": -1}, ErrorCode.BAD_TIMESTAMP, "ts"),
])
def test_each_contract_breach_names_the_field(registry, payload, code, words):
    out = validate([msg("sensor", sensor(registry, **payload))], registry, NOW)
    assert [r.code for r in out.rejections] == [code]
    assert words in out.rejections[0].reason


def test_every_error_code_has_advice(registry):
    from onegrid.streams.contract import ERROR_HELP
    assert set(ERROR_HELP) == set(ErrorCode)
