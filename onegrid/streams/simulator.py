"""Realistic, reproducible demo traffic for a city: sensor, station and incident messages.

`simulate` turns a city registry plus (rate, duration, seed, start) into the
byte-exact stream of Kafka messages a real city would send: noise and traffic
that follow the local hour, air-quality episodes that grow, drift with a
slowly turning wind and fade, sensors that get stuck, spike, drift or fall
silent, incident reports clustered around hotspots, and a small share of
malformed messages of many kinds. It is pure: no clock, no global random
state, no I/O; the same arguments give the same bytes. What happens in the
run that does not depend on the rate (faults, episodes, wind) is fixed first
by `make_plan`, so tests can ask where to look. Sending belongs to `producer`,
files to `replay`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

import msgspec
import numpy as np

from onegrid.geo.registry import Registry
from onegrid.streams.contract import ENVIRONMENT, INCIDENT, SENSOR

_ENC: Final = msgspec.json.Encoder()
_KM_PER_DEG_LAT: Final = 110.574
_KM_PER_DEG_LNG_EQ: Final = 111.320
# Average shares of the three input topics in the total rate.
TOPIC_SHARES: Final = {SENSOR: 0.70, ENVIRONMENT: 0.10, INCIDENT: 0.20}
FAULT_KINDS: Final = ("silent", "stuck", "spike", "drift")
FAULTY_SHARE: Final = 0.04
# Episodes are regional: their mass drifts slower than the wind that stirs
# them, so one crosses a city in hours, not in minutes.
_DRIFT_FACTOR: Final = 0.3
_WIND_KNOT_S: Final = 300
_EPISODE_LEAD_S: Final = 8 * 3600


@dataclass(frozen=True, slots=True)
class SimMessage:
    """One message to produce: topic suffix, key (source id), value bytes, send time.

    `ts_ms` is the simulated send time (epoch ms, UTC); for good messages it is
    also the event's `ts`. `fault` names the malformation ("" for a good
    message); it is a label for tests and files, never sent to Kafka.
    """

    topic_suffix: str
    key: bytes
    value: bytes
    ts_ms: int
    fault: str = ""


@dataclass(frozen=True)
class SensorFault:
    """A device failure during [start_ms, end_ms): silent, stuck, spike or drift."""

    sensor_id: str
    kind: str
    start_ms: int
    end_ms: int
    level: float  # stuck: the stuck value; drift: the offset reached at end_ms


@dataclass(frozen=True)
class Episode:
    """An air-pollution episode: a Gaussian plume that grows, drifts and fades."""

    kind: str
    start_ms: int
    life_s: float
    lat: float  # where it starts
    lng: float
    peak: float  # pm25-equivalent µg/m³ at the centre at mid-life
    sigma_km: float


@dataclass(frozen=True)
class Wind:
    """Wind over the run on a fixed grid of knots; direction is where it blows from."""

    knots_ms: np.ndarray
    dir_deg: np.ndarray  # unwrapped, so interpolation never jumps across north
    speed_ms: np.ndarray
    drift_x_km: np.ndarray  # cumulative eastward displacement of the air
    drift_y_km: np.ndarray

    def at(self, ts_ms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return (direction in degrees 0-360, speed in m/s) at each time."""
        d = np.interp(ts_ms, self.knots_ms, self.dir_deg) % 360.0
        return d, np.interp(ts_ms, self.knots_ms, self.speed_ms)

    def drift(self, ts_ms: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
        """Return the cumulative (east, north) displacement of the air in km."""
        return (np.interp(ts_ms, self.knots_ms, self.drift_x_km),
                np.interp(ts_ms, self.knots_ms, self.drift_y_km))


@dataclass(frozen=True)
class Plan:
    """What happens in a run whatever its rate: device faults, episodes and wind."""

    start_ms: int
    end_ms: int
    faults: tuple[SensorFault, ...]
    episodes: tuple[Episode, ...]
    wind: Wind


# --- geometry and time ------------------------------------------------------------------


@dataclass(frozen=True)
class _Frame:
    """A flat km frame around the city centre; good to metres across a city."""

    lat0: float
    lng0: float

    @property
    def kx(self) -> float:
        return _KM_PER_DEG_LNG_EQ * math.cos(math.radians(self.lat0))

    def to_xy(self, lat, lng):
        return ((np.asarray(lng) - self.lng0) * self.kx, (np.asarray(lat) - self.lat0)
                * _KM_PER_DEG_LAT)

    def to_latlng(self, x, y):
        return (self.lat0 + np.asarray(y) / _KM_PER_DEG_LAT, self.lng0 + np.asarray(x) / self.kx)


def _bbox(reg: Registry) -> tuple[float, float, float, float]:
    """Return (lat_min, lat_max, lng_min, lng_max) of everything the city registers."""
    places = [*reg.sensors.values(), *reg.stations.values(), *reg.hotspots.values()]
    if not places:
        lat, lng = reg.center
        return lat - 0.05, lat + 0.05, lng - 0.06, lng + 0.06
    lats, lngs = [p.lat for p in places], [p.lng for p in places]
    return min(lats), max(lats), min(lngs), max(lngs)


def _frame(reg: Registry) -> _Frame:
    lat, lng = reg.center if any(reg.center) else _bbox(reg)[::2]
    return _Frame(float(lat), float(lng))


def _to_ms(start: datetime, tz: ZoneInfo) -> int:
    if start.tzinfo is None:
        start = start.replace(tzinfo=tz)  # a naive start is the city's local time
    return int(start.timestamp() * 1000)


def _hours(ts_ms: np.ndarray, offset_s: int) -> np.ndarray:
    """Return the local hour of day (float, 0-24) of epoch-ms times."""
    return ((ts_ms // 1000 + offset_s) % 86400) / 3600.0


def _iso(ts_ms: np.ndarray, offset_s: int) -> list[str]:
    """Return ISO-8601 local times with their UTC offset, e.g. ...T08:00:00.123+08:00."""
    local = (np.asarray(ts_ms, dtype=np.int64) + offset_s * 1000).astype("datetime64[ms]")
    sign, off = ("+" if offset_s >= 0 else "-"), abs(offset_s) // 60
    suffix = f"{sign}{off // 60:02d}:{off % 60:02d}"
    return [s + suffix for s in np.datetime_as_string(local, unit="ms").tolist()]


# --- daily rhythms (hour arrays -> 0..1 shapes) -------------------------------------------


def _day(h: np.ndarray) -> np.ndarray:
    """City activity: 0 at 03:00, 1 at 15:00."""
    return 0.5 - 0.5 * np.cos(2 * np.pi * (h - 3.0) / 24.0)


def _rush(h: np.ndarray) -> np.ndarray:
    """Morning and evening rush hours, peaking at 08:00 and 18:00."""
    return np.exp(-0.5 * ((h - 8.0) / 1.2) ** 2) + np.exp(-0.5 * ((h - 18.0) / 1.5) ** 2)


def _traffic(h: np.ndarray) -> np.ndarray:
    return np.clip(0.06 + 0.45 * _day(h) + 0.5 * _rush(h), 0.0, 1.0)


def _incident_intensity(h: np.ndarray) -> np.ndarray:
    """Incident report rate relative to the daily mean (mean 1: 0.25 at night, 1.75 by day)."""
    return 0.25 + 1.5 * _day(h)


# --- sensor readings ----------------------------------------------------------------------

SensorModel = Callable[[np.ndarray, np.ndarray, np.random.Generator], np.ndarray]


def _noise_db(h, ts, rng):
    return 42.0 + 18.0 * _day(h) + 8.0 * _rush(h) + rng.normal(0.0, 2.5, h.size)


def _water_level_m(h, ts, rng):
    # Tidal rivers: a 12.42 h tide around a mean stage.
    return 3.0 + 0.9 * np.sin(2 * np.pi * ts / (12.42 * 3600e3)) + rng.normal(0, 0.02, h.size)


def _road_water_depth_cm(h, ts, rng):
    return np.clip(rng.normal(-2.0, 1.5, h.size), 0.0, None)  # dry roads read 0


def _manhole_tilt_deg(h, ts, rng):
    return np.abs(rng.normal(0.0, 0.6, h.size))


def _smoke(h, ts, rng):
    return (rng.random(h.size) < 2e-4).astype(float)  # a rare false alarm


def _traffic_flow(h, ts, rng):
    return 110.0 * _traffic(h) + rng.normal(0.0, 5.0, h.size)


def _gas_ppm(h, ts, rng):
    return 2.0 + rng.gamma(2.0, 1.5, h.size)


_MODELS: Final[dict[str, tuple[SensorModel, int]]] = {
    # metric -> (model of a healthy device, decimals sent)
    "noise_db": (_noise_db, 1), "water_level_m": (_water_level_m, 2),
    "road_water_depth_cm": (_road_water_depth_cm, 1), "manhole_tilt_deg": (_manhole_tilt_deg, 2),
    "smoke": (_smoke, 0), "traffic_flow": (_traffic_flow, 0), "gas_ppm": (_gas_ppm, 1),
}


def _generic(lo: float, hi: float) -> SensorModel:
    """A model for a metric the simulator does not know: a quarter up its range, by day more."""
    span = hi - lo
    return lambda h, ts, rng: lo + span * (0.25 + 0.1 * _day(h)) + rng.normal(0, 0.02 * span,
                                                                               h.size)


# --- the plan: faults, wind, episodes -----------------------------------------------------


def _rngs(seed: int) -> dict[str, np.random.Generator]:
    """Return one independent generator per part of the model, all from `seed`."""
    names = ("faults", "wind", "episodes", "traits", "sensor", "environment", "incident", "bad")
    children = np.random.SeedSequence(seed).spawn(len(names))
    return {n: np.random.Generator(np.random.PCG64(c)) for n, c in zip(names, children,
                                                                        strict=True)}


def _plan_faults(reg: Registry, rng, start_ms: int, end_ms: int) -> tuple[SensorFault, ...]:
    """Pick a few percent of the devices (at least one of each kind) and their bad spells."""
    ids = sorted(reg.sensors)
    n = min(max(len(FAULT_KINDS), round(FAULTY_SHARE * len(ids))), len(ids) // 4)
    span = end_ms - start_ms
    faults = []
    for i, idx in enumerate(rng.choice(len(ids), size=n, replace=False)):
        sensor = reg.sensors[ids[idx]]
        metric = reg.metrics[sensor.metric]
        begin = start_ms + int(rng.uniform(0.1, 0.5) * span)
        length = int(rng.uniform(0.15, 0.35) * span)
        lo, hi = metric.min_plausible, metric.max_plausible
        kind = FAULT_KINDS[i % len(FAULT_KINDS)]
        level = (lo + (hi - lo) * rng.uniform(0.1, 0.5) if kind == "stuck"
                 else (hi - lo) * rng.uniform(0.3, 0.8))
        faults.append(SensorFault(sensor.sensor_id, kind, begin, begin + length, float(level)))
    return tuple(faults)


def _plan_wind(rng, start_ms: int, end_ms: int) -> Wind:
    """Return a wind that turns and gusts slowly (Ornstein-Uhlenbeck around a prevailing wind)."""
    knots = np.arange(start_ms, end_ms + 2 * _WIND_KNOT_S * 1000, _WIND_KNOT_S * 1000)
    k, dt_h = knots.size, _WIND_KNOT_S / 3600.0
    theta = dt_h / 6.0  # deviations relax over about six hours
    shocks = rng.normal(0.0, 1.0, (2, k))
    dev = np.zeros((2, k))
    for i in range(1, k):  # an AR(1) recursion; k is small (one knot per 5 min)
        dev[:, i] = dev[:, i - 1] * (1 - theta) + shocks[:, i] * np.sqrt(2 * theta)
    direction = rng.uniform(0, 360) + 35.0 * dev[0]
    speed = np.clip(rng.uniform(2.0, 4.0) + 1.2 * dev[1], 0.3, 12.0)
    to = np.radians(direction + 180.0)  # the air moves away from where the wind comes from
    step_km = speed * _WIND_KNOT_S / 1000.0
    dx = np.concatenate([[0.0], np.cumsum((step_km * np.sin(to))[:-1])])
    dy = np.concatenate([[0.0], np.cumsum((step_km * np.cos(to))[:-1])])
    return Wind(knots, direction, speed, dx, dy)


_EPISODE_KINDS: Final = ("haze", "dust", "industrial")
_EPISODE_PROFILE: Final[dict[str, dict[str, float]]] = {
    # kind -> pollutant -> amount per µg/m³ of pm25-equivalent (co in mg/m³)
    "haze": {"pm25": 1.0, "pm10": 1.35, "no2": 0.25, "so2": 0.08, "co": 0.012, "o3": 0.0},
    "dust": {"pm25": 0.35, "pm10": 2.6, "no2": 0.0, "so2": 0.0, "co": 0.0, "o3": 0.0},
    "industrial": {"pm25": 0.55, "pm10": 0.75, "no2": 0.5, "so2": 0.7, "co": 0.006, "o3": 0.0},
}


def _plan_episodes(reg: Registry, rng, start_ms: int, end_ms: int) -> tuple[Episode, ...]:
    """Return episodes over the run: one that starts early in the run, and a Poisson scatter.

    Episodes start near a station (where they would be noticed) and may already
    be under way when the run begins. The first one always lies inside the
    run, so even a short demo shows one growing.
    """
    places = [(s.lat, s.lng) for s in reg.stations.values()] or [tuple(reg.center)]
    duration_s = (end_ms - start_ms) / 1000
    frame = _frame(reg)
    lead_start = start_ms + int(rng.uniform(0.05, 0.25) * duration_s * 1000)
    lead_life = min(rng.uniform(2, 8) * 3600, max(3600.0, 0.6 * duration_s))
    n_more = rng.poisson((duration_s + _EPISODE_LEAD_S) / (5 * 3600))
    starts = [lead_start, *(start_ms + rng.uniform(-_EPISODE_LEAD_S, duration_s, n_more) * 1000)]
    lives = [lead_life, *rng.uniform(2, 8, n_more) * 3600]
    out = []
    for t0, life in zip(starts, lives, strict=True):
        lat, lng = places[rng.integers(len(places))]
        x, y = frame.to_xy(lat, lng)
        olat, olng = frame.to_latlng(x + rng.normal(0, 2.0), y + rng.normal(0, 2.0))
        out.append(Episode(str(rng.choice(_EPISODE_KINDS)), int(t0), float(life), float(olat),
                           float(olng), float(rng.uniform(80, 250)),
                           float(rng.uniform(2.5, 5.0))))
    return tuple(sorted(out, key=lambda e: e.start_ms))


def make_plan(registry: Registry, *, seed: int, start: datetime, duration_s: float) -> Plan:
    """Return the rate-independent part of a run: device faults, episodes and the wind."""
    rngs = _rngs(seed)
    start_ms = _to_ms(start, ZoneInfo(registry.timezone))
    end_ms = start_ms + int(duration_s * 1000)
    return Plan(
        start_ms, end_ms,
        _plan_faults(registry, rngs["faults"], start_ms, end_ms),
        _plan_episodes(registry, rngs["episodes"], start_ms, end_ms),
        _plan_wind(rngs["wind"], start_ms - _EPISODE_LEAD_S * 1000, end_ms),
    )


def episode_pm25(registry: Registry, plan: Plan, episode: Episode, lat: float, lng: float,
                 ts_ms: np.ndarray) -> np.ndarray:
    """Return an episode's pm25-equivalent contribution (µg/m³) at one place over times."""
    frame = _frame(registry)
    ts_ms = np.asarray(ts_ms)
    px, py = frame.to_xy(lat, lng)
    return _plume(plan, episode, frame, np.full(ts_ms.shape, float(px)),
                  np.full(ts_ms.shape, float(py)), ts_ms)


def _plume(plan: Plan, ep: Episode, frame: _Frame, px, py, ts_ms) -> np.ndarray:
    """Return the plume's pm25-equivalent at points (km) and times; 0 outside its life."""
    s = (ts_ms - ep.start_ms) / (ep.life_s * 1000)
    alive = (s > 0) & (s < 1)
    amp = ep.peak * np.sin(np.pi * np.clip(s, 0, 1)) ** 2
    ox, oy = frame.to_xy(ep.lat, ep.lng)
    dx0, dy0 = plan.wind.drift(ep.start_ms)
    dx, dy = plan.wind.drift(ts_ms)
    cx, cy = ox + _DRIFT_FACTOR * (dx - dx0), oy + _DRIFT_FACTOR * (dy - dy0)
    sigma = ep.sigma_km * (1 + np.clip(s, 0, 1))  # the plume spreads as it ages
    d2 = (px - cx) ** 2 + (py - cy) ** 2
    return np.where(alive, amp * np.exp(-0.5 * d2 / sigma**2), 0.0)


# --- the sources: each turns one time chunk into a batch of messages ----------------------


@dataclass(frozen=True)
class _Chunk:
    """A slice [t0, t1) of simulated time (epoch ms) and the city's UTC offset then."""

    t0: int
    t1: int
    offset_s: int

    @property
    def seconds(self) -> float:
        return (self.t1 - self.t0) / 1000.0


@dataclass
class _Batch:
    """Messages of one source for one chunk, in any order; `_merge` sorts them."""

    topic: str | list[str]  # one topic, or one per message (malformed ones)
    ts: list[int]
    keys: list[bytes]
    values: list[bytes]
    faults: list[str]


def _times(rng, chunk: _Chunk, n: int) -> np.ndarray:
    return np.sort(rng.integers(chunk.t0, chunk.t1, n)) if n else np.zeros(0, np.int64)


class _Sensors:
    """Registered devices reporting in a fixed round-robin, so each reports at a steady pace."""

    def __init__(self, reg: Registry, plan: Plan, traits, rng, tag: str):
        self.rng, self.prefix, self.seq = rng, f"s-{tag}-", 0
        self.ids = sorted(reg.sensors)
        n = len(self.ids)
        sensors = [reg.sensors[i] for i in self.ids]
        self.order, self.cursor = traits.permutation(n), 0
        self.iso = (traits.random(n) < 0.4).tolist()  # these gateways send ISO-8601 ts
        self.with_loc = (traits.random(n) < 0.15).tolist()  # these send lat/lng as well
        self.with_unit = (traits.random(n) < 0.5).tolist()
        self.scale = traits.uniform(0.9, 1.1, n)  # device-to-device spread
        self.metrics = sorted({s.metric for s in sensors})
        self.mcode = np.array([self.metrics.index(s.metric) for s in sensors], dtype=np.int64)
        self.lo = np.array([reg.metrics[s.metric].min_plausible for s in sensors])
        self.hi = np.array([reg.metrics[s.metric].max_plausible for s in sensors])
        self.models = [_MODELS.get(m, (_generic(reg.metrics[m].min_plausible,
                                                reg.metrics[m].max_plausible), 2))
                       for m in self.metrics]
        self.rows = [(s.sensor_id, s.metric, reg.metrics[s.metric].unit, round(s.lat, 6),
                      round(s.lng, 6)) for s in sensors]
        self.keys = [i.encode() for i in self.ids]
        index = {sid: k for k, sid in enumerate(self.ids)}
        self.faults = [(index[f.sensor_id], f) for f in plan.faults]

    def chunk(self, chunk: _Chunk, n: int) -> _Batch:
        """Return `n` readings spread over the chunk (fewer if a device is silent)."""
        if not self.ids or not n:
            return _Batch(SENSOR, [], [], [], [])
        idx = self.order[(self.cursor + np.arange(n)) % len(self.ids)]
        self.cursor = (self.cursor + n) % len(self.ids)
        ts = _times(self.rng, chunk, n)
        values = self._healthy(idx, ts, _hours(ts, chunk.offset_s))
        keep = self._apply_faults(idx, ts, values)
        values = self._round(idx, values)
        idx, ts, values = idx[keep], ts[keep], values[keep]
        return self._encode(idx, ts, values, chunk.offset_s)

    def _healthy(self, idx, ts, h) -> np.ndarray:
        values = np.empty(idx.size)
        codes = self.mcode[idx]
        for m, (model, _) in enumerate(self.models):
            sel = np.flatnonzero(codes == m)
            if sel.size:
                values[sel] = model(h[sel], ts[sel], self.rng)
        lo, hi = self.lo[idx], self.hi[idx]
        return np.clip(lo + (values - lo) * self.scale[idx], lo, hi)

    def _apply_faults(self, idx, ts, values) -> np.ndarray:
        """Corrupt the readings of failing devices in place; return which readings are sent."""
        keep = np.ones(idx.size, dtype=bool)
        for k, f in self.faults:
            hit = (idx == k) & (ts >= f.start_ms) & (ts < f.end_ms)
            if not hit.any():
                continue
            if f.kind == "silent":
                keep &= ~hit
            elif f.kind == "stuck":
                values[hit] = f.level
            elif f.kind == "drift":
                values[hit] += f.level * (ts[hit] - f.start_ms) / (f.end_ms - f.start_ms)
            else:  # spike: now and then a reading far past what the device can measure
                spike = hit & (self.rng.random(idx.size) < 0.1)
                values[spike] = self.hi[k] * self.rng.uniform(1.5, 4.0, int(spike.sum()))
        return keep

    def _round(self, idx, values) -> np.ndarray:
        codes = self.mcode[idx]
        for m, (_, decimals) in enumerate(self.models):
            sel = codes == m
            values[sel] = np.round(values[sel], decimals)
        return values

    def _encode(self, idx, ts, values, offset_s: int) -> _Batch:
        iso, ts_l, vals = _iso(ts, offset_s), ts.tolist(), values.tolist()
        out, seq, rows = [], self.seq, self.rows
        for j, i in enumerate(idx.tolist()):
            sid, metric, unit, lat, lng = rows[i]
            d = {"id": f"{self.prefix}{seq + j}", "ts": iso[j] if self.iso[i] else ts_l[j],
                 "sensor_id": sid, "metric": metric, "value": vals[j]}
            if self.with_unit[i]:
                d["unit"] = unit
            if self.with_loc[i]:
                d["lat"], d["lng"] = lat, lng
            out.append(_ENC.encode(d))
        self.seq += len(out)
        return _Batch(SENSOR, ts_l, [self.keys[i] for i in idx.tolist()], out, [""] * len(out))


_LEVEL_POLLUTANTS: Final = {
    # station level -> the pollutants its analysers measure
    "national": ("pm25", "pm10", "no2", "so2", "o3", "co"),
    "city": ("pm25", "pm10", "no2", "so2", "o3"),
}
_DEFAULT_POLLUTANTS: Final = ("pm25", "pm10", "no2", "o3")
_DECIMALS: Final = {"pm25": 1, "pm10": 1, "no2": 1, "so2": 1, "o3": 1, "co": 2}


def _background(h: np.ndarray, rng, n: int) -> dict[str, np.ndarray]:
    """Return the city's background air (µg/m³, co mg/m³) by local hour.

    Particles and NO2 build up under the shallow night-time boundary layer and
    in the rush hours; ozone is photochemical and peaks mid-afternoon.
    """
    layer = 1 + 0.3 * np.cos(2 * np.pi * (h - 4.0) / 24.0) + 0.15 * _rush(h)
    pm25 = 30.0 * layer + rng.normal(0, 3.0, n)
    sun = np.clip(np.sin(np.pi * (h - 9.0) / 11.0), 0, None) * ((h > 9.0) & (h < 20.0))
    return {
        "pm25": pm25,
        "pm10": 1.6 * pm25 + 8.0 + rng.normal(0, 4.0, n),
        "no2": 18.0 + 30.0 * _traffic(h) + rng.normal(0, 3.0, n),
        "so2": 7.0 + rng.normal(0, 1.0, n),
        "o3": 25.0 + 110.0 * sun**1.5 + rng.normal(0, 5.0, n),
        "co": 0.5 + 0.4 * _traffic(h) + rng.normal(0, 0.05, n),
    }


class _Stations:
    """Monitoring stations: background air plus the episodes' plumes, and the wind."""

    def __init__(self, reg: Registry, plan: Plan, traits, rng, tag: str):
        self.rng, self.plan, self.prefix, self.seq = rng, plan, f"e-{tag}-", 0
        self.frame = _frame(reg)
        stations = [reg.stations[i] for i in sorted(reg.stations)]
        self.ids = [s.station_id for s in stations]
        self.keys = [i.encode() for i in self.ids]
        self.x, self.y = self.frame.to_xy([s.lat for s in stations], [s.lng for s in stations])
        self.order, self.cursor = traits.permutation(len(stations)), 0
        self.scale = traits.uniform(0.85, 1.2, len(stations))
        self.measures = [_LEVEL_POLLUTANTS.get(s.level, _DEFAULT_POLLUTANTS) for s in stations]

    def chunk(self, chunk: _Chunk, n: int) -> _Batch:
        """Return `n` station readings spread over the chunk."""
        if not self.ids or not n:
            return _Batch(ENVIRONMENT, [], [], [], [])
        idx = self.order[(self.cursor + np.arange(n)) % len(self.ids)]
        self.cursor = (self.cursor + n) % len(self.ids)
        ts = _times(self.rng, chunk, n)
        air = self._air(idx, ts, _hours(ts, chunk.offset_s))
        wind_dir, wind_speed = self.plan.wind.at(ts)
        wind_dir = np.round((wind_dir + self.rng.normal(0, 5.0, n)) % 360.0)
        wind_speed = np.round(np.clip(wind_speed + self.rng.normal(0, 0.3, n), 0, None), 1)
        # An analyser is down for maintenance now and then: that pollutant is left out.
        down = self.rng.random((len(air), n)) < 0.02
        return self._encode(idx, ts, air, down, wind_dir, wind_speed, chunk.offset_s)

    def _air(self, idx, ts, h) -> dict[str, np.ndarray]:
        air = _background(h, self.rng, idx.size)
        scale = self.scale[idx]
        for name in air:
            air[name] *= scale
        px, py = self.x[idx], self.y[idx]
        for ep in self.plan.episodes:
            if ep.start_ms < ts[-1] and ep.start_ms + ep.life_s * 1000 > ts[0]:
                extra = _plume(self.plan, ep, self.frame, px, py, ts)
                for name, share in _EPISODE_PROFILE[ep.kind].items():
                    air[name] += share * extra
        return {k: np.round(np.clip(v, 0, None), _DECIMALS[k]) for k, v in air.items()}

    def _encode(self, idx, ts, air, down, wind_dir, wind_speed, offset_s) -> _Batch:
        iso, cols = _iso(ts, offset_s), {k: v.tolist() for k, v in air.items()}
        names, down_l = list(cols), down.tolist()
        wd, ws, out = wind_dir.tolist(), wind_speed.tolist(), []
        for j, i in enumerate(idx.tolist()):
            d = {"id": f"{self.prefix}{self.seq + j}", "ts": iso[j], "station_id": self.ids[i]}
            for p, name in enumerate(names):
                # pm25 is always sent so a reading never ends up with no pollutant
                if name in self.measures[i] and (name == "pm25" or not down_l[p][j]):
                    d[name] = cols[name][j]
            d["wind_dir_deg"], d["wind_speed_ms"] = wd[j], ws[j]
            out.append(_ENC.encode(d))
        self.seq += len(out)
        return _Batch(ENVIRONMENT, ts.tolist(), [self.keys[i] for i in idx.tolist()], out,
                      [""] * len(out))


_SOURCES: Final = ("hotline", "patrol", "app", "video")
_SOURCE_SHARES: Final = (0.35, 0.30, 0.20, 0.15)
_ISO_SOURCES: Final = {"hotline", "app"}  # the 12345 hotline and the app send ISO-8601 ts
_SURNAMES: Final = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹"
_GIVEN: Final = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红玲文"
_PHONE_PREFIXES: Final = ("135", "137", "138", "139", "150", "158", "177", "186", "189")
_ROADS: Final = ("长寿路", "武宁路", "曹杨路", "四平路", "淮海中路", "肇嘉浜路", "天目西路",
                 "大连路", "延安西路", "江宁路", "中山北路", "凯旋路", "西藏北路", "控江路")
_NEAR: Final = ("附近", "东侧", "西侧", "南门", "北门", "路口", "门口")
_DETAILS: Final = ("影响行人通行", "已持续{n}天", "多次反映未解决", "存在安全隐患",
                   "夜间尤为严重", "请相关部门尽快处理", "周边居民意见较大")
_TEMPLATES: Final = {
    # source -> description templates; {a} address, {c} category name, {d} a detail
    "hotline": ("市民来电反映：{a}{c}，{d}。", "来电人称{a}一带{c}问题{d}，希望尽快处理。"),
    "app": ("随手拍：{a}{c}，{d}。", "{a}发现{c}，{d}。"),
    "patrol": ("网格员巡查发现{a}{c}，{d}。", "巡查：{a}存在{c}，已拍照取证。"),
    "video": ("视频智能识别：{a}疑似{c}。", "视频巡检告警：{a}{c}。"),
}


class _Incidents:
    """Incident reports: clustered around hotspots, thin elsewhere, more by day."""

    def __init__(self, reg: Registry, rng, tag: str):
        self.reg, self.rng, self.prefix, self.seq = reg, rng, f"i-{tag}-", 0
        self.frame = _frame(reg)
        self.spots = [reg.hotspots[i] for i in sorted(reg.hotspots)]
        weights = np.array([max(h.weight, 0.0) for h in self.spots], dtype=float)
        self.p_spot = weights / weights.sum() if weights.sum() > 0 else None
        self.codes = sorted(reg.categories)
        lat0, lat1, lng0, lng1 = _bbox(reg)
        self.box = (*self.frame.to_xy(lat0, lng0), *self.frame.to_xy(lat1, lng1))

    def count(self, chunk: _Chunk, rate: float) -> int:
        h = _hours(np.array([(chunk.t0 + chunk.t1) // 2]), chunk.offset_s)
        return int(self.rng.poisson(rate * chunk.seconds * _incident_intensity(h)[0]))

    def chunk(self, chunk: _Chunk, n: int) -> _Batch:
        """Return `n` incident reports spread over the chunk."""
        if not self.codes:
            return _Batch(INCIDENT, [], [], [], [])
        rng, ts = self.rng, _times(self.rng, chunk, n)
        spot, lat, lng = self._places(n)
        sources = rng.choice(len(_SOURCES), size=n, p=_SOURCE_SHARES).tolist()
        # One row of uniforms per free choice of a report, drawn for the whole chunk.
        u, phones = rng.random((_DRAWS, n)).T.tolist(), rng.integers(10**8, size=n).tolist()
        iso, out, keys = _iso(ts, chunk.offset_s), [], []
        for j in range(n):
            source, r = _SOURCES[sources[j]], u[j]
            code = self._category(spot[j], r[0])
            address = self._address(spot[j], r[1], r[2])
            d = {"id": f"{self.prefix}{self.seq + j}",
                 "ts": iso[j] if source in _ISO_SOURCES else int(ts[j]),
                 "lat": lat[j], "lng": lng[j], "category": code, "source": source,
                 "description": self._describe(source, code, address, r[3], r[4], r[5]),
                 "address": address}
            severity = self._severity(code, r[6], r[7])
            if severity is not None:
                d["severity"] = severity
            if source in ("hotline", "app"):
                d["reporter"] = _reporter(r[8], r[9], r[10], r[11], phones[j])
            keys.append(_key(source, r[12]))
            out.append(_ENC.encode(d))
        self.seq += n
        return _Batch(INCIDENT, ts.tolist(), keys, out, [""] * n)

    def _places(self, n: int) -> tuple[list[int], list[float], list[float]]:
        """Return hotspot index (-1 for background) and lat/lng of `n` reports."""
        rng = self.rng
        x0, y0, x1, y1 = self.box
        x, y = rng.uniform(x0 - 1, x1 + 1, n), rng.uniform(y0 - 1, y1 + 1, n)
        spot = np.full(n, -1)
        if self.p_spot is not None:
            clustered = rng.random(n) < 0.85
            spot[clustered] = rng.choice(len(self.spots), size=int(clustered.sum()),
                                         p=self.p_spot)
            hx, hy = self.frame.to_xy([h.lat for h in self.spots], [h.lng for h in self.spots])
            k = spot[clustered]
            x[clustered] = hx[k] + rng.normal(0, 0.2, k.size)  # a hotspot is a few hundred m
            y[clustered] = hy[k] + rng.normal(0, 0.2, k.size)
        lat, lng = self.frame.to_latlng(x, y)
        return spot.tolist(), np.round(lat, 6).tolist(), np.round(lng, 6).tolist()

    def _category(self, spot: int, pick: float) -> str:
        codes = self.spots[spot].categories if spot >= 0 else self.codes
        return codes[int(pick * len(codes))]

    def _address(self, spot: int, u: float, v: float) -> str:
        if spot >= 0:
            return self.spots[spot].name_zh + _pick(_NEAR, u)
        return f"{_pick(_ROADS, u)}{1 + int(v * 1200)}号"

    def _describe(self, source: str, code: str, address: str, u: float, v: float,
                  w: float) -> str:
        detail = _pick(_DETAILS, u).format(n=2 + int(v * 13))
        return _pick(_TEMPLATES[source], w).format(
            a=address, c=self.reg.categories[code].name_zh, d=detail)

    def _severity(self, code: str, u: float, omit: float) -> int | None:
        if omit < 0.15:
            return None  # left to the category's default
        shift = -1 if u < 0.1 else (1 if u > 0.85 else 0)
        return min(4, max(1, self.reg.categories[code].default_severity + shift))


_DRAWS: Final = 13  # uniforms per incident report, see _Incidents.chunk


def _pick(items, u: float):
    """Return the item a uniform draw in [0, 1) falls on."""
    return items[int(u * len(items))]


def _reporter(u: float, v: float, w: float, x: float, digits: int) -> dict[str, str]:
    """Return a fictional reporter: a common surname, one or two given characters, a mobile."""
    given = _pick(_GIVEN, v) + (_pick(_GIVEN, w) if x < 0.6 else "")
    return {"name": _pick(_SURNAMES, u) + given,
            "phone": f"{_pick(_PHONE_PREFIXES, x)}{digits:08d}"}


def _key(source: str, u: float) -> bytes:
    """Return the reporting channel: hotline, app, patrol-<worker> or video-<camera>."""
    if source == "patrol":
        return f"patrol-W{1 + int(u * 60):03d}".encode()
    if source == "video":
        return f"video-C{1 + int(u * 400):04d}".encode()
    return source.encode()


# --- malformed messages -------------------------------------------------------------------


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
        return _iso(np.array([self.ts_ms if ts_ms is None else ts_ms]), self.offset_s)[0]

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
    return _ENC.encode({**d, field: "\x00lit\x00"}).replace(b'"\\u0000lit\\u0000"', literal)


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
        return key, _ENC.encode(d)
    return build


def _not_json(c: _BadCtx) -> tuple[bytes, bytes]:
    key, d = _sensor_dict(c)
    good = _ENC.encode(d)
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
    return key, _ENC.encode(d)


def _duplicate(c: _BadCtx) -> list[tuple[bytes, bytes, str]]:
    """A gateway's retry: the same event again, a little later (the first copy is good)."""
    key, d = _sensor_dict(c)
    d["id"] = c.bad_id.replace("bad-", "s-", 1)
    return [(key, _ENC.encode(d), ""), (key, _ENC.encode({**d, "sim_fault": c.bad_id}),
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
        (kv := _station_dict(c))[0], b"[" + _ENC.encode(kv[1]) + b"]")),
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
        _ENC.encode({**kv[1], "unit": _wrong_unit_for(c, kv[1]["metric"])}))),
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


class _Malformed:
    """Malformed messages of every kind, each carrying a `bad-<kind>-...` marker."""

    def __init__(self, reg: Registry, plan: Plan, rng, tag: str):
        self.reg, self.rng, self.tag, self.seq = reg, rng, tag, 0
        faulty = {f.sensor_id for f in plan.faults}
        self.sensors = {k: v for k, v in reg.sensors.items() if k not in faulty} or reg.sensors
        has = {SENSOR: bool(reg.sensors), ENVIRONMENT: bool(reg.stations),
               INCIDENT: bool(reg.categories)}
        self.kinds = [k for k, m in MALFORMED.items() if has[m.topic]]

    def chunk(self, chunk: _Chunk, n: int) -> _Batch:
        """Return about `n` malformed messages spread over the chunk."""
        batch = _Batch("", [], [], [], [])
        if not self.kinds:
            return batch
        topics: list[str] = []
        kinds = self.rng.integers(len(self.kinds), size=n).tolist()
        for ts, k in zip(_times(self.rng, chunk, n).tolist(), kinds, strict=True):
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


# --- the run ------------------------------------------------------------------------------


def _merge(batches: list[_Batch]) -> Iterator[SimMessage]:
    """Yield the chunk's messages of all sources in send-time order (stable for ties)."""
    ts = [t for b in batches for t in b.ts]
    topics = [t for b in batches
              for t in (b.topic if isinstance(b.topic, list) else [b.topic] * len(b.ts))]
    keys = [k for b in batches for k in b.keys]
    values = [v for b in batches for v in b.values]
    faults = [f for b in batches for f in b.faults]
    for i in np.argsort(np.array(ts, dtype=np.int64), kind="stable").tolist():
        yield SimMessage(topics[i], keys[i], values[i], ts[i], faults[i])


def _chunk_ms(rate: float) -> int:
    # Chunks of a few hundred messages keep numpy's per-call overhead small;
    # at most a minute so the wind and the rhythms stay smooth.
    return int(1000 * min(60.0, max(1.0, 400.0 / rate)))


def _check(rate: float, duration_s: float, malformed_share: float) -> None:
    if not (rate > 0 and math.isfinite(rate)):
        raise ValueError(f"rate must be a positive number of messages per second, got {rate}")
    if not duration_s >= 0:
        raise ValueError(f"duration_s must be >= 0, got {duration_s}")
    if not 0 <= malformed_share <= 1:
        raise ValueError(f"malformed_share must be between 0 and 1, got {malformed_share}")


def simulate(registry: Registry, *, rate: float, duration_s: float, seed: int, start: datetime,
             malformed_share: float = 0.005) -> Iterator[SimMessage]:
    """Yield a run's messages for the city, in send-time order; the same arguments, the same bytes.

    Parameters
    ----------
    rate : average messages per second of simulated time, all three input topics
        together (70 % sensor, 10 % environment, 20 % incident; incidents follow
        the hour, so the rate is a daily mean).
    duration_s : simulated seconds; messages have start <= ts_ms < start + duration.
    start : when the run begins; a naive datetime is the city's local time.
    malformed_share : share of malformed messages (marked `bad-<kind>-...`, see MALFORMED).
    """
    _check(rate, duration_s, malformed_share)
    plan = make_plan(registry, seed=seed, start=start, duration_s=duration_s)
    rngs, tz = _rngs(seed), ZoneInfo(registry.timezone)
    tag = f"{seed:x}.{plan.start_ms // 1000:x}"
    sensors = _Sensors(registry, plan, rngs["traits"], rngs["sensor"], tag)
    stations = _Stations(registry, plan, rngs["traits"], rngs["environment"], tag)
    incidents = _Incidents(registry, rngs["incident"], tag)
    bad = _Malformed(registry, plan, rngs["bad"], tag)
    good = {k: rate * (1 - malformed_share) * v for k, v in TOPIC_SHARES.items()}
    step = _chunk_ms(rate)
    for t0 in range(plan.start_ms, plan.end_ms, step):
        offset = datetime.fromtimestamp(t0 / 1000, tz).utcoffset()
        chunk = _Chunk(t0, min(t0 + step, plan.end_ms), int(offset.total_seconds()))
        poisson = rngs["traits"].poisson
        yield from _merge([
            sensors.chunk(chunk, int(poisson(good[SENSOR] * chunk.seconds))),
            stations.chunk(chunk, int(poisson(good[ENVIRONMENT] * chunk.seconds))),
            incidents.chunk(chunk, incidents.count(chunk, good[INCIDENT])),
            bad.chunk(chunk, int(poisson(rate * malformed_share * chunk.seconds))),
        ])
