"""The plan of a run: what happens whatever the rate, fixed before any message.

`make_plan` draws, from the seed alone, the device faults (`devices`), the
pollution episodes and the wind (`air`) of a run, with each industrial
episode at a registered pollution source (`stacks`), so tests can ask where
and when to look (and which source is to blame) and a run at another rate
tells the same story. It also owns how one seed becomes the independent
random generators of each part of the model. Turning the plan into messages
is left to the sources and the run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

import numpy as np

from onegrid.geo.registry import Registry
from onegrid.streams.simulation.air import (
    EPISODE_LEAD_S,
    Episode,
    Wind,
    plan_episodes,
    plan_wind,
)
from onegrid.streams.simulation.clock import start_to_ms
from onegrid.streams.simulation.devices import SensorFault, plan_faults
from onegrid.streams.simulation.stacks import place_at_sources

# The parts of the model, each with its own generator, in the order they are spawned.
# New parts go at the end: a SeedSequence's nth child does not depend on how many
# are spawned, so the older parts keep their draws.
_PARTS: Final = ("faults", "wind", "episodes", "traits", "sensor", "environment", "incident",
                 "bad", "sources")


@dataclass(frozen=True)
class Plan:
    """What happens in a run whatever its rate: device faults, episodes and wind."""

    start_ms: int
    end_ms: int
    faults: tuple[SensorFault, ...]
    episodes: tuple[Episode, ...]
    wind: Wind


def seed_to_rngs(seed: int) -> dict[str, np.random.Generator]:
    """Return one independent generator per part of the model, all from `seed`."""
    children = np.random.SeedSequence(seed).spawn(len(_PARTS))
    return {n: np.random.Generator(np.random.PCG64(c))
            for n, c in zip(_PARTS, children, strict=True)}


def make_plan(registry: Registry, *, seed: int, start: datetime, duration_s: float) -> Plan:
    """Return the rate-independent part of a run: device faults, episodes and the wind."""
    rngs = seed_to_rngs(seed)
    start_ms = start_to_ms(start, ZoneInfo(registry.timezone))
    end_ms = start_ms + int(duration_s * 1000)
    wind = plan_wind(rngs["wind"], start_ms - EPISODE_LEAD_S * 1000, end_ms)
    episodes = place_at_sources(
        registry, plan_episodes(registry, rngs["episodes"], start_ms, end_ms), wind,
        rngs["sources"])
    return Plan(start_ms, end_ms, plan_faults(registry, rngs["faults"], start_ms, end_ms),
                episodes, wind)
