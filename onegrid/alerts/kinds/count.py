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
import itertools
from collections.abc import Collection
from datetime import datetime

import numpy as np
import pandas as pd
import pyarrow as pa
from h3.api import basic_int as h3i

from onegrid.alerts.model import Observation, Rule


@functools.lru_cache(maxsize=262_144)
def disk(cell: int, k: int) -> tuple[int, ...]:
    """Return the cell and its neighbours within k rings (cached: the same cells
    report window after window)."""
    return tuple(h3i.grid_disk(cell, k))


# A res-10 H3 cell leaves its res-11..15 digits at 7: its 15 low bits are all set.
_UNUSED_DIGITS = np.uint64(0x7FFF)


def _pack(cells: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Return one uint64 per (res-10 cell, category code < 32768) pair, for a flat index."""
    return (cells & ~_UNUSED_DIGITS) | codes.astype(np.uint64)


def _ring_sums(cells: np.ndarray, codes: np.ndarray, n: np.ndarray,
               k: int) -> tuple[np.ndarray, np.ndarray]:
    """Return each row's reports within k rings, and whether it is its cluster's centre.

    A row is a cell with reports of one category (`codes`, unique pairs), `n`
    its count. Vectorised over (cell, neighbour) pairs: a busy hour has
    thousands of reporting cells per decision.
    """
    disks = [disk(c, k) for c in cells.tolist()]
    sizes = np.fromiter(map(len, disks), dtype=np.int64, count=len(disks))
    owner = np.repeat(np.arange(len(cells)), sizes)
    neighbours = np.fromiter(itertools.chain.from_iterable(disks), dtype=np.uint64,
                             count=int(sizes.sum()))
    rows = pd.Index(_pack(cells, codes))
    pos = rows.get_indexer(_pack(neighbours, codes[owner]))
    owner, pos = owner[pos >= 0], pos[pos >= 0]  # -1: a neighbour without such reports
    ring = np.bincount(owner, weights=n[pos], minlength=len(cells))
    # A centre is beaten by a neighbour with a higher count, or an equal one and a lower id.
    beaten = (ring[pos] > ring[owner]) | ((ring[pos] == ring[owner]) & (cells[pos] < cells[owner]))
    return ring, np.bincount(owner[beaten], minlength=len(cells)) == 0


def evaluate(rule: Rule, stats: pa.Table, at: datetime,
             live: Collection[str] = ()) -> list[Observation]:
    """Return the ring count at each cluster centre, and 0 at the other reporting cells.

    Keys without a live alert whose value cannot start one are left out: in a
    busy hour almost every reporting cell is such a key.
    """
    if stats.num_rows == 0:
        return []
    # Count rules read res-10 statistics, so each key is its own `cell`.
    cells, metrics, n = _per_cell_and_category(stats)
    codes, _ = pd.factorize(metrics)
    ring, centre = _ring_sums(cells, codes, n, rule.ring_k)
    # Below the lowest level a count alerts nothing, centre or not: skip the test.
    least = min(level.threshold for level in rule.levels) if rule.levels else 0
    value = np.where((ring < least) | centre, ring, 0.0)
    keep = value >= least
    live = set(live)
    if live:  # a key is "cell|metric": spell out every key only when some are live
        keys = [f"{cell}|{metric}" for cell, metric in zip(cells.tolist(), metrics, strict=True)]
        keep |= np.fromiter((k in live for k in keys), dtype=bool, count=len(keys))
    rows = np.flatnonzero(keep).tolist()
    cell_list = cells.tolist()
    return [Observation(rule.id, f"{cell_list[i]}|{metrics[i]}", at, float(value[i]),
                        cell=cell_list[i]) for i in rows]


def _per_cell_and_category(stats: pa.Table) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return (cell, metric, n) per distinct cell and category, ordered by cell then metric.

    The store's windows already give one row per pair; sorting with numpy keeps
    a decision from building a pandas frame and group-by for it (it was most of
    this kind's time), and repeated pairs, if a reader ever sends them, are summed.
    """
    cells = stats.column("cell").to_numpy().astype(np.uint64)
    metrics = stats.column("metric").to_numpy(zero_copy_only=False).astype(object)
    n = stats.column("n").to_numpy().astype(np.float64)
    codes, uniques = pd.factorize(metrics, sort=True)
    order = np.lexsort((codes, cells))
    cells, codes, n = cells[order], codes[order], n[order]
    repeated = (cells[1:] == cells[:-1]) & (codes[1:] == codes[:-1])
    if repeated.any():
        starts = np.flatnonzero(np.concatenate(([True], ~repeated)))
        n = np.add.reduceat(n, starts)
        cells, codes = cells[starts], codes[starts]
    return cells, uniques[codes], n
