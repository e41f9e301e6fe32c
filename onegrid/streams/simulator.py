"""Realistic, reproducible demo traffic for a city: sensor, station and incident messages.

`simulate` turns a city registry plus (rate, duration, seed, start) into the
byte-exact stream of Kafka messages a real city would send: noise and traffic
that follow the local hour, air-quality episodes that grow, drift with a
slowly turning wind and fade, sensors that get stuck, spike, drift or fall
silent, incident reports clustered around hotspots, and a small share of
malformed messages of many kinds. It is pure: no clock, no global random
state, no I/O; the same arguments give the same bytes. What happens in the
run that does not depend on the rate (faults, episodes, wind) is fixed first
by `make_plan`, so tests can ask where to look. The parts of the model live
in `onegrid.streams.simulation`; this module runs them chunk by chunk and
merges their messages. Sending belongs to `producer`, files to `replay`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Final
from zoneinfo import ZoneInfo

import numpy as np

from onegrid.geo.registry import Registry
from onegrid.streams.contract import ENVIRONMENT, INCIDENT, SENSOR
from onegrid.streams.simulation import (
    MALFORMED,
    Episode,
    MalformedKind,
    Plan,
    SensorFault,
    Wind,
    episode_pm25,
    make_plan,
)
from onegrid.streams.simulation.air import Stations
from onegrid.streams.simulation.chunks import Batch, Chunk
from onegrid.streams.simulation.devices import FAULT_KINDS, FAULTY_SHARE, Sensors
from onegrid.streams.simulation.incidents import Incidents
from onegrid.streams.simulation.malformed import Malformed
from onegrid.streams.simulation.plan import seed_to_rngs

__all__ = ["FAULTY_SHARE", "FAULT_KINDS", "MALFORMED", "TOPIC_SHARES", "Episode",
           "MalformedKind", "Plan", "SensorFault", "SimMessage", "Wind", "episode_pm25",
           "make_plan", "simulate"]

# Average shares of the three input topics in the total rate.
TOPIC_SHARES: Final = {SENSOR: 0.70, ENVIRONMENT: 0.10, INCIDENT: 0.20}


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


def _merge(batches: list[Batch]) -> Iterator[SimMessage]:
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
    rngs, tz = seed_to_rngs(seed), ZoneInfo(registry.timezone)
    tag = f"{seed:x}.{plan.start_ms // 1000:x}"
    sensors = Sensors(registry, plan, rngs["traits"], rngs["sensor"], tag)
    stations = Stations(registry, plan, rngs["traits"], rngs["environment"], tag)
    incidents = Incidents(registry, rngs["incident"], tag)
    bad = Malformed(registry, plan, rngs["bad"], tag)
    good = {k: rate * (1 - malformed_share) * v for k, v in TOPIC_SHARES.items()}
    step = _chunk_ms(rate)
    for t0 in range(plan.start_ms, plan.end_ms, step):
        offset = datetime.fromtimestamp(t0 / 1000, tz).utcoffset()
        chunk = Chunk(t0, min(t0 + step, plan.end_ms), int(offset.total_seconds()))
        poisson = rngs["traits"].poisson
        yield from _merge([
            sensors.chunk(chunk, int(poisson(good[SENSOR] * chunk.seconds))),
            stations.chunk(chunk, int(poisson(good[ENVIRONMENT] * chunk.seconds))),
            incidents.chunk(chunk, incidents.count(chunk, good[INCIDENT])),
            bad.chunk(chunk, int(poisson(rate * malformed_share * chunk.seconds))),
        ])
