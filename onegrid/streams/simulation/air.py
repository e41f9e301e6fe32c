"""The air: background pollution, drifting episode plumes and the wind; stations.

The city's background air follows the boundary layer, the traffic and the sun.
On top of it, episodes (haze, dust, industrial) grow, drift with a slowly
turning wind and fade as Gaussian plumes. `plan_wind` and `plan_episodes`
fix the wind and episodes of a run; `Stations` turns a chunk of time into
monitoring stations' readings of it all, wind included. An industrial episode
at a registered pollution source is a stack's plume instead (`stacks`). The
plan as a whole is in `plan`; devices in `devices`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import numpy as np

from onegrid.geo.registry import Registry
from onegrid.streams.contract import ENVIRONMENT
from onegrid.streams.simulation.chunks import ENC, Batch, Chunk, random_times
from onegrid.streams.simulation.clock import ms_to_hours, ms_to_iso, rush_hours, traffic
from onegrid.streams.simulation.frame import Frame, city_frame
from onegrid.streams.simulation.stacks import stack_plume

if TYPE_CHECKING:
    from onegrid.streams.simulation.plan import Plan

# Episodes are regional: their mass drifts slower than the wind that stirs
# them, so one crosses a city in hours, not in minutes.
_DRIFT_FACTOR: Final = 0.3
_WIND_KNOT_S: Final = 300
EPISODE_LEAD_S: Final = 8 * 3600


@dataclass(frozen=True)
class Episode:
    """An air-pollution episode: a Gaussian plume that grows, drifts and fades.

    `source_id` names the registered pollution source of an industrial episode
    (then lat/lng are the source's and the plume is its stack's, see `stacks`);
    it is empty for regional episodes.
    """

    kind: str
    start_ms: int
    life_s: float
    lat: float  # where it starts
    lng: float
    peak: float  # pm25-equivalent µg/m³ at the centre at mid-life
    sigma_km: float
    source_id: str = ""


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


# --- wind and episodes --------------------------------------------------------------------


def plan_wind(rng, start_ms: int, end_ms: int) -> Wind:
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


def plan_episodes(reg: Registry, rng, start_ms: int, end_ms: int) -> tuple[Episode, ...]:
    """Return episodes over the run: one that starts early in the run, and a Poisson scatter.

    Episodes start near a station (where they would be noticed) and may already
    be under way when the run begins. The first one always lies inside the
    run, so even a short demo shows one growing.
    """
    places = [(s.lat, s.lng) for s in reg.stations.values()] or [tuple(reg.center)]
    duration_s = (end_ms - start_ms) / 1000
    frame = city_frame(reg)
    lead_start = start_ms + int(rng.uniform(0.05, 0.25) * duration_s * 1000)
    lead_life = min(rng.uniform(2, 8) * 3600, max(3600.0, 0.6 * duration_s))
    n_more = rng.poisson((duration_s + EPISODE_LEAD_S) / (5 * 3600))
    starts = [lead_start, *(start_ms + rng.uniform(-EPISODE_LEAD_S, duration_s, n_more) * 1000)]
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


def episode_pm25(registry: Registry, plan: Plan, episode: Episode, lat: float, lng: float,
                 ts_ms: np.ndarray) -> np.ndarray:
    """Return an episode's pm25-equivalent contribution (µg/m³) at one place over times."""
    frame = city_frame(registry)
    ts_ms = np.asarray(ts_ms)
    px, py = frame.to_xy(lat, lng)
    return plume(plan, episode, frame, np.full(ts_ms.shape, float(px)),
                 np.full(ts_ms.shape, float(py)), ts_ms)


def plume(plan: Plan, ep: Episode, frame: Frame, px, py, ts_ms) -> np.ndarray:
    """Return the plume's pm25-equivalent at points (km) and times; 0 outside its life."""
    if ep.source_id:
        return stack_plume(ep, plan.wind, frame, px, py, ts_ms)
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


# --- stations -----------------------------------------------------------------------------


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
    layer = 1 + 0.3 * np.cos(2 * np.pi * (h - 4.0) / 24.0) + 0.15 * rush_hours(h)
    pm25 = 30.0 * layer + rng.normal(0, 3.0, n)
    sun = np.clip(np.sin(np.pi * (h - 9.0) / 11.0), 0, None) * ((h > 9.0) & (h < 20.0))
    return {
        "pm25": pm25,
        "pm10": 1.6 * pm25 + 8.0 + rng.normal(0, 4.0, n),
        "no2": 18.0 + 30.0 * traffic(h) + rng.normal(0, 3.0, n),
        "so2": 7.0 + rng.normal(0, 1.0, n),
        "o3": 25.0 + 110.0 * sun**1.5 + rng.normal(0, 5.0, n),
        "co": 0.5 + 0.4 * traffic(h) + rng.normal(0, 0.05, n),
    }


class Stations:
    """Monitoring stations: background air plus the episodes' plumes, and the wind."""

    def __init__(self, reg: Registry, plan: Plan, traits, rng, tag: str):
        self.rng, self.plan, self.prefix, self.seq = rng, plan, f"e-{tag}-", 0
        self.frame = city_frame(reg)
        stations = [reg.stations[i] for i in sorted(reg.stations)]
        self.ids = [s.station_id for s in stations]
        self.keys = [i.encode() for i in self.ids]
        self.x, self.y = self.frame.to_xy([s.lat for s in stations], [s.lng for s in stations])
        self.order, self.cursor = traits.permutation(len(stations)), 0
        self.scale = traits.uniform(0.85, 1.2, len(stations))
        self.measures = [_LEVEL_POLLUTANTS.get(s.level, _DEFAULT_POLLUTANTS) for s in stations]

    def chunk(self, chunk: Chunk, n: int) -> Batch:
        """Return `n` station readings spread over the chunk."""
        if not self.ids or not n:
            return Batch(ENVIRONMENT, [], [], [], [])
        idx = self.order[(self.cursor + np.arange(n)) % len(self.ids)]
        self.cursor = (self.cursor + n) % len(self.ids)
        ts = random_times(self.rng, chunk, n)
        air = self._air(idx, ts, ms_to_hours(ts, chunk.offset_s))
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
                extra = plume(self.plan, ep, self.frame, px, py, ts)
                for name, share in _EPISODE_PROFILE[ep.kind].items():
                    air[name] += share * extra
        return {k: np.round(np.clip(v, 0, None), _DECIMALS[k]) for k, v in air.items()}

    def _encode(self, idx, ts, air, down, wind_dir, wind_speed, offset_s) -> Batch:
        iso, cols = ms_to_iso(ts, offset_s), {k: v.tolist() for k, v in air.items()}
        names, down_l = list(cols), down.tolist()
        wd, ws, out = wind_dir.tolist(), wind_speed.tolist(), []
        for j, i in enumerate(idx.tolist()):
            d = {"id": f"{self.prefix}{self.seq + j}", "ts": iso[j], "station_id": self.ids[i]}
            for p, name in enumerate(names):
                # pm25 is always sent so a reading never ends up with no pollutant
                if name in self.measures[i] and (name == "pm25" or not down_l[p][j]):
                    d[name] = cols[name][j]
            d["wind_dir_deg"], d["wind_speed_ms"] = wd[j], ws[j]
            out.append(ENC.encode(d))
        self.seq += len(out)
        return Batch(ENVIRONMENT, ts.tolist(), [self.keys[i] for i in idx.tolist()], out,
                     [""] * len(out))
