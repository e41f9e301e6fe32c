"""Malformed messages of every kind, and the table of what validation should say.

`MALFORMED` maps each kind (not JSON, GBK text, NaN, a missing id, a gateway
retry, an unregistered sensor, ...) to its topic, the contract's error code
validation should give, and a builder that makes one from a good message.
`Malformed` turns a chunk of time into a mix of them, each carrying a
`bad-<kind>-...` marker so tests can find it. Checking them is `validate`'s.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import numpy as np

from onegrid.geo.registry import Registry
from onegrid.streams.contract import ENVIRONMENT, INCIDENT, SENSOR
from onegrid.streams.simulation.chunks import ENC, Batch, Chunk, random_times
from onegrid.streams.simulation.clock import ms_to_iso

if TYPE_CHECKING:
    from onegrid.streams.simulation.plan import Plan


@dataclass(frozen=True)
class _BadCtx:
    """What a malformed message is built from: the registry, a time, a marker id."""

    reg: Registry
    sensors: dict  # the healthy devices, so a silent one stays silent
    rng: np.random.Generator
    ts_ms: int
    offset_s: int
    bad_id: str  # "bad-<kind>-<tag>-<n>": in every malformed message's bytes

    def iso(self, ts_ms: int | None = None) -> str:
        return ms_to_iso(np.array([self.ts_ms if ts_ms is None else ts_ms]), self.offset_s)[0]

    def pick(self, items: dict):
        return items[sorted(items)[self.rng.integers(len(items))]]


def _sensor_dict(c: _BadCtx) -> tuple[bytes, dict]:
    s = c.pick(c.sensors)
    m = c.reg.metrics[s.metric]
    value = round(m.min_plausible + 0.3 * (m.max_plausible - m.min_plausible), 2)
    return s.sensor_id.encode(), {"id": c.bad_id, "ts": c.ts_ms, "sensor_id": s.sensor_id,
                                  "metric": s.metric, "value": value}


def _station_dict(c: _BadCtx) -> tuple[bytes, dict]:
    s = c.pick(c.reg.stations)
    return s.station_id.encode(), {"id": c.bad_id, "ts": c.iso(), "station_id": s.station_id,
                                   "pm25": 35.0, "pm10": 61.0, "no2": 30.0}


def _incident_dict(c: _BadCtx) -> tuple[bytes, dict]:
    code = sorted(c.reg.categories)[c.rng.integers(len(c.reg.categories))]
    lat, lng = c.reg.center
    return b"hotline", {"id": c.bad_id, "ts": c.iso(), "lat": round(lat, 6),
                        "lng": round(lng, 6), "category": code, "source": "hotline",
                        "description": "市民来电反映情况。"}


def _literal(d: dict, field: str, literal: bytes) -> bytes:
    """Encode `d` with `field`'s value replaced by raw JSON text (e.g. NaN)."""
    return ENC.encode({**d, field: "\x00lit\x00"}).replace(b'"\\u0000lit\\u0000"', literal)


def _with(make, **changes) -> Callable[[_BadCtx], tuple[bytes, bytes]]:
    """A malformed kind that is a good message with some fields changed (None drops one)."""
    def build(c: _BadCtx) -> tuple[bytes, bytes]:
        key, d = make(c)
        for name, value in changes.items():
            value = value(c) if callable(value) else value
            if value is None:
                d.pop(name, None)
            else:
                d[name] = value
        return key, ENC.encode(d)
    return build


def _not_json(c: _BadCtx) -> tuple[bytes, bytes]:
    key, d = _sensor_dict(c)
    good = ENC.encode(d)
    variants = (good[: -int(c.rng.integers(1, 8))],  # cut short
                repr(d).encode(),  # a Python dict, single quotes
                good[:-1] + b",}")  # a trailing comma
    return key, variants[c.rng.integers(3)]


def _not_utf8(c: _BadCtx) -> tuple[bytes, bytes]:
    # A legacy hotline system that still writes GBK.
    key, d = _incident_dict(c)
    return key, _literal(d, "description", b'"' + "井盖缺失，污水外溢".encode("gbk") + b'"')


def _not_finite(c: _BadCtx) -> tuple[bytes, bytes]:
    key, d = _sensor_dict(c)
    return key, _literal(d, "value", (b"NaN", b"Infinity", b"-Infinity")[c.rng.integers(3)])


def _bad_ts(c: _BadCtx) -> tuple[bytes, bytes]:
    key, d = _station_dict(c)
    local = c.iso()[:19]
    d["ts"] = (local.replace("T", " "), "昨天下午三点", f"{local[8:10]}/{local[5:7]}/{local[:4]}")[
        c.rng.integers(3)]
    return key, ENC.encode(d)


def _duplicate(c: _BadCtx) -> list[tuple[bytes, bytes, str]]:
    """A gateway's retry: the same event again, a little later (the first copy is good)."""
    key, d = _sensor_dict(c)
    d["id"] = c.bad_id.replace("bad-", "s-", 1)
    return [(key, ENC.encode(d), ""), (key, ENC.encode({**d, "sim_fault": c.bad_id}),
                                       "duplicate_id")]


def _unlisted(c: _BadCtx) -> str:
    return next(m for m in ("vibration_mm", "humidity_pct", "x_unlisted") if m not in c.reg.metrics)


def _oversized(c: _BadCtx) -> str:
    return "现场情况描述：" + "垃圾堆积严重，" * 3300  # about 69 KB of UTF-8


@dataclass(frozen=True)
class MalformedKind:
    """A kind of malformed message: its topic and the error code validation should give."""

    topic: str
    code: str
    build: Callable


