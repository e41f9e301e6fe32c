"""Chunks of simulated time and the batches of messages sources make for them.

A run is cut into chunks; each source (devices, stations, incidents,
malformed messages) turns one `Chunk` into one `Batch` of encoded messages,
which the run in `onegrid.streams.simulator` merges into send-time order.
This module owns only those two shapes, the JSON encoder they share and how
send times fall within a chunk; what goes into a message is the sources' own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import msgspec
import numpy as np

ENC: Final = msgspec.json.Encoder()


@dataclass(frozen=True)
class Chunk:
    """A slice [t0, t1) of simulated time (epoch ms) and the city's UTC offset then."""

    t0: int
    t1: int
    offset_s: int

    @property
    def seconds(self) -> float:
        return (self.t1 - self.t0) / 1000.0


@dataclass
class Batch:
    """Messages of one source for one chunk, in any order; the run sorts them."""

    topic: str | list[str]  # one topic, or one per message (malformed ones)
    ts: list[int]
    keys: list[bytes]
    values: list[bytes]
    faults: list[str]


def random_times(rng, chunk: Chunk, n: int) -> np.ndarray:
    """Return `n` sorted send times (epoch ms) drawn uniformly from the chunk."""
    return np.sort(rng.integers(chunk.t0, chunk.t1, n)) if n else np.zeros(0, np.int64)
