"""Sensors: what healthy devices read through the day, and how devices fail.

Each metric has a model of a healthy device (noise follows the day and the
rush hours, river levels the tide, tilt and gas a steady scatter); a metric
the simulator does not know gets a generic one inside its plausible range.
`plan_faults` picks the devices that go silent, get stuck, spike or drift and
when; `Sensors` turns a chunk of time into their readings in round-robin.
Station air and incident reports are in `air` and `incidents`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import numpy as np

from onegrid.geo.registry import Registry
from onegrid.streams.contract import SENSOR
from onegrid.streams.simulation.chunks import ENC, Batch, Chunk, random_times
from onegrid.streams.simulation.clock import daytime, ms_to_hours, ms_to_iso, rush_hours, traffic

if TYPE_CHECKING:
    from onegrid.streams.simulation.plan import Plan

FAULT_KINDS: Final = ("silent", "stuck", "spike", "drift")
FAULTY_SHARE: Final = 0.04


@dataclass(frozen=True)
class SensorFault:
    """A device failure during [start_ms, end_ms): silent, stuck, spike or drift."""

    sensor_id: str
    kind: str
    start_ms: int
    end_ms: int
    level: float  # stuck: the stuck value; drift: the offset reached at end_ms


# --- sensor readings ----------------------------------------------------------------------

SensorModel = Callable[[np.ndarray, np.ndarray, np.random.Generator], np.ndarray]


def _noise_db(h, ts, rng):
    return 42.0 + 18.0 * daytime(h) + 8.0 * rush_hours(h) + rng.normal(0.0, 2.5, h.size)


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
    return 110.0 * traffic(h) + rng.normal(0.0, 5.0, h.size)


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
    return lambda h, ts, rng: (lo + span * (0.25 + 0.1 * daytime(h))
                               + rng.normal(0, 0.02 * span, h.size))


# --- faults -------------------------------------------------------------------------------


def plan_faults(reg: Registry, rng, start_ms: int, end_ms: int) -> tuple[SensorFault, ...]:
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


# --- the source ---------------------------------------------------------------------------


class Sensors:
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

    def chunk(self, chunk: Chunk, n: int) -> Batch:
        """Return `n` readings spread over the chunk (fewer if a device is silent)."""
        if not self.ids or not n:
            return Batch(SENSOR, [], [], [], [])
        idx = self.order[(self.cursor + np.arange(n)) % len(self.ids)]
        self.cursor = (self.cursor + n) % len(self.ids)
        ts = random_times(self.rng, chunk, n)
        values = self._healthy(idx, ts, ms_to_hours(ts, chunk.offset_s))
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

    def _encode(self, idx, ts, values, offset_s: int) -> Batch:
        iso, ts_l, vals = ms_to_iso(ts, offset_s), ts.tolist(), values.tolist()
        out, seq, rows = [], self.seq, self.rows
        for j, i in enumerate(idx.tolist()):
            sid, metric, unit, lat, lng = rows[i]
            d = {"id": f"{self.prefix}{seq + j}", "ts": iso[j] if self.iso[i] else ts_l[j],
                 "sensor_id": sid, "metric": metric, "value": vals[j]}
            if self.with_unit[i]:
                d["unit"] = unit
            if self.with_loc[i]:
                d["lat"], d["lng"] = lat, lng
            out.append(ENC.encode(d))
        self.seq += len(out)
        return Batch(SENSOR, ts_l, [self.keys[i] for i in idx.tolist()], out, [""] * len(out))
