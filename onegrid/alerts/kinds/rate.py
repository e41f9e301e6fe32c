"""Rate of change: how far a metric moved across the window, per scope key.

The change is the mean of the last minute bucket minus the mean of the first
in the window, so one noisy reading does not make a rate. The store supplies
first and last bucket means (columns first_mean, last_mean) beside the usual
window statistics.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

import pyarrow as pa

from onegrid.alerts.model import Observation, Rule


def evaluate(rule: Rule, stats: pa.Table, at: datetime,
             live: Collection[str] = ()) -> list[Observation]:
    """Return last-minus-first bucket mean per key (keys with a single bucket are skipped)."""
    if stats.num_rows == 0 or "first_mean" not in stats.column_names:
        return []
    rows = stats.select(["key", "first_mean", "last_mean", "cell"]).to_pylist()
    return [Observation(rule.id, r["key"], at, r["last_mean"] - r["first_mean"], cell=r["cell"])
            for r in rows if r["first_mean"] is not None and r["last_mean"] is not None]
