"""Rule kinds: each turns window statistics into observations for the lifecycle.

A new kind is one new module and one line in KINDS. Each `evaluate` takes the
rule, the statistics the store computed for its window (an Arrow table with
key, metric, n, sum, min, max, cell), the evaluation time and the keys with a
live alert, and returns one Observation per scope key; given the live keys
(evaluation always gives them, maybe none), a kind may leave out a key that has
no live alert and whose value cannot start one. Deciding
pending/firing/resolved is `lifecycle`'s.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime
from typing import Final

import pyarrow as pa

from onegrid.alerts.kinds import count, forecast, nodata, rate, threshold
from onegrid.alerts.model import Observation, Rule

Evaluate = Callable[[Rule, pa.Table, datetime, Collection[str]], list[Observation]]

KINDS: Final[dict[str, Evaluate]] = {
    "threshold": threshold.evaluate,
    "count": count.evaluate,
    "rate": rate.evaluate,
    "nodata": nodata.evaluate,
    "forecast": forecast.evaluate,
}

__all__ = ["KINDS", "Evaluate"]
