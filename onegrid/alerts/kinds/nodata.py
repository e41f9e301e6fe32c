"""No data: a sensor or station silent longer than its limit is a device fault.

The value is how many seconds the source has been silent at the evaluation
time, so the rule reads as a threshold (`>= silent_s`) and clears the moment
the source speaks again. Sources never heard from are not judged: a device
that was never installed is a registry question, not an alert.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from onegrid.alerts.lifecycle import could_start
from onegrid.alerts.model import Observation, Rule

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def evaluate(rule: Rule, seen: pa.Table, at: datetime,
             live: Collection[str] | None = None) -> list[Observation]:
    """Return seconds of silence per source (rows: source_id, last_ts, cell, grid_id).

    Sources without a live alert that have not been silent long enough are
    left out (most of them are speaking), decided over whole columns.
    """
    if seen.num_rows == 0:
        return []
    last_ms = pc.cast(seen.column("last_ts"), pa.timestamp("ms", tz="UTC")).cast(pa.int64())
    # Whole milliseconds on both sides, so a silence exactly at the limit stays exact.
    at_ms = (at - _EPOCH) // timedelta(milliseconds=1)
    silent = (at_ms - last_ms.to_numpy()) / 1000
    sources = seen.column("source_id").to_pylist()
    # live None (a caller outside evaluation): observe every source.
    keep = could_start(rule, silent) if live is not None else np.ones(len(sources), dtype=bool)
    if live:
        keep |= np.fromiter((s in live for s in sources), dtype=bool, count=len(sources))
    rows = np.flatnonzero(keep)
    cells = seen.column("cell").take(rows).to_pylist()
    grids = seen.column("grid_id").take(rows).to_pylist()
    return [Observation(rule.id, sources[i], at, float(silent[i]), cell=cell, grid_id=grid)
            for i, cell, grid in zip(rows.tolist(), cells, grids, strict=True)]