MALFORMED: Final[dict[str, MalformedKind]] = {
    # kind -> how to build one; `code` is the contract's ErrorCode value
    "not_json": MalformedKind(SENSOR, "not_json", _not_json),
    "not_utf8": MalformedKind(INCIDENT, "not_utf8", _not_utf8),
    "not_object": MalformedKind(ENVIRONMENT, "not_object", lambda c: (
        (kv := _station_dict(c))[0], b"[" + ENC.encode(kv[1]) + b"]")),
    "missing_id": MalformedKind(SENSOR, "missing_field", _with(
        _sensor_dict, id=None, sim_fault=lambda c: c.bad_id)),
    "missing_ts": MalformedKind(ENVIRONMENT, "missing_field", _with(_station_dict, ts=None)),
    "wrong_type": MalformedKind(SENSOR, "wrong_type", _with(_sensor_dict, value="42.5")),
    "not_finite": MalformedKind(SENSOR, "not_finite", _not_finite),
    "overflow": MalformedKind(SENSOR, "not_finite", lambda c: (
        (kv := _sensor_dict(c))[0], _literal(kv[1], "value", b"1e999"))),
    "out_of_range": MalformedKind(INCIDENT, "out_of_range", _with(
        _incident_dict, lat=lambda c: round(90 + c.rng.uniform(0.1, 30), 4))),
    "unknown_category": MalformedKind(INCIDENT, "unknown_category", _with(
        _incident_dict, category="zz_unlisted")),
    "future_ts": MalformedKind(SENSOR, "future_timestamp", _with(
        _sensor_dict, ts=lambda c: c.ts_ms + int(c.rng.uniform(2, 12) * 3600e3))),
    "bad_ts": MalformedKind(ENVIRONMENT, "bad_timestamp", _bad_ts),
    "oversized": MalformedKind(INCIDENT, "oversized", _with(_incident_dict,
                                                            description=_oversized)),
    "duplicate_id": MalformedKind(SENSOR, "duplicate_id", _duplicate),
    "unknown_sensor": MalformedKind(SENSOR, "unknown_sensor", _with(
        _sensor_dict, sensor_id=lambda c: f"SIM-UNREG-{c.rng.integers(10**4):04d}")),
    "unknown_station": MalformedKind(ENVIRONMENT, "unknown_station", _with(
        _station_dict, station_id=lambda c: f"SIM-UNREG-{c.rng.integers(10**4):04d}")),
    "negative_pollutant": MalformedKind(ENVIRONMENT, "out_of_range", _with(
        _station_dict, pm25=lambda c: -round(c.rng.uniform(1, 40), 1))),
    "no_pollutant": MalformedKind(ENVIRONMENT, "no_pollutant", _with(
        _station_dict, pm25=None, pm10=None, no2=None, wind_dir_deg=90.0, wind_speed_ms=2.0)),
    "unknown_metric": MalformedKind(SENSOR, "unknown_metric", _with(_sensor_dict,
                                                                    metric=_unlisted)),
    "unit_mismatch": MalformedKind(SENSOR, "unit_mismatch", lambda c: (
        (kv := _sensor_dict(c))[0],
        ENC.encode({**kv[1], "unit": _wrong_unit_for(c, kv[1]["metric"])}))),
    "bad_id": MalformedKind(SENSOR, "bad_id", _with(
        _sensor_dict, id=lambda c: c.bad_id + "-" + "x" * 130)),
    "half_location": MalformedKind(SENSOR, "missing_location", _with(_sensor_dict, lat=31.2)),
    "unknown_source": MalformedKind(INCIDENT, "out_of_range", _with(_incident_dict,
                                                                    source="wechat")),
    "bad_severity": MalformedKind(INCIDENT, "out_of_range", _with(_incident_dict, severity=9)),
    "incident_no_location": MalformedKind(INCIDENT, "missing_location", _with(
        _incident_dict, lat=None, lng=None)),
}


def _wrong_unit_for(c: _BadCtx, metric: str) -> str:
    unit = c.reg.metrics[metric].unit
    return next(u for u in ("cm", "mg/L", "°F", "km/h") if u != unit)


class Malformed:
    """Malformed messages of every kind, each carrying a `bad-<kind>-...` marker."""

    def __init__(self, reg: Registry, plan: Plan, rng, tag: str):
        self.reg, self.rng, self.tag, self.seq = reg, rng, tag, 0
        faulty = {f.sensor_id for f in plan.faults}
        self.sensors = {k: v for k, v in reg.sensors.items() if k not in faulty} or reg.sensors
        has = {SENSOR: bool(reg.sensors), ENVIRONMENT: bool(reg.stations),
               INCIDENT: bool(reg.categories)}
        self.kinds = [k for k, m in MALFORMED.items() if has[m.topic]]

    def chunk(self, chunk: Chunk, n: int) -> Batch:
        """Return about `n` malformed messages spread over the chunk."""
        batch = Batch("", [], [], [], [])
        if not self.kinds:
            return batch
        topics: list[str] = []
        kinds = self.rng.integers(len(self.kinds), size=n).tolist()
        for ts, k in zip(random_times(self.rng, chunk, n).tolist(), kinds, strict=True):
            kind = self.kinds[k]
            ctx = _BadCtx(self.reg, self.sensors, self.rng, ts, chunk.offset_s,
                          f"bad-{kind}-{self.tag}-{self.seq}")
            self.seq += 1
            built = MALFORMED[kind].build(ctx)
            for key, value, fault in (built if isinstance(built, list) else
                                      [(*built, kind)]):
                topics.append(MALFORMED[kind].topic)
                batch.ts.append(ts)
                batch.keys.append(key)
                batch.values.append(value)
                batch.faults.append(fault)
        batch.topic = topics
        return batch
