"""No data: a sensor or station silent longer than its limit is a device fault.

The value is how many seconds the source has been silent at the evaluation
time, so the rule reads as a threshold (`>= silent_s`) and clears the moment
the source speaks again. Sources never heard from are not judged: a device
that was never installed is a registry question, not an alert.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

import pyarrow as pa

from onegrid.alerts.model import Observation, Rule


def evaluate(rule: Rule, seen: pa.Table, at: datetime,
             live: Collection[str] = ()) -> list[Observation]:
    """Return seconds of silence per source (rows: source_id, last_ts, cell, grid_id)."""
    rows = seen.to_pylist()
    return [Observation(rule.id, r["source_id"], at, (at - r["last_ts"]).total_seconds(),
                        cell=r["cell"], grid_id=r["grid_id"])
            for r in rows]
