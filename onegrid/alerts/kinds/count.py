"""Count in window: N reports of one category in a cell and its H3 ring k.

A cluster is counted around each cell that has reports: its own reports plus
those of its neighbours within `ring_k` rings, per category. The key is the
centre cell and the category, so two categories at one place are two alerts.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

import pyarrow as pa
from h3.api import basic_int as h3i

from onegrid.alerts.model import Observation, Rule


def ring_counts(cells: list[int], metrics: list[str], counts: list[int],
                k: int) -> dict[tuple[int, str], int]:
    """Return {(centre cell, metric): reports within k rings of it} for cells with reports."""
    by_cell: dict[tuple[int, str], int] = defaultdict(int)
    for cell, metric, n in zip(cells, metrics, counts, strict=True):
        by_cell[(cell, metric)] += n
    out = {}
    for cell, metric in by_cell:
        out[(cell, metric)] = sum(by_cell.get((c, metric), 0) for c in h3i.grid_disk(cell, k))
    return out


def evaluate(rule: Rule, stats: pa.Table, at: datetime) -> list[Observation]:
    """Return the ring count around each res-10 cell with reports of the rule's category."""
    if stats.num_rows == 0:
        return []
    cells = [int(k) for k in stats.column("key").to_pylist()]
    counts = ring_counts(cells, stats.column("metric").to_pylist(),
                         stats.column("n").to_pylist(), rule.ring_k)
    return [Observation(rule.id, f"{cell}|{metric}", at, float(n), cell=cell)
            for (cell, metric), n in sorted(counts.items())]
