"""Count in window: N reports of one category in a cell and its H3 ring k.

A cluster is counted around each cell that has reports: its own reports plus
those of its neighbours within `ring_k` rings, per category. Only the centre
of a cluster reports it (the cell whose count no cell within its rings beats;
ties go to the lowest cell id); the other cells whose count reaches the
rule's threshold report 0, so three reports in neighbouring cells make one
cluster alert, and an alert whose centre moved resolves. Counts below the
threshold are reported as they are (they alert nothing either way). The key
is the centre cell and the category.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from datetime import datetime

import pyarrow as pa
from h3.api import basic_int as h3i

from onegrid.alerts.model import Observation, Rule


@functools.lru_cache(maxsize=262_144)
def disk(cell: int, k: int) -> tuple[int, ...]:
    """Return the cell and its neighbours within k rings (cached: the same cells
    report window after window)."""
    return tuple(h3i.grid_disk(cell, k))


def ring_counts(cells: list[int], metrics: list[str], counts: list[int],
                k: int) -> dict[tuple[int, str], int]:
    """Return {(centre cell, metric): reports within k rings of it} for cells with reports."""
    by_cell: dict[tuple[int, str], int] = defaultdict(int)
    for cell, metric, n in zip(cells, metrics, counts, strict=True):
        by_cell[(cell, metric)] += n
    out = {}
    for cell, metric in by_cell:
        out[(cell, metric)] = sum(by_cell.get((c, metric), 0) for c in disk(cell, k))
    return out


def is_centre(cell: int, metric: str, counts: dict[tuple[int, str], int], k: int) -> bool:
    """Return whether no cell within k rings has a higher count (or equal and lower id)."""
    mine = counts[(cell, metric)]
    for other in disk(cell, k):
        theirs = counts.get((other, metric))
        if theirs is not None and (theirs > mine or (theirs == mine and other < cell)):
            return False
    return True


def evaluate(rule: Rule, stats: pa.Table, at: datetime) -> list[Observation]:
    """Return the ring count at each cluster centre, and 0 at the other reporting cells."""
    if stats.num_rows == 0:
        return []
    cells = [int(k) for k in stats.column("key").to_pylist()]
    counts = ring_counts(cells, stats.column("metric").to_pylist(),
                         stats.column("n").to_pylist(), rule.ring_k)
    # Below the lowest level a count alerts nothing, centre or not: skip the test.
    least = min(level.threshold for level in rule.levels) if rule.levels else 0
    return [Observation(rule.id, f"{cell}|{metric}", at,
                        float(n) if n < least or is_centre(cell, metric, counts, rule.ring_k)
                        else 0.0, cell=cell)
            for (cell, metric), n in sorted(counts.items())]
