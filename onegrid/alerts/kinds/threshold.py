"""Windowed threshold: mean / max / min / sum / count of a metric per scope key.

The statistic is computed from the window's minute buckets (exact: n, sum,
min and max roll up). Ladders are thresholds with several levels; which level
holds is the lifecycle's decision, so this kind only reports the value.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

import numpy as np
import pyarrow as pa

from onegrid.alerts.lifecycle import could_start
from onegrid.alerts.model import Observation, Rule


def statistic(stat: str, stats: pa.Table) -> np.ndarray:
    """Return the window statistic of each row of `stats` (n, sum, min, max columns)."""
    n = stats.column("n").to_numpy().astype(np.float64)
    if stat == "mean":
        return stats.column("sum").to_numpy() / np.where(n > 0, n, np.nan)
    if stat in ("max", "min", "sum"):
        return stats.column(stat).to_numpy().astype(np.float64)
    if stat == "count":
        return n
    raise ValueError(f"unknown statistic {stat!r}")


def evaluate(rule: Rule, stats: pa.Table, at: datetime,
             live: Collection[str] | None = None) -> list[Observation]:
    """Return one observation per scope key with data in the window.

    Keys without a live alert whose value cannot start one are left out, in one
    array comparison: most keys are quiet, and making an observation of each
    was most of this kind's time.
    """
    if stats.num_rows == 0:
        return []
    values = statistic(rule.stat, stats)
    keys = stats.column("key").to_pylist()
    # live None (a caller outside evaluation): observe every key.
    keep = could_start(rule, values) if live is not None else np.ones(len(keys), dtype=bool)
    if live:
        keep |= np.fromiter((k in live for k in keys), dtype=bool, count=len(keys))
    cells = stats.column("cell").to_pylist()
    return [Observation(rule.id, keys[i], at, float(values[i]), cell=cells[i])
            for i in np.flatnonzero(keep).tolist()]
