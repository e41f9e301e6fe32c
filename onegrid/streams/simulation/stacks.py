"""Industrial releases at registered pollution sources: which source, and its plume.

An industrial episode of the plan is a source of the city's register (污染源)
emitting far above its normal for a few hours (a failed scrubber, a night of
unpermitted production). `place_at_sources` moves each industrial episode to
such a source, chosen among those permitted to emit SO2 (0.5 t/year or
more) with a monitoring station downwind at the episode's mid-life wind, so
the run has an episode with a true source upwind of the stations it reaches,
and the plan names it (`Episode.source_id`). `stack_plume` is that release's
plume: an elevated Gaussian plume along the wind of each moment, widening
downwind, so it sweeps over the stations as the wind turns. Regional puffs (haze, dust) and
the stations themselves stay in `air`; the register is `geo.registry`'s.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Final

import numpy as np

from onegrid.geo.registry import PollutionSource, Registry
from onegrid.streams.simulation.frame import Frame, city_frame

if TYPE_CHECKING:
    from onegrid.streams.simulation.air import Episode, Wind

# An industrial release is SO2 heavy (see air's profile): its stack burns coal or oil or
# runs a process, which a permit of at least this much SO2 a year says; gas boilers do not.
_MIN_SO2_T: Final = 0.5
_NEAR_KM: Final = 0.2  # plume half-width at the stack
_SPREAD: Final = 0.2  # half-width grows ~0.2 km per km downwind (about 11 degrees)
# An elevated plume touches the ground some way downwind: the centre line peaks at
# _TOUCH_KM and then dilutes with the square of the distance.
_TOUCH_KM: Final = 1.5
_STATION_KM: Final = (1.0, 8.0)  # how far downwind a station may be to be "reached"
_STATION_DEG: Final = 15.0  # and how far off the plume's axis


def emitting(reg: Registry) -> list[PollutionSource]:
    """Return the register's sources that could make an industrial episode, by id."""
    return [reg.sources[i] for i in sorted(reg.sources)
            if reg.sources[i].permits.get("so2", 0.0) >= _MIN_SO2_T]


def place_at_sources(reg: Registry, episodes: tuple[Episode, ...], wind: Wind,
                     rng: np.random.Generator) -> tuple[Episode, ...]:
    """Return the episodes with each industrial one moved to a source of the register.

    Other episodes, and every episode when the register holds no emitting
    source, are returned unchanged; `rng` is the plan's own generator for
    this, so the rest of the plan does not depend on the register.
    """
    sources = emitting(reg)
    if not sources:
        return episodes
    frame = city_frame(reg)
    out = []
    for ep in episodes:
        if ep.kind != "industrial":
            out.append(ep)
            continue
        src = _pick(reg, sources, wind, frame, rng, ep.start_ms + ep.life_s * 500)
        out.append(replace(ep, lat=src.lat, lng=src.lng, source_id=src.source_id))
    return tuple(out)


def _pick(reg: Registry, sources: list[PollutionSource], wind: Wind, frame: Frame,
          rng: np.random.Generator, mid_ms: float) -> PollutionSource:
    """Return a source with a station downwind at `mid_ms` (any emitting one if none has),
    the likelier the bigger its SO2 permit."""
    stations = list(reg.stations.values())
    sx, sy = frame.to_xy([s.lat for s in stations], [s.lng for s in stations])
    ox, oy = frame.to_xy([s.lat for s in sources], [s.lng for s in sources])
    wind_from, _ = wind.at(np.array([mid_ms]))
    along, cross = _axes(float(wind_from[0]), sx[None, :] - ox[:, None],
                         sy[None, :] - oy[:, None])
    off = np.degrees(np.abs(np.arctan2(cross, along)))
    reached = (along >= _STATION_KM[0]) & (along <= _STATION_KM[1]) & (off <= _STATION_DEG)
    pool = [s for s, hit in zip(sources, reached.any(axis=1), strict=True) if hit] or sources
    # Bigger plants have more to lose control of: the chance goes with the SO2 permit.
    weight = np.array([s.permits["so2"] for s in pool])
    return pool[int(rng.choice(len(pool), p=weight / weight.sum()))]


def _axes(wind_from_deg, dx, dy) -> tuple[np.ndarray, np.ndarray]:
    """Return (downwind, crosswind) km of offsets (dx east, dy north) for a wind direction."""
    to = np.radians(np.asarray(wind_from_deg) + 180.0)  # the air moves away from the wind
    ux, uy = np.sin(to), np.cos(to)
    return dx * ux + dy * uy, dx * uy - dy * ux


def stack_plume(ep: Episode, wind: Wind, frame: Frame, px, py, ts_ms) -> np.ndarray:
    """Return a release's pm25-equivalent (µg/m³) at points (km) and times; 0 outside its life.

    The release grows and fades as sin^2 over its life. At each moment the
    plume points where the wind blows: a Gaussian across the axis, half-width
    _NEAR_KM + _SPREAD x downwind distance x; along it u e^(1 - u) with
    u = (_TOUCH_KM / x)^2, the ground-level centre line of an elevated plume
    (nothing at the stack's foot, 1 at _TOUCH_KM, then e u). Nothing upwind.
    """
    s = (ts_ms - ep.start_ms) / (ep.life_s * 1000)
    amp = ep.peak * np.sin(np.pi * np.clip(s, 0, 1)) ** 2
    ox, oy = frame.to_xy(ep.lat, ep.lng)
    wind_from, _ = wind.at(ts_ms)
    along, cross = _axes(wind_from, px - ox, py - oy)
    down = np.clip(along, 1e-3, None)  # upwind of the stack: u is huge, the value 0
    u = (_TOUCH_KM / down) ** 2
    width = _NEAR_KM + _SPREAD * down
    shape = u * np.exp(1 - u) * np.exp(-0.5 * (cross / width) ** 2)
    return np.where((s > 0) & (s < 1), amp * shape, 0.0)
